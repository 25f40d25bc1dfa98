"""The secrets vault: KMS envelope encryption (moto), values never stored or returned in plaintext."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

import pytest
from cryptography.exceptions import InvalidTag

from lamina.errors import UnavailableError
from tests.integration.api_client import Tenant, api_env, cognito_pool, make_tenant, own_events_queue

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]


def test_secret_values_are_encrypted_at_rest_and_never_returned(make_tenant: Callable[..., Tenant]) -> None:
    from sqlalchemy import text

    from lamina.db.unit_of_work import unit_of_work
    from lamina.secrets.service import provider_keys, reveal_secret

    tenant = make_tenant()
    api = tenant.client
    value = f"sk-test-{uuid.uuid4().hex}"
    # WHEN a provider key is stored
    created = api.post(
        "/api/secrets/",
        {"secret": {"name": "openai", "kind": "provider_key", "provider": "openai", "value": value}},
    ).ok()["secret"]
    # THEN the API answers only with a mask (ending in the last 4 characters)
    assert created["value"].endswith(value[-4:]) and value not in json.dumps(created)
    listed = api.get("/api/secrets/").ok()
    got = api.get(f"/api/secrets/{created['id']}").ok()
    assert value not in json.dumps(listed) and value not in json.dumps(got)
    # AND the database row holds no plaintext, in any column
    with unit_of_work() as session:
        row = (
            session.execute(text("SELECT * FROM secrets WHERE id = :id"), {"id": created["id"]})
            .mappings()
            .one()
        )
    raw = b"".join(v if isinstance(v, bytes) else str(v).encode() for v in row.values())
    assert value.encode() not in raw and value[:-4].encode() not in raw
    # AND the server side can still decrypt it (for provider calls)
    project_id = uuid.UUID(tenant.project_id)
    with unit_of_work() as session:
        assert reveal_secret(session, project_id, "openai") == value
        assert provider_keys(session, project_id) == {"openai": value}

    # WHEN the value is rotated, the new one is stored, the old ciphertext is gone
    rotated = f"sk-test-{uuid.uuid4().hex}"
    api.put(f"/api/secrets/{created['id']}", {"secret": {"value": rotated}}).ok()
    with unit_of_work() as session:
        assert reveal_secret(session, project_id, "openai") == rotated
    # AND a ciphertext moved to another project does not decrypt (bound by encryption context + AAD)
    other = make_tenant()
    with unit_of_work() as session:
        session.execute(
            text("UPDATE secrets SET project_id = :p WHERE id = :id"),
            {"p": other.project_id, "id": created["id"]},
        )
    with unit_of_work() as session:
        # KMS refuses the encryption context (or, failing that, AES-GCM the associated data)
        with pytest.raises((UnavailableError, InvalidTag)):
            reveal_secret(session, uuid.UUID(other.project_id), "openai")
        session.execute(
            text("UPDATE secrets SET project_id = :p WHERE id = :id"),
            {"p": tenant.project_id, "id": created["id"]},
        )

    # WHEN it is deleted, it is gone; duplicates and short values behave
    assert api.post("/api/secrets/", {"secret": {"name": "openai", "value": "x" * 20}}).status == 409
    short = api.post("/api/secrets/", {"secret": {"name": "pin", "kind": "custom", "value": "1234"}}).ok()[
        "secret"
    ]
    assert "1234" not in short["value"]  # too short to hint at
    api.delete(f"/api/secrets/{created['id']}").ok()
    assert api.get(f"/api/secrets/{created['id']}").status == 404
