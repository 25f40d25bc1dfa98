"""Triggers end to end: schedules validated and fired once per tick by the cron, event triggers running an
application revision (the built-in `mock` model) once per event, and the delivery log. Real Postgres, Redis
and SQS (moto)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.api_client import Tenant, api_env, cognito_pool, make_tenant, own_events_queue
from tests.integration.test_api_health import load_handler_module
from tests.integration.test_events_worker import receive_as_lambda_event
from tests.support import LambdaContext

__all__ = ["api_env", "cognito_pool", "make_tenant", "own_events_queue"]
pytestmark = pytest.mark.timeout(120)

GREETING = [{"role": "user", "content": "Hello {{name}}"}]


@pytest.fixture
def own_queues(api_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Fresh events, triggers and evaluations queues of this test's own, set as the process's queues."""
    from lamina import state

    sqs = state.current().aws_client("sqs")
    urls = {
        name: sqs.create_queue(
            QueueName=f"lamina-test-{name}-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "1"}
        )["QueueUrl"]
        for name in ("events", "triggers", "evaluations")
    }
    state.configure(
        state.current().settings.model_copy(update={f"{name}_queue_url": url for name, url in urls.items()})
    )
    yield urls
    for url in urls.values():
        state.current().aws_client("sqs").delete_queue(QueueUrl=url)


@pytest.fixture
def tenant(make_tenant: Callable[..., Tenant], own_queues: dict[str, str]) -> Tenant:
    return make_tenant()


def greeter(tenant: Tenant) -> dict[str, Any]:
    """An application whose revision greets `name` through the built-in mock model (it echoes the prompt)."""
    parameters = {
        "prompt": {"messages": GREETING, "template_format": "curly", "llm_config": {"model": "mock/echo"}}
    }
    created = tenant.client.post(
        "/api/simple/applications/",
        {"application": {"slug": f"greeter-{uuid.uuid4().hex[:6]}", "data": {"parameters": parameters}}},
    ).ok()["application"]
    return dict(created)


def schedule_body(revision_id: str, **data: Any) -> dict[str, Any]:
    return {
        "schedule": {
            "name": "nightly",
            "data": {
                "schedule": "0 2 * * *",
                "timezone": "Europe/Berlin",
                "inputs_fields": {"name": "$.event.event_type"},
                "references": {"application_revision": {"id": revision_id}},
                **data,
            },
        }
    }


def deliveries(tenant: Tenant, **query: Any) -> list[dict[str, Any]]:
    answer = tenant.client.post("/api/triggers/deliveries/query", {"delivery": query}).ok()
    return list(answer["deliveries"])


def test_schedules_are_validated_at_create_in_their_time_zone_and_window(tenant: Tenant) -> None:
    api = tenant.client
    revision_id = greeter(tenant)["revision_id"]
    # GIVEN a nightly 02:00 schedule in Berlin, starting in a week and ending a month later
    start = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    end = start + timedelta(days=30)
    body = schedule_body(revision_id, start_time=start.isoformat(), end_time=end.isoformat())
    # WHEN it is created
    created = api.post("/api/triggers/schedules/", body).ok()["schedule"]
    # THEN its first tick is 02:00 Berlin time (01:00 UTC in winter) on or after the start
    first = datetime.fromisoformat(created["next_tick_at"])
    assert first >= start and first < start + timedelta(days=1)
    assert first.astimezone(ZoneInfo("Europe/Berlin")).hour == 2
    assert created["flags"]["is_active"] is True and created["data"]["timezone"] == "Europe/Berlin"

    # AND a bad cron expression, time zone or window is a 400 that names it
    for data, named in (
        ({"schedule": "61 * * * *"}, "61 * * * *"),
        ({"schedule": "* * * *"}, "5-field"),
        ({"schedule": "0 0 31 2 *"}, "never fires"),
        ({"timezone": "Mars/Olympus"}, "Mars/Olympus"),
        ({"start_time": end.isoformat(), "end_time": start.isoformat()}, "end_time"),
        ({"inputs_fields": {"name": "$..x"}}, "inputs_fields.name"),
        ({"references": None}, "name what to run"),
    ):
        refused = api.post("/api/triggers/schedules/", schedule_body(revision_id, **data))
        assert refused.status == 400, (data, refused.body)
        assert named in refused.body["message"], (data, refused.body)

    # AND it can be stopped (no next tick), started again, edited, queried and deleted
    schedule_id = created["id"]
    stopped = api.post(f"/api/triggers/schedules/{schedule_id}/stop").ok()["schedule"]
    assert stopped["flags"]["is_active"] is False and stopped["next_tick_at"] is None
    started = api.post(f"/api/triggers/schedules/{schedule_id}/start").ok()["schedule"]
    assert started["next_tick_at"] == created["next_tick_at"]
    edited = api.put(
        f"/api/triggers/schedules/{schedule_id}", schedule_body(revision_id, schedule="*/10 * * * *")
    ).ok()["schedule"]
    assert edited["data"]["schedule"] == "*/10 * * * *"
    listed = api.post("/api/triggers/schedules/query", {"schedule": {"name": "nightly"}}).ok()
    assert [s["id"] for s in listed["schedules"]] == [schedule_id]
    assert api.delete(f"/api/triggers/schedules/{schedule_id}").ok()["schedule"]["id"] == schedule_id
    assert api.get(f"/api/triggers/schedules/{schedule_id}").status == 404


def test_a_due_tick_fires_once_however_often_the_cron_runs_and_runs_the_application(
    tenant: Tenant, own_queues: dict[str, str], lambda_context: LambdaContext
) -> None:
    from sqlalchemy import update

    from lamina.db.unit_of_work import unit_of_work
    from lamina.triggers.dispatch import fire_due_schedules
    from lamina.triggers.models import TriggerSchedule

    api = tenant.client
    revision_id = greeter(tenant)["revision_id"]
    # GIVEN a five-minute schedule whose tick at 10:05 is due, and which missed the two ticks after it
    created = api.post(
        "/api/triggers/schedules/", schedule_body(revision_id, schedule="*/5 * * * *", timezone="UTC")
    ).ok()["schedule"]
    schedule_id = uuid.UUID(created["id"])
    due = datetime(2026, 11, 28, 10, 5, tzinfo=UTC)
    now = datetime(2026, 11, 28, 10, 17, 30, tzinfo=UTC)

    def make_due() -> None:
        with unit_of_work() as session:
            session.execute(
                update(TriggerSchedule).where(TriggerSchedule.id == schedule_id).values(next_tick_at=due)
            )

    make_due()
    # WHEN the cron's due_triggers runs twice at the same moment, and once more after the schedule's state
    # was rolled back to the same due tick (a cron invocation retried on stale state)
    first = fire_due_schedules(now)
    second = fire_due_schedules(now)
    make_due()
    third = fire_due_schedules(now)
    # THEN one delivery exists, for the latest due tick (10:15: the missed 10:05 and 10:10 are not replayed)
    assert first["fired"] >= 1 and first["missed_ticks_skipped"] >= 2
    assert second["fired"] == 0 and third["fired"] == 0
    logged = deliveries(tenant, schedule_id=str(schedule_id))
    assert [d["event_id"] for d in logged] == ["2026-11-28T10:15:00+00:00"]
    assert logged[0]["status"]["message"] == "pending"
    fetched = api.get(f"/api/triggers/schedules/{schedule_id}").ok()["schedule"]
    assert fetched["last_tick_at"].startswith("2026-11-28T10:15")
    assert datetime.fromisoformat(fetched["next_tick_at"]) == datetime(2026, 11, 28, 10, 20, tzinfo=UTC)

    # AND the triggers worker runs it once (its message handled twice: an SQS redelivery)
    event = receive_as_lambda_event(own_queues["triggers"], expected=1)
    assert len(event["Records"]) == 1
    worker = load_handler_module("workers", "triggers")
    assert worker.handler(event, lambda_context) == {"batchItemFailures": []}
    assert worker.handler(event, lambda_context) == {"batchItemFailures": []}
    done = api.get(f"/api/triggers/deliveries/{logged[0]['id']}").ok()["delivery"]
    assert done["status"]["message"] == "success", done
    assert done["data"]["inputs"] == {"name": "triggers.schedule.ticked"}
    assert done["data"]["result"]["outputs"] == "Hello triggers.schedule.ticked"


def test_an_event_trigger_runs_its_application_once_even_when_the_event_is_redelivered(
    tenant: Tenant, own_queues: dict[str, str], lambda_context: LambdaContext
) -> None:
    api = tenant.client
    app = greeter(tenant)
    # GIVEN an event trigger on committed revisions whose message is "ship it", mapping the committed
    # version and message into the greeter's `name`, and one in test mode
    subscription = api.post(
        "/api/triggers/subscriptions/",
        {
            "subscription": {
                "name": "greet on commit",
                "data": {
                    "event_key": "applications.revision.*",
                    "filters": {"$.payload.message": "ship it"},
                    "inputs_fields": {"name": "$.payload.message", "version": "$.payload.version"},
                    "references": {"application_revision": {"id": app["revision_id"]}},
                },
            }
        },
    ).ok()["subscription"]
    api.post(
        "/api/triggers/subscriptions/",
        {
            "subscription": {
                "data": {"event_key": "applications.revision.committed"},
                "flags": {"is_test": True},
            }
        },
    ).ok()
    # AND two commits: one the filter keeps, one it does not
    for message in ("ship it", "wip"):
        api.post(
            "/api/applications/revisions/commit",
            {
                "application_revision": {
                    "application_variant_id": app["variant_id"],
                    "message": message,
                    "data": {
                        "parameters": {"prompt": {"messages": GREETING, "llm_config": {"model": "mock/echo"}}}
                    },
                }
            },
        ).ok()
    events = receive_as_lambda_event(own_queues["events"], expected=3)
    assert len(events["Records"]) >= 3
    events_worker = load_handler_module("workers", "events")

    # WHEN the events worker handles the batch twice (SQS redelivers it)
    assert events_worker.handler(events, lambda_context) == {"batchItemFailures": []}
    assert events_worker.handler(events, lambda_context) == {"batchItemFailures": []}
    # AND the triggers worker runs what it staged, twice over as well
    staged = receive_as_lambda_event(own_queues["triggers"], expected=1)
    triggers_worker = load_handler_module("workers", "triggers")
    assert triggers_worker.handler(staged, lambda_context) == {"batchItemFailures": []}
    assert triggers_worker.handler(staged, lambda_context) == {"batchItemFailures": []}

    # THEN the "ship it" commit ran the application exactly once, with the mapped inputs
    ran = deliveries(tenant, subscription_id=subscription["id"])
    assert len(ran) == 1 and len(staged["Records"]) == 1
    assert ran[0]["status"] == {**ran[0]["status"], "code": "200", "message": "success"}
    assert ran[0]["data"]["inputs"] == {"name": "ship it", "version": 2}
    assert ran[0]["data"]["result"]["outputs"] == "Hello ship it"
    assert ran[0]["data"]["result"]["trace_id"]
    # AND the test-mode trigger recorded every commit (the application's first revision too), running nothing
    tests = [d for d in deliveries(tenant) if d["data"].get("is_test")]
    assert len(tests) == 3 and {d["status"]["message"] for d in tests} == {"skipped"}
    # AND the event log has the events once each
    logged = api.post("/api/events/query", {"event": {"event_type": "applications.revision.committed"}}).ok()[
        "events"
    ]
    assert [e["attributes"].get("message") for e in logged] == ["wip", "ship it", "initial"]


def test_evaluation_triggers_request_a_run_and_bad_subscriptions_are_400s(
    tenant: Tenant, own_queues: dict[str, str], lambda_context: LambdaContext
) -> None:
    import json

    from lamina.db.unit_of_work import unit_of_work
    from lamina.queues.envelope import Envelope
    from lamina.triggers.dispatch import fan_out_event

    api = tenant.client
    # GIVEN an event trigger that starts an evaluation run when a secret is created (any event would do)
    run = {"testset_steps": {"t": "x"}, "application_steps": {}, "evaluator_steps": {}}
    subscription = api.post(
        "/api/triggers/subscriptions/",
        {"subscription": {"data": {"event_key": "secrets.secret.created", "evaluation": run}}},
    ).ok()["subscription"]
    # WHEN the event fans out twice (a redelivery that got past the inbox) and the delivery runs
    envelope = Envelope(
        type="secrets.secret.created",
        project_id=uuid.UUID(tenant.project_id),
        payload={"secret_id": str(uuid.uuid4()), "name": "openai"},
    )
    with unit_of_work() as session:
        first = fan_out_event(envelope, session)
        second = fan_out_event(envelope, session)
    assert len(first) == 1 and second == []
    staged = receive_as_lambda_event(own_queues["triggers"], expected=1)
    load_handler_module("workers", "triggers").handler(staged, lambda_context)
    # THEN the delivery is "dispatched" and one evaluations.runs.requested command names it and the run
    delivery = deliveries(tenant, subscription_id=subscription["id"])[0]
    assert delivery["status"]["message"] == "dispatched" and delivery["id"] == str(first[0])
    requested = [
        json.loads(record["body"])
        for record in receive_as_lambda_event(own_queues["evaluations"], expected=1)["Records"]
    ]
    assert [(r["type"], r["payload"]) for r in requested] == [
        (
            "evaluations.runs.requested",
            {
                "project_id": tenant.project_id,
                "trigger_id": subscription["id"],
                "delivery_id": delivery["id"],
                "run": run,
            },
        )
    ]

    # AND a delivery staged before its trigger was stopped is skipped, not run
    later = envelope.model_copy(update={"id": uuid.uuid4()})
    with unit_of_work() as session:
        assert len(fan_out_event(later, session)) == 1
    api.post(f"/api/triggers/subscriptions/{subscription['id']}/stop").ok()
    load_handler_module("workers", "triggers").handler(
        receive_as_lambda_event(own_queues["triggers"], expected=1), lambda_context
    )
    statuses = [d["status"]["message"] for d in deliveries(tenant, subscription_id=subscription["id"])]
    assert statuses == ["skipped", "dispatched"]

    # AND bad subscriptions are refused with a message naming what is wrong
    for data, named in (
        ({"event_key": "Not An Event!", "evaluation": run}, "data.event_key"),
        ({"event_key": "x.y.z", "filters": {"payload.x": 1}, "evaluation": run}, "data.filters"),
        ({"event_key": "x.y.z"}, "name what to run"),
        ({"event_key": "x.y.z", "references": {"testset": {"slug": "t"}}}, "references.testset"),
    ):
        refused = api.post("/api/triggers/subscriptions/", {"subscription": {"data": data}})
        assert refused.status in (400, 422), (data, refused.body)
        assert named in refused.body["message"], (data, refused.body)
