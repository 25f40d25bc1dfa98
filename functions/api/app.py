"""ApiFunction: the API backend behind the HTTP API's `/api/*` routes."""

from mangum import Mangum

from lamina.api.app import create_app

# Mangum would run the ASGI lifespan on every invocation: clients are lazy singletons instead.
handler = Mangum(create_app(), lifespan="off")
