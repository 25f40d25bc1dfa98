"""Routes declared on a `DeferredRouter` serve and document themselves exactly as FastAPI's own routes do,
without being built at import (the API function's cold start declares every route of every domain)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Query
from fastapi.routing import APIRoute
from pydantic import BaseModel

from lamina.api.app import create_app
from lamina.api.routing import DeferredAPIRoute, DeferredRouter


class Note(BaseModel):
    title: str
    body: str | None = None


class NoteOut(BaseModel):
    id: uuid.UUID
    title: str
    body: str | None = None


class Refusal(BaseModel):
    message: str


def declare_routes(router: APIRouter) -> None:
    @router.post("/notes", status_code=201, response_model=NoteOut, response_model_exclude_unset=True)
    def create_note(note: Note) -> dict[str, Any]:
        """Create a note.

        \f Everything after the form feed stays out of the documentation."""
        return {"id": uuid.UUID(int=1), "title": note.title}

    @router.get("/notes/{note_id}", responses={404: {"model": Refusal}})
    def get_note(note_id: uuid.UUID, verbose: bool = Query(default=False)) -> NoteOut:
        return NoteOut(id=note_id, title="verbose" if verbose else "terse")


def app_including(router: APIRouter) -> FastAPI:
    declare_routes(router)
    app = FastAPI()
    app.include_router(router, prefix="/api")
    return app


def call(app: Any, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    async def request() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, **kwargs)

    response = asyncio.run(request())
    return response.status_code, response.json()


REQUESTS = [
    ("POST", "/api/notes", {"json": {"title": "a"}}),
    ("POST", "/api/notes", {"json": {"body": "no title"}}),
    ("GET", f"/api/notes/{uuid.UUID(int=7)}", {"params": {"verbose": "true"}}),
    ("GET", "/api/notes/not-a-uuid", {}),
    ("DELETE", "/api/notes", {}),
]


@pytest.mark.parametrize(("method", "path", "options"), REQUESTS)
def test_a_deferred_route_answers_as_a_fastapi_route_does(method: str, path: str, options: Any) -> None:
    # GIVEN the same routes declared on FastAPI's router and on a deferred one, each included in an app
    fastapi_app = app_including(APIRouter(tags=["notes"]))
    deferred_router = DeferredRouter(tags=["notes"])
    deferred_app = app_including(deferred_router)
    # WHEN both are asked the same thing THEN they answer the same (validation errors and 405 included)
    assert call(deferred_app, method, path, **options) == call(fastapi_app, method, path, **options)
    # AND the declared routes were never built: the app served its per-inclusion copies
    assert all(isinstance(route, DeferredAPIRoute) for route in deferred_router.routes)
    assert not any("dependant" in vars(route) for route in deferred_router.routes)


def test_a_deferred_route_documents_itself_as_a_fastapi_route_does() -> None:
    fastapi_app = app_including(APIRouter(tags=["notes"]))
    deferred_app = app_including(DeferredRouter(tags=["notes"]))
    assert deferred_app.openapi() == fastapi_app.openapi()


def test_a_deferred_route_builds_itself_when_what_the_build_makes_is_read() -> None:
    # GIVEN the same routes declared on FastAPI's router and on a deferred one, used directly (not included)
    fastapi_router, deferred_router = APIRouter(), DeferredRouter()
    declare_routes(fastapi_router)
    declare_routes(deferred_router)
    for built, deferred in zip(fastapi_router.routes, deferred_router.routes, strict=True):
        assert isinstance(built, APIRoute) and isinstance(deferred, DeferredAPIRoute)
        # WHEN something reads what the build makes THEN the route builds itself, the same as FastAPI's
        assert [param.name for param in deferred.dependant.query_params] == [
            param.name for param in built.dependant.query_params
        ]
        for attribute in ("name", "methods", "unique_id", "description", "status_code", "response_model"):
            assert getattr(deferred, attribute) == getattr(built, attribute), attribute
        assert (deferred.body_field is None) == (built.body_field is None)


def test_the_api_declares_its_routes_without_building_them() -> None:
    # GIVEN the API application, its OpenAPI generated and a request routed through every router
    app = create_app()
    assert app.openapi()["paths"]
    assert call(app, "GET", "/api/no-such-route")[0] == 404
    # THEN no declared route was built: only the app's per-inclusion copies were
    declared = [route for router in included_routers(app) for route in router.routes]
    assert len(declared) > 100
    assert all(isinstance(route, DeferredAPIRoute) for route in declared)
    assert not any("dependant" in vars(route) for route in declared)


def included_routers(app: FastAPI) -> list[APIRouter]:
    return [route.original_router for route in app.router.routes if hasattr(route, "original_router")]
