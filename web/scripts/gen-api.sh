#!/usr/bin/env bash
# Regenerate the typed API client's schema from the FastAPI apps, without a server:
# src/api/openapi.json (the API and the Services API merged) -> src/api/schema.d.ts.
set -euo pipefail
web="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$web/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
"$python" - "$web/src/api/openapi.json" <<'PY'
import json
import sys

from lamina.api.app import create_app as create_api
from lamina.services.app import create_app as create_services

api = create_api().openapi()
services = create_services().openapi()
# One document: the UI calls both from the same origin. Component names do not collide (checked).
clashes = {
    name
    for name in services.get("components", {}).get("schemas", {})
    if name in api.get("components", {}).get("schemas", {})
    and api["components"]["schemas"][name] != services["components"]["schemas"][name]
}
if clashes:
    sys.exit(f"gen-api: API and Services define different schemas under the same names: {sorted(clashes)}")
api["paths"].update(services["paths"])
api.setdefault("components", {}).setdefault("schemas", {}).update(services.get("components", {}).get("schemas", {}))
with open(sys.argv[1], "w") as out:
    json.dump(api, out, indent=1, sort_keys=False)
    out.write("\n")
PY
"$web/node_modules/.bin/openapi-typescript" "$web/src/api/openapi.json" -o "$web/src/api/schema.d.ts" >/dev/null
echo "gen-api: wrote src/api/openapi.json and src/api/schema.d.ts"
