"""The web UI's typed client is generated from a committed OpenAPI document; it must match the routes."""

from __future__ import annotations

from lamina_local.web_schema import COMMITTED, combined_openapi, render


def test_the_committed_openapi_document_matches_the_routes() -> None:
    # GIVEN the API and the Services API as they are now
    # WHEN their combined document is rendered as gen-api renders it
    # THEN it is the committed one: after a route change run `npm --prefix web run gen:api` and commit
    assert COMMITTED.read_text() == render(combined_openapi()), "run `npm --prefix web run gen:api`"
