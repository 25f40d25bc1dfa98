"""ServicesFunction: the Services API behind the HTTP API's `/services/*` routes."""

from mangum import Mangum
from snapshot_restore_py import register_before_snapshot

from lamina.logs import lambda_handler
from lamina.services.app import create_app, prime_for_snapshot

handler = lambda_handler(Mangum(create_app(), lifespan="off"))
# Runs only when Lambda (or `lamina up`) initialises the function for a SnapStart snapshot: litellm is
# imported there, into the snapshot, and never by a plain cold start's init.
register_before_snapshot(prime_for_snapshot)
