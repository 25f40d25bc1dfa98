"""Request bodies and response shapes of `/api/webhooks/...` (Agenta's shapes; the secret shown once)."""

# No `from __future__ import annotations` here: pydantic would compile and evaluate each field's annotation
# string when the class is made, at the API function's cold start (see lamina.api.schemas.Model).

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import ConfigDict, Field, field_validator

from lamina.api.schemas import Body, View, Windowing

if TYPE_CHECKING:
    from lamina.webhooks.models import WebhookDeliveryAttempt, WebhookSubscription

MAX_HEADERS = 20
MAX_HEADER_VALUE_CHARS = 2000
MAX_EVENT_TYPES = 100
# Headers the delivery sets itself: a subscription's custom headers may not name them.
SYSTEM_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "user-agent",
        "idempotency-key",
        "transfer-encoding",
        "connection",
    }
)
SYSTEM_HEADER_PREFIX = "x-lamina-"

HeaderName = Annotated[str, Field(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")]
EventTypeName = Annotated[str, Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_*]+){1,4}$", max_length=200)]
Secret = Annotated[str, Field(min_length=16, max_length=500)]


def is_system_header(name: str) -> bool:
    lowered = name.lower()
    return lowered in SYSTEM_HEADERS or lowered.startswith(SYSTEM_HEADER_PREFIX)


class SubscriptionData(Body):
    url: Annotated[str, Field(min_length=1, max_length=2048)]
    # Agenta's SDK types a header's value as optional: a null value is no header.
    headers: dict[HeaderName, Annotated[str, Field(max_length=MAX_HEADER_VALUE_CHARS)] | None] | None = None
    event_types: Annotated[list[EventTypeName], Field(max_length=MAX_EVENT_TYPES)] | None = None
    # Accepted for Agenta's clients, not used: Lamina always sends the event document and signs it.
    payload_fields: dict[str, Any] | None = None
    auth_mode: Annotated[str, Field(max_length=50)] | None = None

    @field_validator("headers")
    @classmethod
    def _no_system_headers(cls, given: dict[str, str | None] | None) -> dict[str, str] | None:
        if given is None:
            return None
        headers = {name: value for name, value in given.items() if value is not None}
        if len(headers) > MAX_HEADERS:
            raise ValueError(f"at most {MAX_HEADERS} custom headers")
        clashing = sorted(name for name in headers if is_system_header(name))
        if clashing:
            raise ValueError(f"custom headers may not set system headers: {', '.join(clashing)}")
        return headers


class SubscriptionFlags(Body):
    is_active: bool | None = None


class SubscriptionFields(Body):
    name: Annotated[str, Field(max_length=200)] | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    data: SubscriptionData
    secret: Secret | None = Field(default=None, description="Generated when omitted; shown once.")
    flags: SubscriptionFlags | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class SubscriptionEditFields(SubscriptionFields):
    """Agenta's WebhookSubscriptionEdit: the subscription as fetched; `id` and the lifecycle fields are read-only
    (accepted, ignored: the path names the subscription)."""

    id: uuid.UUID | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    created_by_id: str | None = None
    updated_by_id: str | None = None
    deleted_by_id: str | None = None


class SubscriptionCreate(Body):
    subscription: SubscriptionFields


class SubscriptionEdit(Body):
    subscription: SubscriptionEditFields


class SubscriptionFilter(Body):
    name: Annotated[str, Field(max_length=200)] | None = None
    flags: SubscriptionFlags | None = None
    # Agenta's WebhookSubscriptionQuery: accepted, not filtered on.
    description: Annotated[str, Field(max_length=2000)] | None = None
    tags: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None


class SubscriptionQuery(Body):
    subscription: SubscriptionFilter | None = None
    include_archived: bool | None = None
    windowing: Windowing | None = None


class SubscriptionTest(Body):
    subscription_id: uuid.UUID


class DeliveryStatusInput(Body):
    """Agenta's Status on a delivery to create: accepted for its SDK's sake; a new delivery is queued."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    code: Annotated[str, Field(max_length=20)] | None = None
    message: Annotated[str, Field(max_length=1000)] | None = None


class DeliveryCreateFields(Body):
    """Deliver a stored event (`event_id`, within the project's event retention) to `subscription_id`."""

    id: uuid.UUID | None = Field(default=None, description="Ignored: a delivery's id is derived")
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    status: DeliveryStatusInput | None = None
    data: dict[str, Any] | None = Field(default=None, description="Ignored: the stored event is what is sent")


class DeliveryCreate(Body):
    delivery: DeliveryCreateFields


class DeliveryFilter(Body):
    subscription_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = None
    delivery_id: uuid.UUID | None = None
    # Lamina's plain status, or Agenta's Status object (its `code`, else its `message`).
    status: Annotated[str, Field(max_length=20)] | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _status_code(cls, status: Any) -> Any:
        if isinstance(status, dict):
            return status.get("code") or status.get("message")
        return status


class DeliveryQuery(Body):
    delivery: DeliveryFilter | None = None
    include_archived: bool | None = None
    windowing: Windowing | None = None


# ---------------------------------------------------------------- responses


class SubscriptionDataView(View):
    url: str
    headers: dict[str, str]
    event_types: list[str]


class SubscriptionFlagsView(View):
    is_active: bool


class BreakerView(View):
    state: str
    consecutive_failures: int
    open_until: datetime | None


class SubscriptionView(View):
    id: uuid.UUID
    name: str | None
    description: str | None
    data: SubscriptionDataView
    flags: SubscriptionFlagsView
    tags: dict[str, Any]
    meta: dict[str, Any]
    breaker: BreakerView
    secret: str | None = Field(
        default=None, description="The signing secret: only in the answer that created or rotated it."
    )
    created_at: datetime
    updated_at: datetime
    created_by_id: str | None

    @classmethod
    def of(cls, row: "WebhookSubscription", *, secret: str | None = None) -> "SubscriptionView":
        return cls(
            id=row.id,
            name=row.name,
            description=row.description,
            data=SubscriptionDataView(url=row.url, headers=row.headers, event_types=row.event_types),
            flags=SubscriptionFlagsView(is_active=row.is_active),
            tags=row.tags,
            meta=row.meta,
            breaker=BreakerView(
                state=row.breaker_state,
                consecutive_failures=row.consecutive_failures,
                open_until=row.breaker_open_until,
            ),
            secret=secret,
            created_at=row.created_at,
            updated_at=row.updated_at,
            created_by_id=row.created_by,
        )


class SubscriptionResponse(View):
    count: int
    subscription: SubscriptionView


class SubscriptionsResponse(View):
    count: int
    subscriptions: list[SubscriptionView]


class DeletedSubscriptionResponse(View):
    count: int
    id: uuid.UUID


class DeliveryStatus(View):
    code: str = Field(description="succeeded, retrying, failed (sent to the DLQ) or cancelled")
    message: str | None
    timestamp: datetime


class DeliveryResponseInfo(View):
    status_code: int | None
    body: str | None


class DeliveryData(View):
    event_type: str
    url: str
    attempt: int
    latency_ms: int | None
    response: DeliveryResponseInfo
    error: str | None
    next_attempt_at: datetime | None


class DeliveryView(View):
    id: uuid.UUID = Field(description="This attempt's log row")
    delivery_id: uuid.UUID = Field(description="Shared by every attempt of one event to one subscription")
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    status: DeliveryStatus
    data: DeliveryData
    created_at: datetime

    @classmethod
    def of(cls, row: "WebhookDeliveryAttempt") -> "DeliveryView":
        return cls(
            id=row.id,
            delivery_id=row.delivery_id,
            subscription_id=row.subscription_id,
            event_id=row.event_id,
            status=DeliveryStatus(code=row.status, message=row.error, timestamp=row.attempted_at),
            data=DeliveryData(
                event_type=row.event_type,
                url=row.url,
                attempt=row.attempt,
                latency_ms=row.latency_ms,
                response=DeliveryResponseInfo(status_code=row.status_code, body=row.response_body),
                error=row.error,
                next_attempt_at=row.next_attempt_at,
            ),
            created_at=row.attempted_at,
        )


class DeliveryResponse(View):
    count: int
    delivery: DeliveryView | None


class DeliveriesResponse(View):
    count: int
    deliveries: list[DeliveryView]


class QueuedDeliveryData(View):
    event_type: str
    url: str
    attempt: int = 1


class QueuedDeliveryView(View):
    """A delivery created and queued: its attempts appear in the log under `delivery_id` as they are made."""

    id: uuid.UUID = Field(description="The delivery id (no attempt has been made yet)")
    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    status: DeliveryStatus
    data: QueuedDeliveryData
    created_at: datetime


class QueuedDeliveryResponse(View):
    count: int
    delivery: QueuedDeliveryView


class ReplayResponse(View):
    count: int
    delivery_id: uuid.UUID
    replayed: bool
