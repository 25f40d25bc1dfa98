#!/usr/bin/env bash
# Regenerate the typed API client's schema from the FastAPI apps, without a server:
# src/api/openapi.json (the API and the Services API merged, lamina_local/web_schema.py) -> src/api/schema.d.ts.
set -euo pipefail
web="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$web/.." && pwd)"
(cd "$root" && "${PYTHON:-$root/.venv/bin/python}" -m lamina_local.web_schema "$web/src/api/openapi.json")
"$web/node_modules/.bin/openapi-typescript" "$web/src/api/openapi.json" -o "$web/src/api/schema.d.ts" >/dev/null
echo "gen-api: wrote src/api/openapi.json and src/api/schema.d.ts"
