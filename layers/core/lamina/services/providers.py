"""Which provider a model goes to, and with which credentials, from the project's secrets vault.

Two kinds of secret feed a call:
- a provider key: `kind="provider_key"`, `provider="openai"` (or named after the provider), value the key;
- a custom provider: `kind="custom"`, named after the prefix models use (`my-llm/gpt-x`), its value a JSON
  object `{"provider": "openai", "api_base": "http://...", "api_key": "...", "api_version": "..."}`:
  an OpenAI-compatible server (or Azure, ...) reached through litellm with those connection settings.

Only the secrets a call needs are decrypted (one KMS call each). The process environment is consulted (by
litellm itself) only in local mode; deployed, a model without a key in the vault is a 424 that says so.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from lamina.errors import DependencyFailedError

MOCK_PROVIDER = "mock"
CUSTOM_PROVIDER_KIND = "custom"
PROVIDER_KEY_KIND = "provider_key"
# Connection settings a custom provider secret may carry, passed to litellm as they are.
CUSTOM_PROVIDER_SETTINGS = ("api_base", "api_key", "api_version", "organization")
DEFAULT_CUSTOM_PROVIDER = "openai"


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
class _SecretRow:
    id: uuid.UUID
    name: str
    kind: str
    provider: str | None


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
    if not isinstance(settings, dict) or not (settings.get("api_base") or settings.get("url")):
        raise DependencyFailedError(f"custom provider secret {name!r} has no api_base")
    connection = {key: settings[key] for key in CUSTOM_PROVIDER_SETTINGS if settings.get(key)}
    connection.setdefault("api_base", settings.get("url"))
    return str(settings.get("provider") or settings.get("kind") or DEFAULT_CUSTOM_PROVIDER), connection


def resolve_model_calls(project_id: uuid.UUID, models: list[str], *, local: bool) -> list[ModelCall]:
    """Each model with its litellm name and connection settings (decrypting only the secrets used)."""
    if all(_prefix(model) == MOCK_PROVIDER for model in models):
        return [ModelCall(model, model, MOCK_PROVIDER) for model in models]

    from sqlalchemy import select

    from lamina.db.unit_of_work import unit_of_work
    from lamina.secrets.models import Secret
    from lamina.secrets.service import decrypt_value

    calls: list[ModelCall] = []
    with unit_of_work() as session:
        rows = [
            _SecretRow(row.id, row.name, row.kind, row.provider)
            for row in session.execute(
                select(Secret.id, Secret.name, Secret.kind, Secret.provider).where(
                    Secret.project_id == project_id
                )
            )
        ]
        custom = {row.name: row for row in rows if row.kind == CUSTOM_PROVIDER_KIND}
        keys = {(row.provider or row.name): row for row in rows if row.kind == PROVIDER_KEY_KIND}

        def reveal(row: _SecretRow) -> str:
            return decrypt_value(session.get_one(Secret, row.id))

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
