"""ApiFunction: the API backend behind the HTTP API's `/api/*` routes."""

from mangum import Mangum
from snapshot_restore_py import register_before_snapshot

from lamina.api.app import create_app, prime_for_snapshot
from lamina.logs import lambda_handler

# Mangum would run the ASGI lifespan on every invocation: clients are lazy singletons instead.
handler = lambda_handler(Mangum(create_app(), lifespan="off"))
# Runs only when Lambda (or `lamina up`) initialises the function for a SnapStart snapshot.
register_before_snapshot(prime_for_snapshot)
