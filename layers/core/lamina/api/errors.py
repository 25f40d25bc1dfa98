"""The one place where errors become HTTP responses: a JSON body with a clear message, never a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from lamina.errors import LaminaError

logger = logging.getLogger(__name__)


def error_body(status: int, code: str, message: str, details: object = None) -> dict[str, object]:
    body: dict[str, object] = {"status": status, "code": code, "message": message}
    if details is not None:
        body["details"] = details
    return body


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LaminaError)
    async def _lamina_error(_: Request, error: LaminaError) -> JSONResponse:
        return JSONResponse(
            error_body(error.status_code, error.code, error.message, error.details),
            status_code=error.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(item.get("loc", ())), "msg": item.get("msg"), "type": item.get("type")}
            for item in error.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        message = f"{where}: {first['msg']}" if where else str(first["msg"])
        return JSONResponse(error_body(422, "validation_failed", message, details), status_code=422)

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(error.status_code, "http_error", str(error.detail)),
            status_code=error.status_code,
            headers=getattr(error, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected_error(_: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return JSONResponse(error_body(500, "internal_error", "internal error"), status_code=500)
