"""Credentials end to end: Cognito JWTs from a real (moto) pool, crafted bad tokens, API keys, service tokens,
and the HTTP API authorizer."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import moto
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.integration.api_client import (
    ApiClient,
    Tenant,
    api_env,
    cognito_pool,
    make_tenant,
    own_events_queue,
)

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]

MOTO_SIGNING_JWK = Path(moto.__file__).parent / "cognitoidp" / "resources" / "jwks-private.json.gz"
MOTO_KID = "dummy"


def moto_signing_key() -> Any:
    """The private key moto signs every pool's tokens with: lets a test craft tokens moto would accept."""
    return jwt.PyJWK(json.loads(gzip.open(MOTO_SIGNING_JWK).read()), algorithm="RS256").key


def access_claims(api_env: dict[str, str], **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": f"https://cognito-idp.us-east-1.amazonaws.com/{api_env['COGNITO_USER_POOL_ID']}",
        "sub": str(uuid.uuid4()),
        "client_id": api_env["COGNITO_CLIENT_ID"],
        "token_use": "access",
        "username": f"crafted-{uuid.uuid4().hex[:6]}@example.com",
        "iat": now,
        "auth_time": now,
        "exp": now + 600,
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


EXPECTED_REASONS = {
    "forged": "Signature verification failed",
    "expired": "token expired",
    "wrong_client": "issued to another client",
    "wrong_issuer": "Invalid issuer",
    "alg_none": "algorithm 'none' is not accepted",
    "hs256_with_public_key": "algorithm 'HS256' is not accepted",
    "id_token_wrong_aud": "issued to another client",
}


def bearer(token: str) -> ApiClient:
    return ApiClient(f"Bearer {token}")


def test_cognito_tokens_sign_in_and_bootstrap_a_project(api_env: dict[str, str]) -> None:
    from lamina_local.seed import DEFAULT_PASSWORD, ensure_cognito_user, issue_token

    # GIVEN a user that exists only in Cognito
    email = f"first-{uuid.uuid4().hex[:6]}@example.com"
    ensure_cognito_user(api_env["COGNITO_USER_POOL_ID"], email, DEFAULT_PASSWORD)
    token = issue_token(email, DEFAULT_PASSWORD, client_id=api_env["COGNITO_CLIENT_ID"])
    # WHEN they call the API with their access token for the first time
    first = bearer(token).get("/api/projects/current").ok()
    # THEN an organization, workspace and project were bootstrapped, with them as owner
    assert first["project"]["role"] == "owner"
    # AND the next call lands in the same project (no second bootstrap)
    assert bearer(token).get("/api/projects/current").ok()["project"]["id"] == first["project"]["id"]
    organizations = bearer(token).get("/api/organizations").ok()
    assert organizations["count"] == 1
    # AND a crafted-but-valid token (moto's signing key, right issuer and client) is accepted too
    crafted = jwt.encode(
        access_claims(api_env), moto_signing_key(), algorithm="RS256", headers={"kid": MOTO_KID}
    )
    assert bearer(crafted).get("/api/projects/current").status == 200


@pytest.mark.parametrize("case", list(EXPECTED_REASONS))
def test_bad_tokens_are_401(api_env: dict[str, str], case: str) -> None:
    # GIVEN a token that is wrong in exactly one way
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signing = moto_signing_key()
    headers = {"kid": MOTO_KID}
    if case == "forged":
        token = jwt.encode(access_claims(api_env), other_key, algorithm="RS256", headers=headers)
    elif case == "expired":
        past = int(time.time()) - 3600
        token = jwt.encode(
            access_claims(api_env, iat=past - 600, exp=past), signing, algorithm="RS256", headers=headers
        )
    elif case == "wrong_client":
        token = jwt.encode(
            access_claims(api_env, client_id="another-client"), signing, "RS256", headers=headers
        )
    elif case == "wrong_issuer":
        claims = access_claims(api_env, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_attacker")
        token = jwt.encode(claims, signing, algorithm="RS256", headers=headers)
    elif case == "alg_none":
        token = jwt.encode(access_claims(api_env), None, algorithm="none", headers=headers)
    elif case == "hs256_with_public_key":
        public_pem = signing.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        import hashlib
        import hmac
        from base64 import urlsafe_b64encode

        def b64(data: bytes) -> str:
            return urlsafe_b64encode(data).rstrip(b"=").decode()

        signing_input = (
            b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": MOTO_KID}).encode())
            + "."
            + b64(json.dumps(access_claims(api_env)).encode())
        )
        signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{b64(signature)}"
    else:  # an ID token whose audience is another app client
        claims = access_claims(
            api_env, token_use="id", client_id=None, aud="another-client", email="x@example.com"
        )
        token = jwt.encode(claims, signing, algorithm="RS256", headers=headers)
    # WHEN it is presented
    response = bearer(token).get("/api/projects/current")
    # THEN it is refused with 401 and a JSON reason
    assert response.status == 401, response.body
    assert response.body["code"] == "unauthenticated"
    assert EXPECTED_REASONS[case] in response.body["message"]


def test_api_keys_shown_once_listed_by_prefix_revoked_at_once(make_tenant: Callable[..., Tenant]) -> None:
    owner = make_tenant()
    # GIVEN a key created through the API
    created = owner.client.post("/api/keys/", {"name": "ci", "role": "editor"}).ok()["api_key"]
    plaintext = created["key"]
    prefix, secret = plaintext.split(".", 1)
    assert created["prefix"] == prefix
    key_client = ApiClient(f"ApiKey {plaintext}")
    assert key_client.get("/api/projects/current").ok()["project"]["role"] == "editor"
    # THEN listing shows prefixes only: the secret never appears again; the key's use is recorded
    listed = owner.client.get("/api/keys/").ok()
    assert prefix in {k["prefix"] for k in listed["api_keys"]}
    assert next(k for k in listed["api_keys"] if k["prefix"] == prefix)["last_used_at"] is not None
    assert secret not in json.dumps(listed) and all("key" not in k for k in listed["api_keys"])
    # WHEN it is revoked, the very next request with it is 401 (its cached lookup is gone)
    owner.client.delete(f"/api/keys/{created['id']}").ok()
    response = key_client.get("/api/projects/current")
    assert response.status == 401 and "revoked" in response.body["message"]
    # AND a wrong secret with a real prefix is 401
    assert ApiClient(f"ApiKey {prefix}.{'x' * 43}").get("/api/projects/current").status == 401


def test_expired_api_key_is_401(make_tenant: Callable[..., Tenant]) -> None:
    owner = make_tenant()
    soon = (datetime.now(UTC) + timedelta(seconds=1.5)).isoformat()
    created = owner.client.post("/api/keys/", {"expires_at": soon}).ok()["api_key"]
    key_client = ApiClient(f"ApiKey {created['key']}")
    assert key_client.get("/api/projects/current").status == 200
    time.sleep(2)
    response = key_client.get("/api/projects/current")
    assert response.status == 401 and "expired" in response.body["message"]


def test_service_tokens_are_project_scoped_and_short_lived(make_tenant: Callable[..., Tenant]) -> None:
    from lamina.auth.service_tokens import issue_service_token
    from lamina.settings import get_settings

    tenant = make_tenant()
    project_id = uuid.UUID(tenant.project_id)
    token = issue_service_token(project_id=project_id, subject="runner", role="viewer")
    client = bearer(token)
    assert client.get("/api/projects/current").ok()["project"]["id"] == tenant.project_id
    # A viewer-role token cannot write
    assert client.post("/api/applications/", {"application": {"slug": "nope"}}).status == 403
    # Another project is refused even when asked for
    assert client.get("/api/projects/current", query={"project_id": str(uuid.uuid4())}).status == 403
    # Wrong audience, wrong key and expired tokens are 401
    now = int(time.time())
    base = {"iss": "lamina", "sub": "runner", "project_id": str(project_id), "role": "editor", "iat": now}
    secret = get_settings().secret_key
    wrong_aud = jwt.encode({**base, "aud": "someone-else", "exp": now + 60}, secret, algorithm="HS256")
    wrong_key = jwt.encode({**base, "aud": "lamina-internal", "exp": now + 60}, "x" * 40, algorithm="HS256")
    expired = jwt.encode(
        {**base, "aud": "lamina-internal", "iat": now - 900, "exp": now - 600}, secret, "HS256"
    )
    for bad in (wrong_aud, wrong_key, expired):
        assert bearer(bad).get("/api/projects/current").status == 401


def test_authorizer_handler_accepts_both_schemes_and_refuses_garbage(
    make_tenant: Callable[..., Tenant], api_env: dict[str, str]
) -> None:
    from tests.integration.test_api_health import load_handler_module
    from tests.support import LambdaContext

    authorizer = load_handler_module("authorizer")
    tenant = make_tenant()

    def event(authorization: str) -> dict[str, Any]:
        return {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": "arn:aws:execute-api:us-east-1:123456789012:api/$default/GET/api/projects/current",
            "identitySource": [authorization],
            "routeKey": "ANY /api/{proxy+}",
            "rawPath": "/api/projects/current",
            "headers": {"authorization": authorization},
            "requestContext": {"http": {"method": "GET", "path": "/api/projects/current"}},
        }

    allowed = authorizer.handler(event(tenant.key_auth), LambdaContext())
    assert allowed == {
        "isAuthorized": True,
        "context": {
            "kind": "api_key",
            "api_key_id": allowed["context"]["api_key_id"],
            "project_id": tenant.project_id,
            "role": "owner",
        },
    }
    crafted = jwt.encode(
        access_claims(api_env), moto_signing_key(), algorithm="RS256", headers={"kid": MOTO_KID}
    )
    assert authorizer.handler(event(f"Bearer {crafted}"), LambdaContext())["isAuthorized"] is True
    for garbage in ("Bearer not.a.jwt", "ApiKey lk_nothing.here", "Basic dXNlcjpwYXNz"):
        assert authorizer.handler(event(garbage), LambdaContext()) == {"isAuthorized": False, "context": {}}


def test_invited_member_signs_in_into_the_workspace_with_their_role(
    make_tenant: Callable[..., Tenant], api_env: dict[str, str]
) -> None:
    from lamina_local.seed import DEFAULT_PASSWORD, ensure_cognito_user, issue_token

    owner = make_tenant()
    workspace_id = owner.client.get("/api/projects/current").ok()["project"]["workspace_id"]
    members_path = f"/api/workspaces/{workspace_id}/members"
    # GIVEN an invitation by email, as a viewer
    email = f"invited-{uuid.uuid4().hex[:6]}@example.com"
    invited = owner.client.post(members_path, {"email": email, "role": "viewer"}).ok()["member"]
    assert invited["joined"] is False
    # WHEN the invited person signs in with Cognito for the first time
    ensure_cognito_user(api_env["COGNITO_USER_POOL_ID"], email, DEFAULT_PASSWORD)
    member = bearer(issue_token(email, DEFAULT_PASSWORD, client_id=api_env["COGNITO_CLIENT_ID"]))
    # THEN they land in the owner's project as a viewer (no organization of their own is bootstrapped)
    project = member.get("/api/projects/current").ok()["project"]
    assert (project["id"], project["role"]) == (owner.project_id, "viewer")
    assert member.get("/api/organizations").ok()["count"] == 1
    assert member.post("/api/applications/", {"application": {"slug": "nope"}}).status == 403
    # WHEN the owner makes them an editor, their next request may write
    owner.client.put(f"{members_path}/{invited['user_id']}", {"role": "editor"}).ok()
    assert member.post("/api/applications/", {"application": {"slug": "yes"}}).status == 200
    # AND an editor may not manage members, nor grant themselves more
    assert member.put(f"{members_path}/{invited['user_id']}", {"role": "owner"}).status == 403
    # AND the last owner cannot be demoted
    demote = owner.client.put(f"{members_path}/{owner.user_id}", {"role": "admin"})
    assert demote.status == 409 and "owner" in demote.body["message"]
    # WHEN removed, they are refused at once
    owner.client.delete(f"{members_path}/{invited['user_id']}").ok()
    assert member.get("/api/projects/current").status == 404
    assert {m["email"] for m in owner.client.get(members_path).ok()["members"]} == {owner.email}
