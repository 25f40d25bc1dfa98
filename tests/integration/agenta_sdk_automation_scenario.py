"""Agenta's own SDK client driving Lamina's webhooks, triggers and events, run by `.venv-agenta/bin/python`:

    agenta_sdk_automation_scenario.py <host> <api_key> <name_prefix> <stored_event_id>

Calls the generated client (`ag.api.webhooks`, `ag.api.triggers`, `ag.api.events`), unmodified: every response
is parsed by the SDK's own models, so a field of the wrong type or a missing required one fails its step. Prints
one JSON object: each step's outcome and every connection tried off loopback (refused), as
agenta_sdk_scenario.py does.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

from agenta_sdk_scenario import OFF_LOOPBACK_ATTEMPTS, _guard_network, _plain

# Lamina's own domain events as a trigger subscription's source (the SDK requires a connection id).
LAMINA_EVENTS_CONNECTION_ID = "00000000-0000-0000-0000-000000000000"


class Steps:
    def __init__(self) -> None:
        self.results: dict[str, dict[str, Any]] = {}

    def __call__(self, step_name: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            value = call(*args, **kwargs)
        except Exception as error:  # the scenario goes on: every step's outcome is reported
            self.results[step_name] = {"ok": False, "error": f"{type(error).__name__}: {error}"[:2000]}
            traceback.print_exc(file=sys.stderr)
            return None
        self.results[step_name] = {"ok": True, "value": _plain(value)}
        return value


def scenario(api: Any, step: Steps, host: str, prefix: str, event_id: str) -> None:
    webhooks, triggers, events = api.webhooks, api.triggers, api.events

    hook = step(
        "webhook_create",
        webhooks.create_webhook_subscription,
        subscription={
            "name": f"{prefix} hook",
            "data": {
                "url": "https://hooks.example.com/lamina",
                "event_types": ["testsets.revisions.committed"],
            },
        },
    )
    hook_id = hook.subscription.id if hook and hook.subscription else None
    step("webhook_fetch", webhooks.fetch_webhook_subscription, hook_id)
    step(
        "webhook_edit",
        webhooks.edit_webhook_subscription,
        hook_id,
        subscription={
            "id": hook_id,
            "name": f"{prefix} hook v2",
            "data": {
                "url": f"{host}/api/health",
                "event_types": [],
                "headers": {"X-Team": "qa", "X-Unset": None},
            },
        },
    )
    step("webhook_query", webhooks.query_webhook_subscriptions, subscription={"name": f"{prefix} hook v2"})
    step("webhook_stop", webhooks.stop_webhook_subscription, hook_id)
    step("webhook_start", webhooks.start_webhook_subscription, hook_id)
    step("webhook_test", webhooks.test_webhook_subscription, subscription_id=hook_id)
    step(
        "webhook_deliveries",
        webhooks.query_webhook_deliveries,
        delivery={"subscription_id": hook_id, "status": {"code": "failed"}},
    )
    step(
        "webhook_delivery_create",
        webhooks.create_webhook_delivery,
        delivery={"status": {}, "subscription_id": hook_id, "event_id": event_id},
    )
    step("webhook_delete", webhooks.delete_webhook_subscription, hook_id)

    reference = {"slug": f"{prefix}-app", "version": "3"}
    subscription = step(
        "trigger_subscription_create",
        triggers.create_trigger_subscription,
        subscription={
            "name": f"{prefix} on commit",
            "connection_id": LAMINA_EVENTS_CONNECTION_ID,
            "data": {
                "event_key": "testsets.revisions.committed",
                "references": {"application": reference},
                "inputs_fields": {"country": "$.payload.name"},
            },
        },
    )
    subscription_id = subscription.subscription.id if subscription and subscription.subscription else None
    step("trigger_subscription_fetch", triggers.fetch_trigger_subscription, subscription_id)
    step("trigger_subscription_list", triggers.list_trigger_subscriptions)
    step(
        "trigger_subscription_query",
        triggers.query_trigger_subscriptions,
        subscription={"connection_id": LAMINA_EVENTS_CONNECTION_ID},
    )
    step(
        "trigger_subscription_test",
        triggers.test_trigger_subscription,
        subscription={
            "connection_id": LAMINA_EVENTS_CONNECTION_ID,
            "data": {"event_key": "secrets.*", "inputs_fields": {"country": "$.payload.name"}},
        },
    )
    step("trigger_subscription_revoke", triggers.revoke_trigger_subscription, subscription_id)
    step("trigger_subscription_refresh", triggers.refresh_trigger_subscription, subscription_id)
    step("trigger_subscription_stop", triggers.stop_trigger_subscription, subscription_id)
    step("trigger_subscription_start", triggers.start_trigger_subscription, subscription_id)

    schedule = step(
        "trigger_schedule_create",
        triggers.create_trigger_schedule,
        schedule={
            "name": f"{prefix} nightly",
            "data": {
                "event_key": "triggers.schedule.ticked",
                "schedule": "0 3 * * *",
                "references": {"application": reference},
            },
        },
    )
    schedule_id = schedule.schedule.id if schedule and schedule.schedule else None
    step("trigger_schedule_fetch", triggers.fetch_trigger_schedule, schedule_id)
    step("trigger_schedule_list", triggers.list_trigger_schedules)
    step("trigger_schedule_query", triggers.query_trigger_schedules, schedule={"name": f"{prefix} nightly"})
    step("trigger_schedule_stop", triggers.stop_trigger_schedule, schedule_id)
    step("trigger_deliveries_list", triggers.list_trigger_deliveries)
    step("trigger_deliveries_query", triggers.query_trigger_deliveries, delivery={})
    step("trigger_subscription_delete", triggers.delete_trigger_subscription, subscription_id)

    step("events_query", events.query_events_rpc, event={"event_type": "webhooks.subscriptions.tested"})


def main() -> None:
    host, api_key, prefix, event_id = sys.argv[1:]
    _guard_network()
    import agenta as ag

    # `ag.api` after `ag.init` is the generated client as users get it: it sends the bare key as the whole
    # Authorization header, which Lamina accepts as an API key.
    ag.init(host=host, api_key=api_key)
    api = ag.api
    step = Steps()
    scenario(api, step, host, prefix, event_id)
    print(json.dumps({"steps": step.results, "off_loopback": OFF_LOOPBACK_ATTEMPTS}, default=str))


if __name__ == "__main__":
    main()
