"""The triggers worker: run a pending delivery (an application revision, or start an evaluation run), once.

The delivery row is locked and must still be pending: a second message for the same delivery (the outbox may
send one twice; the inbox stops a repeat of the same envelope) finds it done and does nothing. The outcome,
outputs or error, is written to the delivery in the inbox's transaction.

A run that fails for a transient reason (the provider answered 5xx or 429, or gave no status; a database or
cache outage) is retried through the queue: the delivery stays pending, its attempt is counted and the next
run is staged with a delay (TRIGGER_RETRY_DELAYS_S, jittered, scaled for tests by
LAMINA_TRIGGER_BACKOFF_SCALE) in the same transaction. After TRIGGER_MAX_ATTEMPTS it is recorded as failed. A
deterministic failure (a bad reference, a refused key, invalid inputs) is recorded as failed at once: running
it again would fail the same way. Each retry is a new message for the same delivery, and only a pending
delivery runs, so a tick or an event still runs to one outcome.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lamina.db.base import utcnow
from lamina.errors import LaminaError
from lamina.events.outbox import stage_message
from lamina.queues.names import Queue
from lamina.queues.worker import queue_worker
from lamina.triggers.dispatch import (
    DELIVERY_REQUESTED,
    DISPATCHED,
    FAILURE,
    PENDING,
    SKIPPED,
    STATUS_CODES,
    SUCCESS,
)
from lamina.triggers.models import TriggerDelivery, TriggerSchedule, TriggerSubscription

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from lamina.queues.envelope import Envelope
    from lamina.tenancy.principal import Principal

logger = logging.getLogger(__name__)

EVALUATION_REQUESTED = "evaluations.runs.requested"
# Delay before retry n of a transiently failed run; each within SQS's 900 s DelaySeconds, about 13 minutes in all.
TRIGGER_RETRY_DELAYS_S = (5, 30, 120, 600)
TRIGGER_MAX_ATTEMPTS = len(TRIGGER_RETRY_DELAYS_S) + 1
TRIGGER_RETRY_JITTER = 0.25
ERROR_MAX_CHARS = 2000
SQS_MAX_DELAY_S = 900
# Chat when the inputs carry a conversation (`messages`, as Agenta's chat service takes it), else completion.
CONVERSATION_INPUT = "messages"


def run_delivery(envelope: Envelope, session: Session) -> None:
    """Handle `triggers.delivery.requested`: run the delivery it names if it is still pending."""
    try:
        delivery_id = uuid.UUID(str(envelope.payload.get("delivery_id")))
    except ValueError:
        from lamina.queues.envelope import PoisonMessageError

        raise PoisonMessageError(f"{envelope.type} without a delivery_id") from None
    delivery = session.execute(
        select(TriggerDelivery).where(TriggerDelivery.id == delivery_id).with_for_update()
    ).scalar_one_or_none()
    if delivery is None or delivery.status != PENDING:
        # Gone (retention) or already run: nothing to do, and nothing to retry.
        logger.info("trigger delivery not pending", extra={"delivery_id": str(delivery_id)})
        return
    delivery.attempts += 1
    data = dict(delivery.data)
    if not _trigger_is_active(session, delivery):
        _finish(delivery, data, SKIPPED, "the trigger was stopped or deleted before it ran")
        return
    try:
        if data.get("evaluation") is not None:
            stage_message(
                session,
                Queue.EVALUATIONS,
                EVALUATION_REQUESTED,
                {
                    "project_id": str(delivery.project_id),
                    "trigger_id": str(delivery.schedule_id or delivery.subscription_id),
                    "delivery_id": str(delivery.id),
                    "run": data["evaluation"],
                },
                project_id=delivery.project_id,
            )
            _finish(
                delivery, data, DISPATCHED, "evaluation run requested", result={"evaluation": "requested"}
            )
        else:
            result = run_application(delivery.project_id, data)
            data.pop("error", None)
            _finish(delivery, data, SUCCESS, "success", result=result)
    except LaminaError as error:
        data["error"] = str(error)[:ERROR_MAX_CHARS]
        if is_transient(error) and delivery.attempts < TRIGGER_MAX_ATTEMPTS:
            _retry_later(session, delivery, data, str(error.status_code))
            return
        _finish(delivery, data, FAILURE, str(error)[:ERROR_MAX_CHARS], code=str(error.status_code))
    except Exception as error:  # a fault of ours: logged with its trace, and on the delivery for the user
        data["error"] = f"{type(error).__name__}: {error}"[:ERROR_MAX_CHARS]
        if is_transient(error) and delivery.attempts < TRIGGER_MAX_ATTEMPTS:
            logger.warning("trigger run failed transiently", extra={"delivery_id": str(delivery.id)})
            _retry_later(session, delivery, data, "503")
            return
        logger.exception("trigger delivery failed", extra={"delivery_id": str(delivery.id)})
        _finish(delivery, data, FAILURE, "internal error", code="500")


def is_transient(error: BaseException) -> bool:
    """Whether running again later may succeed: a provider's 5xx, 429 or no answer, or a dependency outage."""
    from lamina.db.failures import classify_dependency_failure
    from lamina.errors import DependencyFailedError, RateLimitedError, UnavailableError

    if isinstance(error, RateLimitedError | UnavailableError):
        return True
    if isinstance(error, DependencyFailedError):
        details = error.details if isinstance(error.details, dict) else {}
        if "provider_status" not in details:
            return False  # a refusal of ours about the provider's answer (no choices, no chunks)
        status = details["provider_status"]
        return status is None or status >= 500 or status == 429
    if isinstance(error, LaminaError):
        return False
    return classify_dependency_failure(error) is not None or isinstance(error, ConnectionError | TimeoutError)


def retry_delay_s(attempt: int, *, scale: float) -> float:
    """How long to wait after failed attempt `attempt` (1-based) before the next run."""
    import random

    base = TRIGGER_RETRY_DELAYS_S[min(attempt, len(TRIGGER_RETRY_DELAYS_S)) - 1]
    return base * (1 + random.random() * TRIGGER_RETRY_JITTER) * scale


def _retry_later(session: Session, delivery: TriggerDelivery, data: dict[str, Any], code: str) -> None:
    """Keep the delivery pending and stage its next run, delayed, in this transaction."""
    import math

    from lamina.settings import get_settings

    delay = retry_delay_s(delivery.attempts, scale=get_settings().trigger_backoff_scale)
    delivery.data = data
    delivery.status_code = code
    delivery.status_message = (
        f"retrying (attempt {delivery.attempts} of {TRIGGER_MAX_ATTEMPTS} failed): {data['error']}"
    )[:ERROR_MAX_CHARS]
    delivery.updated_at = utcnow()
    stage_message(
        session,
        Queue.TRIGGERS,
        DELIVERY_REQUESTED,
        {"delivery_id": str(delivery.id), "attempt": delivery.attempts + 1},
        project_id=delivery.project_id,
        delay_s=min(math.ceil(delay), SQS_MAX_DELAY_S) if delay >= 1 else 0,
    )


def _trigger_is_active(session: Session, delivery: TriggerDelivery) -> bool:
    trigger: TriggerSchedule | TriggerSubscription | None = (
        session.get(TriggerSchedule, delivery.schedule_id)
        if delivery.schedule_id is not None
        else session.get(TriggerSubscription, delivery.subscription_id)
    )
    return trigger is not None and trigger.is_active


def _finish(
    delivery: TriggerDelivery,
    data: dict[str, Any],
    status: str,
    message: str,
    *,
    result: dict[str, Any] | None = None,
    code: str | None = None,
) -> None:
    if result is not None:
        data["result"] = result
    delivery.data = data
    delivery.status = status
    delivery.status_code = code or STATUS_CODES[status]
    delivery.status_message = message
    delivery.updated_at = utcnow()


def trigger_principal(project_id: uuid.UUID) -> Principal:
    """Who a trigger acts as: a service principal of its project (an editor: it runs, it does not manage)."""
    from lamina.db.unit_of_work import unit_of_work
    from lamina.errors import NotFoundError
    from lamina.tenancy.models import Project
    from lamina.tenancy.principal import Principal, PrincipalKind

    with unit_of_work() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFoundError(f"project {project_id} no longer exists")
        return Principal(
            kind=PrincipalKind.SERVICE,
            project_id=project.id,
            workspace_id=project.workspace_id,
            organization_id=project.organization_id,
            role="editor",
            service="triggers",
        )


def run_application(project_id: uuid.UUID, data: dict[str, Any]) -> dict[str, Any]:
    """Invoke the referenced application revision with the delivery's inputs, through the services library."""
    import asyncio

    from lamina.services import service
    from lamina.services.schemas import InvokeData, InvokeRequest, ServiceKind
    from lamina.settings import get_settings

    inputs = dict(data.get("inputs") or {})
    references = {name: ref for name, ref in (data.get("references") or {}).items() if ref}
    request = InvokeRequest(
        data=InvokeData(inputs=inputs), references=references, selector=data.get("selector") or None
    )
    kind: ServiceKind = "chat" if isinstance(inputs.get(CONVERSATION_INPUT), list) else "completion"
    principal = trigger_principal(project_id)
    response = asyncio.run(
        service.invoke(kind, request, principal, service.trace_context(None), local=get_settings().is_local)
    )
    return {"outputs": response.data.outputs, "trace_id": response.trace_id, "span_id": response.span_id}


handler = queue_worker(Queue.TRIGGERS, {DELIVERY_REQUESTED: run_delivery})
