"""The signature every delivery carries, and how a receiver checks it.

`X-Lamina-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the timestamp is signed with
the body, so a receiver that also refuses old timestamps is safe from replays of a captured request.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

SIGNATURE_HEADER = "X-Lamina-Signature"
EVENT_ID_HEADER = "X-Lamina-Event-Id"
EVENT_TYPE_HEADER = "X-Lamina-Event-Type"
DELIVERY_ID_HEADER = "X-Lamina-Delivery-Id"
ATTEMPT_HEADER = "X-Lamina-Attempt"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
# A receiver should refuse signatures older than this (clock skew included).
DEFAULT_TOLERANCE_S = 300

# uuid5 namespace of delivery ids: uuid5(namespace, "<event id>:<subscription id>").
_DELIVERY_NAMESPACE = uuid.UUID("6f1d3c2e-9a57-4c8e-8d0b-5b1f0e7a2c41")


def delivery_id(event_id: uuid.UUID, subscription_id: uuid.UUID) -> uuid.UUID:
    """The id of delivering one event to one subscription: the same for every attempt and replay."""
    return uuid.uuid5(_DELIVERY_NAMESPACE, f"{event_id}:{subscription_id}")


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The `X-Lamina-Signature` value for `body` at `timestamp` (now when None)."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, tolerance_s: int = DEFAULT_TOLERANCE_S) -> bool:
    """Whether `header` is a valid signature of `body` under `secret`, made within `tolerance_s` of now."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        t = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - t) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", ""))
