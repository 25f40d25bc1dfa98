"""`GET /api/auth/config`: what a browser needs to sign in with Cognito, before it holds any credential."""

from __future__ import annotations

from pydantic import Field

from lamina.api.routing import DeferredRouter
from lamina.api.schemas import Model
from lamina.settings import get_settings

router = DeferredRouter(tags=["auth"])


class AuthConfig(Model):
    region: str
    user_pool_id: str = Field(description="Empty when the stack has no Cognito pool: only API keys then.")
    client_id: str
    cognito_endpoint: str = Field(
        description="Where to POST InitiateAuth (X-Amz-Target: AWSCognitoIdentityProviderService.*). "
        "Locally a same-origin path that `lamina up` forwards to the AWS emulator."
    )


@router.get("/auth/config", response_model=AuthConfig)
def auth_config() -> AuthConfig:
    settings = get_settings()
    return AuthConfig(
        region=settings.aws_region,
        user_pool_id=settings.cognito_user_pool_id,
        client_id=settings.cognito_client_id,
        cognito_endpoint=settings.cognito_browser_endpoint,
    )
