"""Which provider a model goes to, and with which credentials, from the project's secrets vault.

Two kinds of secret feed a call:
- a provider key: `kind="provider_key"`, `provider="openai"` (or named after the provider), value the key;
- a custom provider: `kind="custom"`, named after the prefix models use (`my-llm/gpt-x`), its value a JSON
  object of connection settings for litellm: an OpenAI-compatible server
  `{"provider": "openai", "api_base": "http://...", "api_key": "..."}`, an Azure deployment
  `{"provider": "azure", "api_base": "https://<resource>.openai.azure.com", "api_key": "...",
  "api_version": "2024-06-01"}` (models name the deployment: `my-azure/<deployment>`), or Bedrock
  `{"provider": "bedrock", "aws_region_name": "us-east-1", "aws_access_key_id": "...",
  "aws_secret_access_key": "..."}` (`api_base` optional: a VPC endpoint or a proxy).

Only the secrets a call needs are decrypted (one KMS call each). The process environment is consulted (by
litellm itself) only in local mode; deployed, a model without a key in the vault is a 424 that says so.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from lamina.errors import DependencyFailedError

MOCK_PROVIDER = "mock"
CUSTOM_PROVIDER_KIND = "custom"
PROVIDER_KEY_KIND = "provider_key"
# Connection settings a custom provider secret may carry, passed to litellm as they are.
CUSTOM_PROVIDER_SETTINGS = (
    "api_base",
    "api_key",
    "api_version",
    "organization",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_region_name",
)
DEFAULT_CUSTOM_PROVIDER = "openai"
# Providers whose endpoint follows from their other settings (Bedrock's from its region).
PROVIDERS_WITHOUT_BASE = frozenset({"bedrock"})
DECRYPTED_SECRET_TTL_S = 300.0
DECRYPTED_SECRETS_MAX = 1024
# How long a warm function reuses a project's vault listing before reading it again: the bound on how long a
# deleted or rotated secret may still be used by a container that used it just before.
VAULT_LISTING_TTL_S = 5.0


@dataclass(frozen=True)
class ModelCall:
    """One model as litellm is asked for it: its litellm name and connection settings."""

    requested: str
    litellm_model: str
    provider: str
    connection: dict[str, Any] = field(default_factory=dict)

    @property
    def is_mock(self) -> bool:
        return self.provider == MOCK_PROVIDER


@dataclass(frozen=True)
class VaultEntry:
    """A secret as listed (still encrypted): what a call needs to pick it and, if used, decrypt it."""

    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    kind: str
    provider: str | None
    ciphertext: bytes
    encrypted_data_key: bytes
    kms_key_id: str


class DecryptedSecrets:
    """A warm function's memory of the vault, so an invoke costs no database round trip and no KMS call.

    A project's listing (ciphertexts only) is reused for VAULT_LISTING_TTL_S. Plaintexts are keyed on the
    ciphertext, so a rotated value (re-encrypted under a fresh nonce and data key) misses as soon as the
    listing is read again; they expire after DECRYPTED_SECRET_TTL_S all the same. Bounded in size.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[uuid.UUID, bytes], tuple[float, str]] = {}
        self._listings: dict[uuid.UUID, tuple[float, list[VaultEntry]]] = {}

    def listing(self, project_id: uuid.UUID) -> list[VaultEntry] | None:
        with self._lock:
            entry = self._listings.get(project_id)
        return entry[1] if entry is not None and entry[0] >= time.monotonic() else None

    def keep_listing(self, project_id: uuid.UUID, entries: list[VaultEntry]) -> None:
        with self._lock:
            if len(self._listings) >= DECRYPTED_SECRETS_MAX:
                self._listings.clear()
            self._listings[project_id] = (time.monotonic() + VAULT_LISTING_TTL_S, entries)

    def get(self, secret_id: uuid.UUID, ciphertext: bytes) -> str | None:
        with self._lock:
            entry = self._values.get((secret_id, ciphertext))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, secret_id: uuid.UUID, ciphertext: bytes, value: str) -> None:
        with self._lock:
            if len(self._values) >= DECRYPTED_SECRETS_MAX:
                self._values.clear()
            self._values[(secret_id, ciphertext)] = (time.monotonic() + DECRYPTED_SECRET_TTL_S, value)


def decrypted_secrets() -> DecryptedSecrets:
    from lamina.state import current

    return current().memo("services:decrypted_secrets", DecryptedSecrets)


def _prefix(model: str) -> str | None:
    return model.split("/", 1)[0] if "/" in model else None


def _litellm_provider(model: str) -> str:
    from lamina.services.llm import litellm

    try:
        return str(litellm().get_llm_provider(model)[1])
    except Exception as error:
        raise DependencyFailedError(
            f"model {model!r}: no provider known for it; prefix it with one (e.g. 'openai/{model}') "
            "or with the name of a custom provider secret"
        ) from error


def _custom_connection(name: str, value: str) -> tuple[str, dict[str, Any]]:
    try:
        settings = json.loads(value)
    except ValueError as error:
        raise DependencyFailedError(
            f"custom provider secret {name!r} must hold a JSON object with api_base (and api_key)"
        ) from error
    if not isinstance(settings, dict):
        raise DependencyFailedError(f"custom provider secret {name!r} must hold a JSON object")
    provider = str(settings.get("provider") or settings.get("kind") or DEFAULT_CUSTOM_PROVIDER)
    connection = {key: settings[key] for key in CUSTOM_PROVIDER_SETTINGS if settings.get(key)}
    if settings.get("url") and not connection.get("api_base"):
        connection["api_base"] = settings["url"]
    if not connection.get("api_base") and provider not in PROVIDERS_WITHOUT_BASE:
        raise DependencyFailedError(f"custom provider secret {name!r} has no api_base")
    return provider, connection


def _list_vault(project_id: uuid.UUID) -> list[VaultEntry]:
    from sqlalchemy import select

    from lamina.db.unit_of_work import unit_of_work
    from lamina.secrets.models import Secret

    with unit_of_work() as session:
        return [
            VaultEntry(
                row.id,
                row.project_id,
                row.name,
                row.kind,
                row.provider,
                row.ciphertext,
                row.encrypted_data_key,
                row.kms_key_id,
            )
            for row in session.execute(select(Secret).where(Secret.project_id == project_id)).scalars()
        ]


def needs_io(project_id: uuid.UUID, models: list[str]) -> bool:
    """Whether resolving these models reads the database or KMS (else it is a memory lookup, no thread)."""
    if all(_prefix(model) == MOCK_PROVIDER for model in models):
        return False
    cache = decrypted_secrets()
    rows = cache.listing(project_id)
    if rows is None:
        return True
    return any(cache.get(row.id, row.ciphertext) is None for row in rows if _prefix_of_row(row, models))


def _prefix_of_row(row: VaultEntry, models: list[str]) -> bool:
    """Whether a listed secret may be used for one of the models (by prefix or by provider name)."""
    names = {_prefix(model) for model in models}
    return row.name in names or (row.provider in names) or row.kind == PROVIDER_KEY_KIND


def resolve_model_calls(project_id: uuid.UUID, models: list[str], *, local: bool) -> list[ModelCall]:
    """Each model with its litellm name and connection settings (decrypting only the secrets used)."""
    if all(_prefix(model) == MOCK_PROVIDER for model in models):
        return [ModelCall(model, model, MOCK_PROVIDER) for model in models]

    from lamina.secrets.models import Secret
    from lamina.secrets.service import decrypt_value

    calls: list[ModelCall] = []
    cache = decrypted_secrets()
    rows = cache.listing(project_id)
    if rows is None:
        rows = _list_vault(project_id)
        cache.keep_listing(project_id, rows)
    custom = {row.name: row for row in rows if row.kind == CUSTOM_PROVIDER_KIND}
    keys = {(row.provider or row.name): row for row in rows if row.kind == PROVIDER_KEY_KIND}

    def reveal(row: VaultEntry) -> str:
        value = cache.get(row.id, row.ciphertext)
        if value is None:
            value = decrypt_value(
                Secret(
                    id=row.id,
                    project_id=row.project_id,
                    name=row.name,
                    ciphertext=row.ciphertext,
                    encrypted_data_key=row.encrypted_data_key,
                    kms_key_id=row.kms_key_id,
                )
            )
            cache.put(row.id, row.ciphertext, value)
        return value

    for model in models:
        prefix = _prefix(model)
        if prefix == MOCK_PROVIDER:
            calls.append(ModelCall(model, model, MOCK_PROVIDER))
        elif prefix is not None and prefix in custom:
            provider, connection = _custom_connection(prefix, reveal(custom[prefix]))
            litellm_model = f"{provider}/{model.split('/', 1)[1]}"
            calls.append(ModelCall(model, litellm_model, provider, connection))
        else:
            provider = _litellm_provider(model)
            if provider in keys:
                calls.append(ModelCall(model, model, provider, {"api_key": reveal(keys[provider])}))
            elif local:
                calls.append(ModelCall(model, model, provider))  # litellm reads the environment
            else:
                raise DependencyFailedError(
                    f"no {provider} key in this project's secrets: add one "
                    f'(POST /api/secrets/ {{"secret": {{"name": "{provider}", "kind": "provider_key", '
                    f'"provider": "{provider}", "value": "..."}}}})'
                )
    return calls
