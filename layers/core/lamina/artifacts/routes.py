"""The routes every artifact kind answers the same way, declared once: fetch, edit, archive and unarchive an
artifact by its id (`/testsets/{testset_id}`, `/simple/testsets/{testset_id}/archive`, ...).

A kind describes them with an `ArtifactRoutes` and calls `declare_artifact_routes`; the rest of its routes
(create, query, variants, revisions) stay hand-written in its own routes.py, where they differ.

The handlers resolve the kind and its service functions per request, through the callables they are given:
the kind's service modules (SQLAlchemy and the rest) stay out of a cold start's init phase.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from lamina.api.deps import ProjectEditor, ProjectViewer, SessionDep
from lamina.artifacts.envelopes import ONLY_SET_FIELDS, one

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.artifacts.kind import ArtifactKind
    from lamina.tenancy.principal import Principal

# (session, principal, artifact id, the request's `<name>` fields) -> the edited artifact row
EditArtifact = Callable[["Session", "Principal", uuid.UUID, Any], Any]


@dataclass(frozen=True)
class ArtifactRoutes:
    """Where a kind's by-id routes live and how they answer.

    `name` ("testset") names the path parameter (`testset_id`), the envelope's key and, through `operation`,
    each route's name (and so its OpenAPI operation id and summary).
    """

    router: APIRouter
    path: str  # "/testsets", "/simple/testsets"
    name: str
    response_model: type[Any]
    kind: Callable[[], ArtifactKind[Any, Any, Any, Any]]
    # An artifact's JSON; the core's header view when None.
    view: Callable[[Session, Any], dict[str, Any]] | None = None
    # The JSON after (un)archiving, when it differs from `view` (a simple test set leaves its cases out).
    archived_view: Callable[[Session, Any], dict[str, Any]] | None = None
    # "{verb}_{name}": get_testset, edit_testset...; the simple routes are "simple_{verb}".
    operation: str = "{verb}_{name}"

    def operation_name(self, verb: str) -> str:
        return self.operation.format(verb=verb, name=self.name)

    def answer(self, session: Session, artifact: Any, *, archived: bool = False) -> dict[str, Any]:
        view = (self.archived_view if archived else None) or self.view
        if view is None:
            from lamina.artifacts.views import artifact_view

            return one(self.name, artifact_view(artifact))
        return one(self.name, view(session, artifact))


def declare_artifact_routes(
    routes: ArtifactRoutes, *, edit: EditArtifact | None = None, edit_request: type[Any] | None = None
) -> None:
    """GET and (with `edit` and its `edit_request` body) PUT `{path}/{<name>_id}`, then POST `.../archive`
    and `.../unarchive`, in that order (static paths of the kind are declared before this)."""
    id_name = f"{routes.name}_id"
    by_id = f"{routes.path}/{{{id_name}}}"

    def get_artifact(session: Session, principal: Principal, artifact_id: uuid.UUID) -> dict[str, Any]:
        from lamina.artifacts import service

        return routes.answer(session, service.get_artifact(session, routes.kind(), principal, artifact_id))

    _declare(routes, "GET", by_id, "get", get_artifact, id_name, ProjectViewer)

    if edit is not None:
        if edit_request is None:
            raise TypeError("an edit route needs its request model")

        def edit_artifact(
            session: Session, principal: Principal, artifact_id: uuid.UUID, body: Any
        ) -> dict[str, Any]:
            artifact = edit(session, principal, artifact_id, getattr(body, routes.name))
            return routes.answer(session, artifact)

        _declare(routes, "PUT", by_id, "edit", edit_artifact, id_name, ProjectEditor, body=edit_request)

    for verb, archived in (("archive", True), ("unarchive", False)):

        def set_archived(
            session: Session, principal: Principal, artifact_id: uuid.UUID, archived: bool = archived
        ) -> dict[str, Any]:
            from lamina.artifacts import service

            artifact = service.set_artifact_archived(
                session, routes.kind(), principal, artifact_id, archived=archived
            )
            return routes.answer(session, artifact, archived=True)

        _declare(routes, "POST", f"{by_id}/{verb}", verb, set_archived, id_name, ProjectEditor)


def _declare(
    routes: ArtifactRoutes,
    method: str,
    path: str,
    verb: str,
    handler: Callable[..., dict[str, Any]],
    id_name: str,
    principal: Any,
    *,
    body: type[Any] | None = None,
) -> None:
    """Declare `handler(session, principal, artifact_id[, body])` as FastAPI would read a hand-written one:
    the id under the kind's own name, the request body, then the session and the principal."""

    def endpoint(**arguments: Any) -> dict[str, Any]:
        extra = (arguments["body"],) if body is not None else ()
        return handler(arguments["session"], arguments["principal"], arguments[id_name], *extra)

    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [inspect.Parameter(id_name, keyword, annotation=uuid.UUID)]
    if body is not None:
        parameters.append(inspect.Parameter("body", keyword, annotation=body))
    parameters.append(inspect.Parameter("session", keyword, annotation=SessionDep))
    parameters.append(inspect.Parameter("principal", keyword, annotation=principal))
    endpoint.__signature__ = inspect.Signature(parameters, return_annotation=dict[str, Any])  # type: ignore[attr-defined]
    endpoint.__name__ = endpoint.__qualname__ = routes.operation_name(verb)
    routes.router.add_api_route(
        path,
        endpoint,
        methods=[method],
        response_model=routes.response_model,
        name=routes.operation_name(verb),
        **ONLY_SET_FIELDS,
    )
