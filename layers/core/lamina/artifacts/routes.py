"""The routes every artifact kind answers the same way, declared once: fetch, edit, archive and unarchive an
artifact by its id (`/testsets/{testset_id}`, `/simple/testsets/{testset_id}/archive`, ...), and fetch a
variant or a revision by its id.

A kind describes them with an `ArtifactRoutes` and calls its `declare_artifact_routes`,
`declare_variant_route` and `declare_revision_route` where their paths fall among its own; the rest of its routes (create, query,
fork, commit, log, retrieve) stay hand-written in its own routes.py, where they differ.

The handlers resolve the kind and its service functions per request, through the callables they are given:
the kind's service modules (SQLAlchemy and the rest) stay out of a cold start's init phase.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
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
# (session, principal, the id in the path[, the request body]) -> the response envelope
Handler = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class ArtifactRoutes:
    """Where a kind's by-id routes live and how they answer; its `declare_...` methods declare them.

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

    def simple_api(
        self,
        response_model: type[Any],
        view: Callable[[Session, Any], dict[str, Any]],
        *,
        archived_view: Callable[[Session, Any], dict[str, Any]] | None = None,
        router: APIRouter | None = None,
    ) -> ArtifactRoutes:
        """The same routes under `/simple/...` (an artifact with its latest revision flattened in), named
        `simple_<verb>`; on this router unless told otherwise."""
        return replace(
            self,
            router=router or self.router,
            path=f"/simple{self.path}",
            response_model=response_model,
            view=view,
            archived_view=archived_view,
            operation="simple_{verb}",
        )

    def operation_name(self, verb: str) -> str:
        return self.operation.format(verb=verb, name=self.name)

    def answer(self, session: Session, artifact: Any, *, archived: bool = False) -> dict[str, Any]:
        view = (self.archived_view if archived else None) or self.view
        if view is None:
            from lamina.artifacts.views import artifact_view

            return one(self.name, artifact_view(artifact))
        return one(self.name, view(session, artifact))

    def declare_artifact_routes(
        self, *, edit: EditArtifact | None = None, edit_request: type[Any] | None = None
    ) -> None:
        """GET and (with `edit` and its `edit_request` body) PUT `{path}/{<name>_id}`, then POST `.../archive`
        and `.../unarchive`, in that order (static paths of the kind are declared before this)."""
        id_name = f"{self.name}_id"
        by_id = f"{self.path}/{{{id_name}}}"

        def declare(method: str, path: str, verb: str, handler: Handler, principal: Any, **body: Any) -> None:
            _declare(
                self.router,
                method,
                path,
                handler,
                name=self.operation_name(verb),
                id_name=id_name,
                principal=principal,
                response_model=self.response_model,
                **body,
            )

        def get_artifact(session: Session, principal: Principal, artifact_id: uuid.UUID) -> dict[str, Any]:
            from lamina.artifacts import service

            return self.answer(session, service.get_artifact(session, self.kind(), principal, artifact_id))

        def setting_archived(archived: bool) -> Handler:
            def set_archived(
                session: Session, principal: Principal, artifact_id: uuid.UUID
            ) -> dict[str, Any]:
                from lamina.artifacts import service

                artifact = service.set_artifact_archived(
                    session, self.kind(), principal, artifact_id, archived=archived
                )
                return self.answer(session, artifact, archived=True)

            return set_archived

        declare("GET", by_id, "get", get_artifact, ProjectViewer)
        if edit is not None:
            if edit_request is None:
                raise TypeError("an edit route needs its request model")
            apply_edit = edit

            def edit_artifact(
                session: Session, principal: Principal, artifact_id: uuid.UUID, body: Any
            ) -> dict[str, Any]:
                fields = getattr(body, self.name)  # Agenta's `{"<name>": {...}}`
                return self.answer(session, apply_edit(session, principal, artifact_id, fields))

            declare("PUT", by_id, "edit", edit_artifact, ProjectEditor, body=edit_request)
        declare("POST", f"{by_id}/archive", "archive", setting_archived(True), ProjectEditor)
        declare("POST", f"{by_id}/unarchive", "unarchive", setting_archived(False), ProjectEditor)

    def declare_variant_route(self, response_model: type[Any]) -> None:
        """GET `{path}/variants/{variant_id}`: `{"<name>_variant": ...}`."""

        def get_variant(session: Session, principal: Principal, variant_id: uuid.UUID) -> dict[str, Any]:
            from lamina.artifacts import service, views

            kind = self.kind()
            variant = service.get_variant(session, kind, principal, variant_id)
            return one(kind.variant_name, views.variant_view(kind, variant))

        _declare(
            self.router,
            "GET",
            f"{self.path}/variants/{{variant_id}}",
            get_variant,
            name="get_variant",
            id_name="variant_id",
            principal=ProjectViewer,
            response_model=response_model,
        )

    def declare_revision_route(
        self,
        response_model: type[Any],
        view: Callable[[Session, Any], dict[str, Any]] | None = None,
    ) -> None:
        """GET `{path}/revisions/{revision_id}`: `{"<name>_revision": view(session, revision)}`, the core's
        revision view when `view` is None."""

        def get_revision(session: Session, principal: Principal, revision_id: uuid.UUID) -> dict[str, Any]:
            from lamina.artifacts import revisions, views

            kind = self.kind()
            revision = revisions.get_revision(session, kind, principal, revision_id)
            revision_view = view(session, revision) if view else views.revision_view(kind, revision)
            return one(kind.revision_name, revision_view)

        _declare(
            self.router,
            "GET",
            f"{self.path}/revisions/{{revision_id}}",
            get_revision,
            name="get_revision",
            id_name="revision_id",
            principal=ProjectViewer,
            response_model=response_model,
        )


def _declare(
    router: APIRouter,
    method: str,
    path: str,
    handler: Handler,
    *,
    name: str,
    id_name: str,
    principal: Any,
    response_model: type[Any],
    body: type[Any] | None = None,
) -> None:
    """Declare `handler(session, principal, <id>[, body])` as FastAPI would read a hand-written endpoint
    named `name`: the id under its own name, the request body, then the session and the principal."""

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
    endpoint.__name__ = endpoint.__qualname__ = name
    router.add_api_route(
        path, endpoint, methods=[method], response_model=response_model, name=name, **ONLY_SET_FIELDS
    )
