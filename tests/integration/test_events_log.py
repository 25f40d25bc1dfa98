"""The event log read back (`POST /api/events/query`: type filters, time bounds, cursor paging, project scope)
and its retention by project setting (`PUT /api/events/settings`, the cron's `retention` task)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.api_client import Tenant, api_env, cognito_pool, make_tenant, own_events_queue
from tests.integration.test_api_health import load_handler_module
from tests.support import LambdaContext

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def record(project_id: str | uuid.UUID, type: str, occurred_at: datetime, **payload: Any) -> uuid.UUID:
    """An event as the events worker records it (recorded when it occurred)."""
    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.models import EventRecord

    event_id = uuid.uuid4()
    with unit_of_work() as session:
        session.add(
            EventRecord(
                id=event_id,
                project_id=uuid.UUID(str(project_id)),
                type=type,
                payload=payload,
                occurred_at=occurred_at,
                recorded_at=occurred_at,
            )
        )
    return event_id


def test_events_are_queried_by_type_and_time_and_paged_within_the_project(
    make_tenant: Callable[..., Tenant],
) -> None:
    tenant, other = make_tenant(), make_tenant()
    api = tenant.client
    # GIVEN five commits, three secret changes and a project creation, a minute apart, and the other
    # project's commits at the same moments
    ids: dict[str, list[uuid.UUID]] = {}
    kinds = ["applications.revision.committed"] * 5 + ["secrets.secret.created"] * 3
    for minute, kind in enumerate([*kinds, "tenancy.project.created"]):
        ids.setdefault(kind, []).append(
            record(tenant.project_id, kind, START + timedelta(minutes=minute), n=minute)
        )
        if kind.startswith("applications."):
            record(other.project_id, kind, START + timedelta(minutes=minute), n=minute)

    # WHEN the commits are read a family at a time, two per page
    pages: list[list[int]] = []
    cursor: str | None = None
    while True:
        windowing: dict[str, Any] = {"limit": 2, **({"next": cursor} if cursor else {})}
        page = api.post(
            "/api/events/query", {"event": {"event_type": "applications.*"}, "windowing": windowing}
        ).ok()
        pages.append([event["attributes"]["n"] for event in page["events"]])
        cursor = (page.get("windowing") or {}).get("next")
        if not cursor:
            break
    # THEN they come newest first, each once, only this project's
    assert pages == [[4, 3], [2, 1], [0]]

    # AND types combine, time bounds apply (oldest inclusive, newest exclusive), ids select, order flips
    def query(body: dict[str, Any]) -> list[int]:
        return [event["attributes"]["n"] for event in api.post("/api/events/query", body).ok()["events"]]

    either = {"event_types": ["secrets.secret.created", "tenancy.project.created"]}
    assert query({"event": either}) == [8, 7, 6, 5]
    window = {
        "oldest": (START + timedelta(minutes=2)).isoformat(),
        "newest": (START + timedelta(minutes=6)).isoformat(),
    }
    assert query({"windowing": {**window, "order": "ascending"}}) == [2, 3, 4, 5]
    assert query({"event": {"event_id": str(ids["tenancy.project.created"][0])}}) == [8]
    # AND an event is shaped as Agenta's Event
    event = api.post("/api/events/query", {"windowing": {"limit": 1}}).ok()["events"][0]
    assert event["event_type"] == "tenancy.project.created" and event["timestamp"].startswith(
        "2026-11-01T12:08"
    )
    assert event["event_id"] == str(ids["tenancy.project.created"][0])
    # AND a cursor this API did not give is a 4xx that says so
    refused = api.post("/api/events/query", {"windowing": {"next": "not-a-cursor"}})
    assert refused.status == 422 and "windowing.next" in refused.body["message"]


def test_retention_keeps_events_and_trigger_deliveries_by_project_setting(
    make_tenant: Callable[..., Tenant], lambda_context: LambdaContext
) -> None:
    from sqlalchemy import select

    from lamina.db.base import utcnow
    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.models import EventRecord
    from lamina.triggers.models import TriggerDelivery

    short, default = make_tenant(), make_tenant()
    now = utcnow()
    # GIVEN two projects with events and trigger deliveries 10 days and 1 day old; one keeps them 5 days
    rows: dict[tuple[str, int], tuple[uuid.UUID, uuid.UUID]] = {}
    for tenant in (short, default):
        for age in (10, 1):
            moment = now - timedelta(days=age)
            event_id = record(tenant.project_id, "secrets.secret.created", moment)
            delivery_id = uuid.uuid4()
            with unit_of_work() as session:
                session.add(
                    TriggerDelivery(
                        id=delivery_id,
                        project_id=uuid.UUID(tenant.project_id),
                        schedule_id=uuid.uuid4(),
                        event_id=moment.isoformat(),
                        status="success",
                        data={},
                        attempts=1,
                        created_at=moment,
                        updated_at=moment,
                    )
                )
            rows[(tenant.project_id, age)] = (event_id, delivery_id)
    assert short.client.get("/api/events/settings").ok()["settings"] == {
        "retention_days": 30,
        "is_default": True,
    }
    edited = short.client.put("/api/events/settings", {"settings": {"retention_days": 5}}).ok()
    assert edited["settings"] == {"retention_days": 5, "is_default": False}

    # WHEN the cron's retention task runs
    result = load_handler_module("cron").handler({"task": "retention"}, lambda_context)["retention"]

    # THEN only the 10-day-old rows of the 5-day project are gone; the default (30 days) kept the others'
    assert result["events_deleted"] >= 1 and result["trigger_deliveries_deleted"] >= 1
    with unit_of_work() as session:
        events = set(session.execute(select(EventRecord.id)).scalars())
        deliveries = set(session.execute(select(TriggerDelivery.id)).scalars())
    for (project_id, age), (event_id, delivery_id) in rows.items():
        kept = not (project_id == short.project_id and age == 10)
        assert (event_id in events) is kept, (project_id, age)
        assert (delivery_id in deliveries) is kept, (project_id, age)
    # AND the project can go back to the default
    reset = short.client.put("/api/events/settings", {"settings": {"retention_days": None}}).ok()
    assert reset["settings"] == {"retention_days": 30, "is_default": True}
