"""Envelope encryption: a fresh KMS data key per secret value, AES-256-GCM locally, the data key stored wrapped.

The plaintext data key lives only in memory while one value is encrypted or decrypted; the database holds
ciphertext that is useless without a KMS Decrypt call, which IAM grants only to the functions that need it.
The KMS encryption context and the AES-GCM associated data bind each ciphertext to its project and secret
id, so a row copied into another project (or onto another secret) does not decrypt.
"""

from __future__ import annotations

import os
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lamina import aws
from lamina.errors import ConflictError, NotFoundError, UnavailableError
from lamina.events.catalog import EventType
from lamina.events.outbox import stage_event
from lamina.secrets import schemas
from lamina.secrets.models import Secret
from lamina.settings import get_settings
from lamina.tenancy.principal import Principal

LOCAL_KEY_ALIAS = "alias/lamina-secrets"
NONCE_BYTES = 12
HINT_CHARS = 4
# Values shorter than this get no hint: four characters of a short secret give too much away.
MIN_LENGTH_FOR_HINT = 16


def kms_key_id() -> str:
    """LAMINA_KMS_KEY_ID, or locally the emulator key with alias `alias/lamina-secrets` (created once)."""
    from lamina.state import current

    settings = get_settings()
    if settings.kms_key_id:
        return settings.kms_key_id
    if not settings.is_local:
        raise UnavailableError("the secrets vault is not configured: LAMINA_KMS_KEY_ID is not set")
    return current().memo("secrets:local_kms_key_id", _find_or_create_local_key)


def _find_or_create_local_key() -> str:
    kms = aws.client("kms")
    try:
        return str(kms.describe_key(KeyId=LOCAL_KEY_ALIAS)["KeyMetadata"]["KeyId"])
    except kms.exceptions.NotFoundException:
        key_id = str(kms.create_key(Description="lamina local secrets")["KeyMetadata"]["KeyId"])
        try:
            kms.create_alias(AliasName=LOCAL_KEY_ALIAS, TargetKeyId=key_id)
            return key_id
        except kms.exceptions.AlreadyExistsException:  # another process won the race
            return str(kms.describe_key(KeyId=LOCAL_KEY_ALIAS)["KeyMetadata"]["KeyId"])


def _context(project_id: uuid.UUID, secret_id: uuid.UUID) -> dict[str, str]:
    return {"lamina:project_id": str(project_id), "lamina:secret_id": str(secret_id)}


def _aad(project_id: uuid.UUID, secret_id: uuid.UUID) -> bytes:
    return f"{project_id}:{secret_id}".encode()


def encrypt_value(project_id: uuid.UUID, secret_id: uuid.UUID, value: str) -> tuple[bytes, bytes, str]:
    """(nonce + ciphertext, wrapped data key, KMS key id)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key_id = kms_key_id()
    try:
        data_key = aws.client("kms").generate_data_key(
            KeyId=key_id, KeySpec="AES_256", EncryptionContext=_context(project_id, secret_id)
        )
    except Exception as error:
        raise UnavailableError(f"KMS refused to generate a data key: {error}") from error
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key["Plaintext"]).encrypt(nonce, value.encode(), _aad(project_id, secret_id))
    return nonce + ciphertext, bytes(data_key["CiphertextBlob"]), key_id


def decrypt_value(secret: Secret) -> str:
    return decrypt_parts(
        secret.project_id,
        secret.id,
        secret.ciphertext,
        secret.encrypted_data_key,
        secret.kms_key_id,
        label=f"secret {secret.name!r}",
    )


def decrypt_parts(
    project_id: uuid.UUID,
    owner_id: uuid.UUID,
    ciphertext: bytes,
    wrapped_key: bytes,
    key_id: str,
    *,
    label: str,
) -> str:
    """Decrypt what `encrypt_value(project_id, owner_id, ...)` returned (a secret, a webhook's signing key)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        unwrapped = aws.client("kms").decrypt(
            CiphertextBlob=wrapped_key, EncryptionContext=_context(project_id, owner_id), KeyId=key_id
        )
    except Exception as error:
        raise UnavailableError(f"KMS refused to decrypt {label}: {error}") from error
    nonce, sealed = ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:]
    plaintext = AESGCM(unwrapped["Plaintext"]).decrypt(nonce, sealed, _aad(project_id, owner_id))
    return plaintext.decode()


def _hint(value: str) -> str:
    return value[-HINT_CHARS:] if len(value) >= MIN_LENGTH_FOR_HINT else ""


def create_secret(session: Session, principal: Principal, fields: schemas.SecretFields) -> Secret:
    from lamina.ids import uuid7

    secret_id = uuid7()
    ciphertext, wrapped_key, key_id = encrypt_value(principal.project_id, secret_id, fields.value)
    secret = Secret(
        id=secret_id,
        project_id=principal.project_id,
        name=fields.name,
        kind=fields.kind,
        provider=fields.provider,
        description=fields.description,
        ciphertext=ciphertext,
        encrypted_data_key=wrapped_key,
        kms_key_id=key_id,
        hint=_hint(fields.value),
        created_by=principal.actor,
    )
    session.add(secret)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        raise ConflictError(f"a secret named {fields.name!r} already exists") from error
    stage_event(
        session,
        EventType.SECRET_CREATED,
        {"secret_id": str(secret.id), "name": secret.name},
        project_id=principal.project_id,
    )
    return secret


def get_secret(session: Session, principal: Principal, secret_id: uuid.UUID) -> Secret:
    secret = session.execute(
        select(Secret).where(Secret.id == secret_id, Secret.project_id == principal.project_id)
    ).scalar_one_or_none()
    if secret is None:
        raise NotFoundError(f"secret {secret_id} not found")
    return secret


def list_secrets(session: Session, principal: Principal) -> list[Secret]:
    return list(
        session.execute(
            select(Secret).where(Secret.project_id == principal.project_id).order_by(Secret.name)
        ).scalars()
    )


def edit_secret(
    session: Session, principal: Principal, secret_id: uuid.UUID, edits: schemas.SecretEdits
) -> Secret:
    secret = get_secret(session, principal, secret_id)
    if edits.description is not None:
        secret.description = edits.description
    if edits.provider is not None:
        secret.provider = edits.provider
    if edits.value is not None:
        secret.ciphertext, secret.encrypted_data_key, secret.kms_key_id = encrypt_value(
            secret.project_id, secret.id, edits.value
        )
        secret.hint = _hint(edits.value)
    session.flush()
    stage_event(
        session,
        EventType.SECRET_UPDATED,
        {"secret_id": str(secret.id), "name": secret.name},
        project_id=principal.project_id,
    )
    return secret


def delete_secret(session: Session, principal: Principal, secret_id: uuid.UUID) -> None:
    secret = get_secret(session, principal, secret_id)
    session.delete(secret)
    session.flush()
    stage_event(
        session,
        EventType.SECRET_DELETED,
        {"secret_id": str(secret_id), "name": secret.name},
        project_id=principal.project_id,
    )


def reveal_secret(session: Session, project_id: uuid.UUID, name: str) -> str | None:
    """The plaintext of a project's secret, for server-side use only (the services calling providers)."""
    secret = session.execute(
        select(Secret).where(Secret.project_id == project_id, Secret.name == name)
    ).scalar_one_or_none()
    return decrypt_value(secret) if secret is not None else None


def provider_keys(session: Session, project_id: uuid.UUID) -> dict[str, str]:
    """Every provider key of a project, by provider (`{"openai": "sk-..."}`), decrypted for one call."""
    secrets = session.execute(
        select(Secret).where(Secret.project_id == project_id, Secret.kind == "provider_key")
    ).scalars()
    return {secret.provider or secret.name: decrypt_value(secret) for secret in secrets}
