"""The local user `lamina up` seeds: a Cognito user in the emulator pool, its tenancy, and an API key.

`seed_local()` is idempotent (the same user, project and key on every run); `issue_token()` signs the user in
with USER_PASSWORD_AUTH and returns a fresh access token (`lamina token`), so curl and SDKs work at once.
Both use the library as configured (`lamina.state`): `lamina up` and `lamina token` configure it with the
stack's settings first (COGNITO_*, DATABASE_URL, AWS_ENDPOINT_URL, ...; see `up.library_environment`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

DEFAULT_EMAIL = "dev@lamina.local"
# Only ever valid against the local emulator; it satisfies Cognito's default password policy.
DEFAULT_PASSWORD = "Lamina-local-2026!"
LOCAL_POOL_NAME = "lamina-local-users"
LOCAL_CLIENT_NAME = "lamina-local-client"


@dataclass(frozen=True)
class LocalSeed:
    email: str
    password: str
    user_id: str
    project_id: str
    api_key: str
    user_pool_id: str
    client_id: str

    def lines(self) -> list[str]:
        """What `lamina up` prints."""
        return [
            f"user:     {self.email} / {self.password}",
            f"project:  {self.project_id}",
            f"API key:  {self.api_key}",
            '          curl -H "Authorization: ApiKey $KEY" http://127.0.0.1:<port>/api/projects/current',
            "token:    lamina token  (a Cognito access token for this user: Authorization: Bearer <token>)",
        ]


def _cognito() -> Any:
    from lamina import aws

    return aws.client("cognito-idp")


def ensure_cognito_pool(pool_name: str = LOCAL_POOL_NAME) -> tuple[str, str]:
    """The emulator's user pool and app client (created once, found by name afterwards)."""
    cognito = _cognito()
    pool_id = next(
        (
            pool["Id"]
            for pool in cognito.list_user_pools(MaxResults=60)["UserPools"]
            if pool["Name"] == pool_name
        ),
        None,
    )
    if pool_id is None:
        pool_id = cognito.create_user_pool(
            PoolName=pool_name, UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
        )["UserPool"]["Id"]
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    client_id = next((c["ClientId"] for c in clients if c["ClientName"] == LOCAL_CLIENT_NAME), None)
    if client_id is None:
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id,
            ClientName=LOCAL_CLIENT_NAME,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
    return str(pool_id), str(client_id)


def ensure_cognito_user(pool_id: str, email: str, password: str) -> str:
    """Create (or find) the user with a permanent password; returns its `sub`."""
    cognito = _cognito()
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    attributes = cognito.admin_get_user(UserPoolId=pool_id, Username=email)["UserAttributes"]
    return str(next(a["Value"] for a in attributes if a["Name"] == "sub"))


def seed_local(
    email: str = DEFAULT_EMAIL,
    password: str = DEFAULT_PASSWORD,
    *,
    user_pool_id: str | None = None,
    client_id: str | None = None,
) -> LocalSeed:
    """Idempotently create the local user (Cognito + org/workspace/project) and its API key."""
    from lamina.db.unit_of_work import unit_of_work
    from lamina.settings import get_settings
    from lamina.tenancy.service import seed_local_user

    settings = get_settings()
    user_pool_id = user_pool_id or settings.cognito_user_pool_id
    client_id = client_id or settings.cognito_client_id
    if not user_pool_id or not client_id:
        user_pool_id, client_id = ensure_cognito_pool()
    sub = ensure_cognito_user(user_pool_id, email, password)
    with unit_of_work() as session:
        user, project, api_key = seed_local_user(session, email, cognito_sub=sub)
        user_id, project_id = str(user.id), str(project.id)
    return LocalSeed(
        email=email,
        password=password,
        user_id=user_id,
        project_id=project_id,
        api_key=api_key,
        user_pool_id=user_pool_id,
        client_id=client_id,
    )


def issue_token(
    email: str = DEFAULT_EMAIL, password: str = DEFAULT_PASSWORD, *, client_id: str | None = None
) -> str:
    """A fresh Cognito access token for the local user (USER_PASSWORD_AUTH against the emulator)."""
    from lamina.settings import get_settings

    client_id = client_id or get_settings().cognito_client_id
    if not client_id:
        _, client_id = ensure_cognito_pool()
    result = _cognito().initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    return str(result["AuthenticationResult"]["AccessToken"])
