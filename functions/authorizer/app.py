"""AuthorizerFunction: the HTTP API's REQUEST authorizer (Bearer JWT or ApiKey)."""

from typing import Any

from lamina.auth.authorizer import authorize
from lamina.logs import lambda_handler


@lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorize(event)
