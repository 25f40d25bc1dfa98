"""The one place where errors become HTTP responses: a JSON body with a clear message, never a bare 500.

Bad input is the caller's error whatever shape it takes (a 4xx that says what is wrong): unusable JSON bodies
are refused by `lamina.api.body.BodyGuard`, a body that is not JSON at all is a 415; only a fault of ours is
a 5xx.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from lamina.errors import LaminaError

logger = logging.getLogger(__name__)

JSON_MEDIA_TYPE = "application/json"


class ErrorBody(BaseModel):
    """Every error answer: the status again, a machine-readable code, a message for a person."""

    status: int
    code: str
    message: str
    details: Any = None


ERROR_RESPONSE = {
    "description": "The request was refused; `message` says why.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}
# FastAPI's own 422 shape, which our handlers never answer with.
FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def error_body(status: int, code: str, message: str, details: object = None) -> dict[str, object]:
    body: dict[str, object] = {"status": status, "code": code, "message": message}
    if details is not None:
        body["details"] = details
    return body


def _error(status: int, code: str, message: str, details: object = None, **kwargs: Any) -> JSONResponse:
    return JSONResponse(error_body(status, code, message, details), status_code=status, **kwargs)


def document_error_body(app: FastAPI) -> None:
    """Document our error body as every operation's 4XX answer, in place of FastAPI's 422 shape.

    Done once, when the OpenAPI document is first built: declared per route (`responses=`), FastAPI would build
    a validator for it on every route at import, a cost paid on every cold start.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for name in FASTAPI_VALIDATION_SCHEMAS:
            schemas.pop(name, None)
        schemas["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        for path_item in document.get("paths", {}).values():
            for operation in path_item.values():
                operation["responses"].pop("422", None)
                operation["responses"]["4XX"] = ERROR_RESPONSE
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    document_error_body(app)

    @app.exception_handler(LaminaError)
    async def _lamina_error(_: Request, error: LaminaError) -> JSONResponse:
        return _error(error.status_code, error.code, error.message, error.details)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        if isinstance(error.body, bytes):
            # FastAPI hands a body it did not parse as JSON (another Content-Type) to the model as raw bytes.
            return _error(
                415,
                "unsupported_media_type",
                f"the request body must be JSON (Content-Type: {JSON_MEDIA_TYPE}), "
                f"not {request.headers.get('content-type') or 'untyped'}",
            )
        details = [
            {"loc": list(item.get("loc", ())), "msg": item.get("msg"), "type": item.get("type")}
            for item in error.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        return _error(422, "validation_failed", message, details)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, error: HTTPException) -> JSONResponse:
        headers = getattr(error, "headers", None)
        return _error(error.status_code, "http_error", str(error.detail), headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected_error(_: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return _error(500, "internal_error", "internal error")

    app.add_middleware(DependencyFailureGuard)


def dependency_failure_response(error: BaseException) -> JSONResponse | None:
    """503/504 with Retry-After when `error` is a dependency's outage or timeout (see `lamina.db.failures`)."""
    from lamina.db.failures import classify_dependency_failure

    failure = classify_dependency_failure(error)
    if failure is None:
        return None
    # An outage, not a bug: logged once per outage (then a summary), not a traceback per request.
    from lamina.outages import report_failure

    report_failure(failure.dependency, error)
    return _error(
        failure.status, failure.code, failure.message, headers={"Retry-After": str(failure.retry_after_s)}
    )


class DependencyFailureGuard:
    """Answers a dependency's outage with 503/504 inside the app.

    Starlette's handler for `Exception` answers too, but then re-raises for the server to log, which printed
    a traceback per request for as long as Postgres or Redis was away.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            response = None if started else dependency_failure_response(error)
            if response is None:
                raise
            await response(scope, receive, send)
