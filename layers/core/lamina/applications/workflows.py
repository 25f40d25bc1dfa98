"""`/api/workflows/revisions/retrieve`: Agenta's name for the registry's retrieve.

In Agenta an application is a workflow, and its SDK asks the workflow route when an application revision has
no parameters (`ConfigManager.get_from_registry` of a variant never committed to). Lamina's applications are
its only workflows so far: the route answers the application revision under the workflow names.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from lamina.api.deps import ProjectViewer, SessionDep
from lamina.api.routing import DeferredRouter
from lamina.applications import schemas
from lamina.applications.responses import RevisionOut

if TYPE_CHECKING:
    from lamina.applications import service as registry
else:
    from lamina.lazy import lazy_module

    registry = lazy_module("lamina.applications.service")

router = DeferredRouter(tags=["workflows"])


class WorkflowRevisionOut(RevisionOut):
    workflow_id: uuid.UUID
    workflow_variant_id: uuid.UUID


class WorkflowRevisionResponse(BaseModel):
    count: int
    workflow_revision: WorkflowRevisionOut | None = None


@router.post(
    "/workflows/revisions/retrieve",
    response_model=WorkflowRevisionResponse,
    response_model_exclude_unset=True,
)
def retrieve_workflow_revision(
    body: schemas.WorkflowRevisionRetrieve, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    revision = registry.retrieve(session, principal, body.as_application_retrieve()).get(
        "application_revision"
    )
    if revision is None:  # a variant with nothing committed yet
        return {"count": 0}
    workflow_revision = {
        **revision,
        "workflow_id": revision["application_id"],
        "workflow_variant_id": revision["application_variant_id"],
    }
    return {"count": 1, "workflow_revision": workflow_revision}
