"""ServicesFunction: the Services API behind the HTTP API's `/services/*` routes."""

from mangum import Mangum

from lamina.services.app import create_app

handler = Mangum(create_app(), lifespan="off")
