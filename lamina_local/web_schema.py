"""The OpenAPI document the web UI's typed client is generated from: the API and the Services API in one.

`web/scripts/gen-api.sh` writes it to web/src/api/openapi.json (then openapi-typescript makes schema.d.ts);
tests/unit/test_web_schema.py fails when a route changed and the committed copy was not regenerated.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

COMMITTED = Path(__file__).resolve().parents[1] / "web" / "src" / "api" / "openapi.json"


def combined_openapi() -> dict[str, Any]:
    from lamina.api.app import create_app as create_api
    from lamina.services.app import create_app as create_services

    document = create_api().openapi()
    services = create_services().openapi()
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    # The UI calls both from one origin, so one document; a name meaning two different schemas would lie.
    clashes = sorted(
        name
        for name, schema in services.get("components", {}).get("schemas", {}).items()
        if name in schemas and schemas[name] != schema
    )
    if clashes:
        raise ValueError(f"the API and the Services API define different schemas named {clashes}")
    document["paths"].update(services["paths"])
    schemas.update(services.get("components", {}).get("schemas", {}))
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else COMMITTED
    target.write_text(render(combined_openapi()))
