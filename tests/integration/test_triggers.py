"""Triggers end to end: schedules validated and fired once per tick by the cron, event triggers running an
application revision (the built-in `mock` model) once per event, and the delivery log. Real Postgres, Redis
and SQS (moto)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.fake_openai import FakeOpenAI, fake_openai_server
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


def greet_on_ship_it(app: dict[str, Any]) -> dict[str, Any]:
    """An event trigger on the greeter's commits whose message is "ship it", mapping the committed message and
    version into the greeter's inputs."""
    return {
        "name": "greet on commit",
        "data": {
            "event_key": "applications.revision.*",
            "filters": {"$.payload.message": "ship it"},
            "inputs_fields": {"name": "$.payload.message", "version": "$.payload.version"},
            "references": {"application_revision": {"id": app["revision_id"]}},
        },
    }


def commit(tenant: Tenant, app: dict[str, Any], message: str) -> None:
    parameters = {"prompt": {"messages": GREETING, "llm_config": {"model": "mock/echo"}}}
    tenant.client.post(
        "/api/applications/revisions/commit",
        {
            "application_revision": {
                "application_variant_id": app["variant_id"],
                "message": message,
                "data": {"parameters": parameters},
            }
        },
    ).ok()


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
    subscription = api.post("/api/triggers/subscriptions/", {"subscription": greet_on_ship_it(app)}).ok()[
        "subscription"
    ]
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
        commit(tenant, app, message)
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


def test_a_subscription_is_tried_before_it_is_saved_and_a_revoked_one_fires_on_nothing(
    tenant: Tenant, own_queues: dict[str, str]
) -> None:
    api = tenant.client
    app = greeter(tenant)
    commit(tenant, app, "ship it")
    commit(tenant, app, "wip")
    fan_out_events(own_queues["events"])
    body = greet_on_ship_it(app)

    # WHEN an unsaved subscription is tested
    tried = api.post("/api/triggers/subscriptions/test", {"subscription": body}).ok()
    # THEN it shows the delivery it would make on the latest event it matches (the filter skips "wip"),
    # recorded and not run, and the subscription itself was not kept
    assert tried["count"] == 1
    assert tried["delivery"]["data"]["inputs"] == {"name": "ship it", "version": 2}
    assert (
        tried["delivery"]["data"]["is_test"] is True and tried["delivery"]["status"]["message"] == "skipped"
    )
    assert api.get("/api/triggers/subscriptions/").ok()["count"] == 0
    assert [d["id"] for d in deliveries(tenant)] == [tried["delivery"]["id"]]
    # AND one that matches no stored event answers count 0
    unmatched = {**body, "data": {**body["data"], "event_key": "evaluations.run.finished"}}
    assert api.post("/api/triggers/subscriptions/test", {"subscription": unmatched}).ok()["count"] == 0

    # GIVEN the subscription saved, then revoked
    saved = api.post("/api/triggers/subscriptions/", {"subscription": body}).ok()["subscription"]
    revoked = api.post(f"/api/triggers/subscriptions/{saved['id']}/revoke", {}).ok()["subscription"]
    assert revoked["flags"] == {**revoked["flags"], "is_active": True, "is_valid": False}
    # WHEN a matching event happens
    commit(tenant, app, "ship it")
    fan_out_events(own_queues["events"])
    # THEN it fired on nothing
    assert deliveries(tenant, subscription_id=saved["id"]) == []
    # AND once refreshed it is valid again and fires on the next one (versions: 1 initial, 2 and 3 above, 4
    # while revoked)
    refreshed = api.post(f"/api/triggers/subscriptions/{saved['id']}/refresh", {}).ok()["subscription"]
    assert refreshed["flags"]["is_valid"] is True
    commit(tenant, app, "ship it")
    fan_out_events(own_queues["events"])
    assert [d["data"]["inputs"]["version"] for d in deliveries(tenant, subscription_id=saved["id"])] == [5]


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


@pytest.fixture
def fake_provider(tenant: Tenant) -> Iterator[FakeOpenAI]:
    """An OpenAI-compatible provider on loopback, this tenant's `fakeai` key pointing at it."""
    with fake_openai_server() as server:
        settings = {"provider": "openai", "api_base": server.api_base, "api_key": "sk-fake-triggers-0001"}
        tenant.client.post(
            "/api/secrets/", {"secret": {"name": "fakeai", "kind": "custom", "value": json.dumps(settings)}}
        ).ok()
        yield server


def provider_application(tenant: Tenant, model: str) -> str:
    """An application on the fake provider (its prompt greets `name`)."""
    prompt = {"messages": GREETING, "template_format": "curly", "llm_config": {"model": model}}
    created = tenant.client.post(
        "/api/simple/applications/",
        {"application": {"slug": f"app-{uuid.uuid4().hex[:6]}", "data": {"parameters": {"prompt": prompt}}}},
    ).ok()["application"]
    return str(created["revision_id"])


def fan_out_events(queue_url: str) -> None:
    """Run the events worker over whatever the events queue holds, until it is empty."""
    from lamina import aws

    sqs = aws.client("sqs")
    worker = load_handler_module("workers", "events")
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
        "Messages", []
    ):
        records = [
            {"messageId": m["MessageId"], "body": m["Body"], "attributes": {}, "eventSourceARN": queue_url}
            for m in messages
        ]
        assert worker.handler({"Records": records}, LambdaContext()) == {"batchItemFailures": []}
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )


def run_triggers_until_settled(
    queue_url: str, delivery_ids: list[str], tenant: Tenant
) -> list[dict[str, Any]]:
    """Lambda's poller for the triggers queue: invoke, delete what succeeded, until no delivery is pending."""
    from lamina import aws

    sqs = aws.client("sqs")
    worker = load_handler_module("workers", "triggers")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        settled = [tenant.client.get(f"/api/triggers/deliveries/{i}").ok()["delivery"] for i in delivery_ids]
        if all(d["status"]["message"] != "pending" for d in settled):
            return settled
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        if not messages:
            continue
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "body": m["Body"],
                    "attributes": {},
                    "eventSourceARN": queue_url,
                }
                for m in messages
            ]
        }
        failed = {f["itemIdentifier"] for f in worker.handler(event, LambdaContext())["batchItemFailures"]}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)],
            )
    raise AssertionError("trigger deliveries still pending after 60 s")


def test_transient_failures_are_retried_with_backoff_and_deterministic_ones_fail_once(
    tenant: Tenant, own_queues: dict[str, str], fake_provider: FakeOpenAI
) -> None:
    from lamina import state
    from lamina.db.unit_of_work import unit_of_work
    from lamina.services.llm import DEFAULT_MAX_RETRIES
    from lamina.triggers.models import TriggerDelivery
    from lamina.triggers.worker import TRIGGER_MAX_ATTEMPTS

    # Retries scaled for the test (LAMINA_TRIGGER_BACKOFF_SCALE): the ~15 minute schedule in about a second.
    state.configure(state.current().settings.model_copy(update={"trigger_backoff_scale": 0.001}))
    api = tenant.client
    # GIVEN event triggers, each on secrets of its own name: an application on a provider that will throttle,
    # one whose provider refuses its key (401), and one on a provider that is down (500)
    targets = {
        "throttled": provider_application(tenant, "fakeai/fake-model"),
        "refused": provider_application(tenant, "fakeai/fake-model-401"),
        "down": provider_application(tenant, "fakeai/fake-model-500"),
    }
    fan_out_events(own_queues["events"])  # the setup's own events (the provider key's secret among them)
    for name, revision_id in targets.items():
        body = {
            "subscription": {
                "name": name,
                "data": {
                    "event_key": "secrets.secret.created",
                    "filters": {"$.payload.name": name},
                    "inputs_fields": {"name": "$.payload.name"},
                    "references": {"application_revision": {"id": revision_id}},
                },
            }
        }
        api.post("/api/triggers/subscriptions/", body).ok()

    def trigger(name: str) -> dict[str, Any]:
        api.post("/api/secrets/", {"secret": {"name": name, "kind": "custom", "value": "{}"}}).ok()
        fan_out_events(own_queues["events"])
        (staged,) = [d for d in deliveries(tenant) if d["data"]["inputs"] == {"name": name}]
        (settled,) = run_triggers_until_settled(own_queues["triggers"], [staged["id"]], tenant)
        return settled

    def attempts_of(delivery: dict[str, Any]) -> int:
        with unit_of_work() as session:
            row = session.get(TriggerDelivery, uuid.UUID(delivery["id"]))
            assert row is not None
            return row.attempts

    # WHEN the provider throttles the first two runs (each run: a request and its in-call retries)
    fake_provider.rate_limit_for(requests=2 * (1 + DEFAULT_MAX_RETRIES))
    recovered = trigger("throttled")
    # THEN the run was retried through the queue and succeeded on its third attempt
    assert recovered["status"]["message"] == "success", recovered
    assert (
        recovered["data"]["result"]["outputs"] == "fake says: Hello throttled"
        and "error" not in recovered["data"]
    )
    assert attempts_of(recovered) == 3
    # AND a refused key fails at once (running it again would fail the same way)
    failed_once = trigger("refused")
    assert failed_once["status"]["message"] == "failure" and "401" in failed_once["data"]["error"]
    assert attempts_of(failed_once) == 1
    # AND a provider that stays down is given up after every attempt, recorded as failed
    gave_up = trigger("down")
    assert gave_up["status"]["message"] == "failure" and "500" in gave_up["data"]["error"]
    assert attempts_of(gave_up) == TRIGGER_MAX_ATTEMPTS


def test_a_trigger_whose_runs_cause_its_own_event_stops_at_the_depth_limit(
    tenant: Tenant, own_queues: dict[str, str], lambda_context: LambdaContext
) -> None:
    from lamina import aws
    from lamina.db.unit_of_work import unit_of_work
    from lamina.events.outbox import stage_event
    from lamina.queues.causation import handling
    from lamina.queues.envelope import Envelope
    from lamina.triggers.dispatch import TRIGGER_MAX_DEPTH

    api = tenant.client
    # GIVEN an event trigger on secret creation that starts an evaluation run
    run = {"testset_steps": {"t": "x"}, "application_steps": {}, "evaluator_steps": {}}
    subscription = api.post(
        "/api/triggers/subscriptions/",
        {"subscription": {"data": {"event_key": "secrets.secret.created", "evaluation": run}}},
    ).ok()["subscription"]
    fan_out_events(own_queues["events"])  # the setup's own events
    events_worker = load_handler_module("workers", "events")
    triggers_worker = load_handler_module("workers", "triggers")
    sqs = aws.client("sqs")

    def take(queue: str) -> list[dict[str, Any]]:
        """Receive what `queue` holds and delete it (as Lambda does after a successful invocation)."""
        messages = sqs.receive_message(
            QueueUrl=own_queues[queue], MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=own_queues[queue], ReceiptHandle=message["ReceiptHandle"])
        return messages

    def one_event(queue: str) -> Envelope:
        messages = take(queue)
        assert len(messages) == 1, messages
        return Envelope.from_body(messages[0]["Body"])

    # WHEN a user's request causes the event (depth 0), and the trigger's run, handled by the triggers worker,
    # causes the same event again, round after round (as a run that creates a secret would)
    with unit_of_work() as session:
        stage_event(
            session,
            "secrets.secret.created",
            {"secret_id": str(uuid.uuid4()), "name": "seed"},
            project_id=uuid.UUID(tenant.project_id),
        )
    depths = []
    for _ in range(TRIGGER_MAX_DEPTH + 1):
        event = one_event("events")
        depths.append(event.depth)
        assert events_worker.handler(receive_wrapped(event), lambda_context) == {"batchItemFailures": []}
        commands = take("triggers")
        if not commands:
            break
        command = receive_wrapped(Envelope.from_body(commands[0]["Body"]))
        assert triggers_worker.handler(command, lambda_context) == {"batchItemFailures": []}
        requested = one_event("evaluations")
        # the run's own effects carry its depth: here, the same event caused from inside the run
        with unit_of_work() as session, handling(requested.depth):
            stage_event(
                session,
                "secrets.secret.created",
                {"secret_id": str(uuid.uuid4()), "name": f"caused-{requested.depth}"},
                project_id=uuid.UUID(tenant.project_id),
            )
    # THEN each round was one trigger run deeper, and the run past the limit was recorded, not run
    assert depths == list(range(TRIGGER_MAX_DEPTH + 1))
    logged = deliveries(tenant, subscription_id=subscription["id"])
    assert len(logged) == TRIGGER_MAX_DEPTH + 1
    statuses = sorted((d["data"]["depth"], d["status"]["message"], d["status"]["code"]) for d in logged)
    assert statuses[:-1] == [(n, "dispatched", "202") for n in range(1, TRIGGER_MAX_DEPTH + 1)]
    assert statuses[-1] == (TRIGGER_MAX_DEPTH + 1, "skipped", "508")
    stopped = max(logged, key=lambda d: d["data"]["depth"])
    assert stopped["data"]["error"].startswith(
        f"loop guard: this event comes from a chain of {TRIGGER_MAX_DEPTH}"
    )


def receive_wrapped(envelope: Any) -> dict[str, Any]:
    """One envelope as the SQS event Lambda hands a worker."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "body": envelope.to_body(),
                "attributes": {},
                "eventSourceARN": "",
            }
        ]
    }
