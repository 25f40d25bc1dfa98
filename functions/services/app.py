"""ServicesFunction: the Services API behind the HTTP API's `/services/*` routes."""

from mangum import Mangum

from lamina.logs import lambda_handler
from lamina.services.app import create_app

handler = lambda_handler(Mangum(create_app(), lifespan="off"))
