"""Routers whose routes are declared at import and built when first used.

FastAPI builds a route (its dependency graph, request-body and response fields) when the route is declared,
and again, per inclusion, when an included router first routes a request: the app serves and documents the
per-inclusion copy only. Every Lamina route lives on an included router, so the build at declaration was
paid twice, and the first time during a Lambda cold start's init phase for all 170-odd routes. A
`DeferredAPIRoute` records its options instead and builds itself only if something reads what the build
makes (a route used outside an included router, or a caller inspecting `dependant`, `body_field`, ...).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import get_name

# The options an APIRoute is declared with, and their defaults: FastAPI reads them back from the declared
# route when it builds the route for an inclusion.
DECLARED_OPTIONS = {
    name: parameter.default
    for name, parameter in inspect.signature(APIRoute.__init__).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY
}


class DeferredAPIRoute(APIRoute):
    """An APIRoute that holds its options as declared until something needs it built."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        if options.get("form_limits") is not None:
            super().__init__(path, endpoint, **options)  # form parsing limits: validated by the full build
            return
        self._declaration: tuple[str, Callable[..., Any], dict[str, Any]] | None = (path, endpoint, options)
        declared = {**DECLARED_OPTIONS, **options}
        for name, value in declared.items():
            setattr(self, name, value)
        self.path = path
        self.endpoint = endpoint
        self.stream_item_type = None
        self.form_limits = {}
        # The same values a built route holds, for callers that read them off `scope["route"]`.
        self.name = get_name(endpoint) if declared["name"] is None else declared["name"]
        self.methods = {method.upper() for method in declared["methods"] or ["GET"]}
        self.tags = list(declared["tags"] or [])
        self.dependencies = list(declared["dependencies"] or [])
        self.responses = dict(declared["responses"] or {})

    def __getattr__(self, attribute: str) -> Any:
        # Only reached for an attribute the declaration does not set: build the route, then read it.
        declaration = self.__dict__.get("_declaration")
        if declaration is None or attribute.startswith("__"):
            raise AttributeError(attribute)
        self._declaration = None
        path, endpoint, options = declaration
        super().__init__(path, endpoint, **options)
        return getattr(self, attribute)


class DeferredRouter(APIRouter):
    """An APIRouter whose routes are `DeferredAPIRoute`s (the app includes every domain's router)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(route_class=DeferredAPIRoute, **options)
