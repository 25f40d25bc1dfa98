"""The triggers worker: run a pending delivery (an application revision, or start an evaluation run), once.

The delivery row is locked and must still be pending: a second message for the same delivery (the outbox may
send one twice; the inbox stops a repeat of the same envelope) finds it done and does nothing. The outcome,
outputs or error, is written to the delivery in the inbox's transaction.

A failed run is recorded as a failed delivery, not retried: the delivery log is where a user sees it, and a
model call that failed on a provider's quota would fail the same way on an immediate retry.
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
ERROR_MAX_CHARS = 2000
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
            _finish(delivery, data, SUCCESS, "success", result=result)
    except LaminaError as error:
        data["error"] = str(error)[:ERROR_MAX_CHARS]
        _finish(delivery, data, FAILURE, str(error)[:ERROR_MAX_CHARS], code=str(error.status_code))
    except Exception as error:  # a fault of ours: logged with its trace, and on the delivery for the user
        logger.exception("trigger delivery failed", extra={"delivery_id": str(delivery.id)})
        data["error"] = f"{type(error).__name__}: {error}"[:ERROR_MAX_CHARS]
        _finish(delivery, data, FAILURE, "internal error", code="500")


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
