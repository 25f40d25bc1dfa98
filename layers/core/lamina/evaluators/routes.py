"""`/api/evaluators/...` (catalog, artifacts, variants, revisions), `/api/simple/evaluators/...`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from lamina.api.deps import ProjectEditor, ProjectViewer, SessionDep
from lamina.api.routing import DeferredRouter
from lamina.artifacts.envelopes import ONLY_SET_FIELDS, many, one
from lamina.artifacts.routes import ArtifactRoutes
from lamina.artifacts.schemas import query_arguments
from lamina.errors import NotFoundError, ValidationFailedError
from lamina.evaluators import responses, schemas

if TYPE_CHECKING:
    from lamina.artifacts import service as artifacts
    from lamina.evaluators import catalog, runtime, service, simple
else:
    from lamina.lazy import lazy_module

    artifacts = lazy_module("lamina.artifacts.service")
    catalog = lazy_module("lamina.evaluators.catalog")
    runtime = lazy_module("lamina.evaluators.runtime")
    service = lazy_module("lamina.evaluators.service")
    simple = lazy_module("lamina.evaluators.simple")

router = DeferredRouter(tags=["evaluators"])
EVALUATOR_ROUTES = ArtifactRoutes(
    router, "/evaluators", "evaluator", responses.EvaluatorResponse, kind=lambda: service.EVALUATORS
)


def _query(session: Any, principal: Any, body: schemas.EvaluatorQuery) -> Any:
    return artifacts.query_artifacts(
        session,
        service.EVALUATORS,
        principal,
        **query_arguments(
            body.evaluator,
            body.evaluator_refs,
            include_archived=body.include_archived,
            windowing=body.windowing,
        ),
    )


# ---------------------------------------------------------------- catalog


@router.get("/evaluators/catalog/templates/", response_model=responses.CatalogResponse)
@router.get("/evaluators/catalog/types/", response_model=responses.CatalogResponse)
@router.get("/simple/evaluators/templates", response_model=responses.CatalogResponse)
def evaluator_catalog(principal: ProjectViewer) -> dict[str, Any]:
    """Every built-in kind with the JSON schema of its settings (`data.schemas.parameters`)."""
    templates = catalog.catalog_view()
    return {"count": len(templates), "templates": templates}


@router.get("/evaluators/catalog/templates/{template_key}", response_model=responses.CatalogKindResponse)
def evaluator_catalog_kind(template_key: str, principal: ProjectViewer) -> dict[str, Any]:
    try:
        key = catalog.kind_of(template_key).key
    except ValidationFailedError as error:
        raise NotFoundError(error.message) from error
    return {"count": 1, "template": next(t for t in catalog.catalog_view() if t["key"] == key)}


@router.post("/evaluators/catalog/evaluate", response_model=responses.EvaluatorTrialResponse)
async def evaluator_trial(body: schemas.EvaluatorTrial, principal: ProjectEditor) -> dict[str, Any]:
    """Run a kind on one case (nothing is saved): `{outputs, error}`, as an evaluation would record it."""
    outcome = await run_in_threadpool(
        runtime.evaluate,
        body.kind,
        body.settings,
        inputs=body.inputs,
        outputs=body.outputs,
        testcase=body.testcase,
        project_id=principal.project_id,
    )
    return {"outputs": outcome.outputs, "error": outcome.error, "duration_ms": outcome.duration_ms}


# ---------------------------------------------------------------- evaluators, variants, revisions


@router.post("/evaluators/", response_model=responses.EvaluatorResponse, **ONLY_SET_FIELDS)
def create_evaluator(
    body: schemas.EvaluatorCreate, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    evaluator = artifacts.create_artifact(
        session, service.EVALUATORS, principal, **body.evaluator.model_dump()
    )
    return one("evaluator", service.evaluator_view(evaluator))


@router.post("/evaluators/query", response_model=responses.EvaluatorsResponse, **ONLY_SET_FIELDS)
def query_evaluators(
    body: schemas.EvaluatorQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    window = _query(session, principal, body)
    return many("evaluators", [service.evaluator_view(e) for e in window.items], window.next)


@router.post("/evaluators/variants/", response_model=responses.VariantResponse, **ONLY_SET_FIELDS)
def create_variant(
    body: schemas.VariantCreate, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    fields = body.evaluator_variant.model_dump(exclude={"evaluator_id", "tags"})
    variant = artifacts.create_variant(
        session, service.EVALUATORS, principal, body.evaluator_variant.evaluator_id, **fields
    )
    return one("evaluator_variant", service.variant_view(variant))


EVALUATOR_ROUTES.declare_variant_route(responses.VariantResponse)


@router.post("/evaluators/revisions/commit", response_model=responses.RevisionResponse, **ONLY_SET_FIELDS)
def commit_revision(
    body: schemas.RevisionCommit, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    revision = simple.commit(session, principal, body.evaluator_revision)
    return one("evaluator_revision", simple.revision_with_slugs(session, revision))


@router.post("/evaluators/revisions/retrieve", response_model=responses.RevisionResponse, **ONLY_SET_FIELDS)
def retrieve_revision(
    body: schemas.RevisionRetrieve, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    revision = simple.retrieve(session, principal, body)
    if revision is None:
        return {"count": 0}
    return one("evaluator_revision", simple.revision_with_slugs(session, revision))


@router.post("/evaluators/revisions/log", response_model=responses.RevisionsResponse, **ONLY_SET_FIELDS)
def log_revisions(body: schemas.RevisionLog, session: SessionDep, principal: ProjectViewer) -> dict[str, Any]:
    return many(
        "evaluator_revisions", [service.revision_view(r) for r in simple.log(session, principal, body)]
    )


EVALUATOR_ROUTES.declare_revision_route(
    responses.RevisionResponse,
    view=lambda session, revision: simple.revision_with_slugs(session, revision),
)
EVALUATOR_ROUTES.declare_artifact_routes()


# ---------------------------------------------------------------- simple evaluators


@router.post("/simple/evaluators/", response_model=responses.SimpleEvaluatorResponse, **ONLY_SET_FIELDS)
def simple_create(
    body: schemas.SimpleEvaluatorCreate, session: SessionDep, principal: ProjectEditor
) -> dict[str, Any]:
    evaluator = simple.create(session, principal, body.evaluator)
    return one("evaluator", simple.view(session, evaluator))


@router.post("/simple/evaluators/query", response_model=responses.SimpleEvaluatorsResponse, **ONLY_SET_FIELDS)
def simple_query(
    body: schemas.EvaluatorQuery, session: SessionDep, principal: ProjectViewer
) -> dict[str, Any]:
    window = _query(session, principal, body)
    return many("evaluators", simple.views(session, window.items), window.next)


EVALUATOR_ROUTES.simple_api(
    responses.SimpleEvaluatorResponse, lambda session, evaluator: simple.view(session, evaluator)
).declare_artifact_routes(
    edit=lambda session, principal, evaluator_id, edits: simple.edit(session, principal, evaluator_id, edits),
    edit_request=schemas.SimpleEvaluatorEdit,
)
