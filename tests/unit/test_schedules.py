"""EventBridge schedule expressions: AWS's cron dialect, rates, and the scheduler's delivery semantics."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lamina_local.invoker import CallableInvoker, FakeLambdaContext
from lamina_local.model import ScheduleSpec
from lamina_local.schedules import ScheduleExpression, ScheduleExpressionError, Scheduler


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def next_fires(expression: str, after: str, count: int = 3) -> list[str]:
    parsed = ScheduleExpression.parse(expression)
    moment = at(after)
    fires = []
    for _ in range(count):
        found = parsed.next_after(moment, anchor=at(after))
        assert found is not None
        fires.append(found.strftime("%Y-%m-%d %H:%M %a"))
        moment = found
    return fires


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # every 5 minutes from minute 0; strictly after the given moment
        ("cron(0/5 * * * ? *)", "2024-01-01T10:05:00", ["2024-01-01 10:10 Mon", "2024-01-01 10:15 Mon"]),
        # AWS weekdays: 1 = SUN, so 2-6 is MON-FRI; Friday evening rolls over the weekend
        ("cron(0 9 ? * 2-6 *)", "2024-03-08T10:00:00", ["2024-03-11 09:00 Mon", "2024-03-12 09:00 Tue"]),
        ("cron(30 8 ? * MON-FRI *)", "2024-03-08T10:00:00", ["2024-03-11 08:30 Mon", "2024-03-12 08:30 Tue"]),
        # L in day-of-month: last day, leap February included
        ("cron(0 0 L * ? *)", "2024-01-31T00:00:00", ["2024-02-29 00:00 Thu", "2024-03-31 00:00 Sun"]),
        # LW: last weekday (2024-03-31 is a Sunday -> Friday 29th; 2024-08-31 a Saturday -> Friday 30th)
        ("cron(0 12 LW 3,8 ? *)", "2024-01-01T00:00:00", ["2024-03-29 12:00 Fri", "2024-08-30 12:00 Fri"]),
        # 1W: the 1st is a Saturday in June 2024 -> Monday the 3rd (never crosses into May)
        ("cron(0 0 1W 6 ? *)", "2024-01-01T00:00:00", ["2024-06-03 00:00 Mon", "2025-06-02 00:00 Mon"]),
        # 6L: last Friday; 3#2: second Tuesday
        ("cron(0 18 ? * 6L *)", "2024-05-01T00:00:00", ["2024-05-31 18:00 Fri", "2024-06-28 18:00 Fri"]),
        ("cron(15 10 ? * 3#2 *)", "2024-01-01T00:00:00", ["2024-01-09 10:15 Tue", "2024-02-13 10:15 Tue"]),
        # the year field ends the schedule; month names and lists
        (
            "cron(0 0 1 JAN,JUL ? 2025-2026)",
            "2024-06-01T00:00:00",
            ["2025-01-01 00:00 Wed", "2025-07-01 00:00 Tue"],
        ),
        # wrapping range FRI-MON
        ("cron(0 0 ? * FRI-MON *)", "2024-03-05T00:00:00", ["2024-03-08 00:00 Fri", "2024-03-09 00:00 Sat"]),
        ("rate(5 minutes)", "2024-01-01T10:00:30", ["2024-01-01 10:05 Mon", "2024-01-01 10:10 Mon"]),
    ],
)
def test_next_fire_times(expression: str, after: str, expected: list[str]) -> None:
    assert next_fires(expression, after, len(expected)) == expected


def test_a_bounded_year_range_runs_out() -> None:
    expression = ScheduleExpression.parse("cron(0 0 1 1 ? 2025)")
    assert expression.next_after(at("2025-01-01T00:00:00")) is None


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 0 * * * *)",  # one of the day fields must be ?
        "cron(0 0 ? * ? *)",
        "cron(0 0 * * ?)",  # five fields is Unix cron, not AWS
        "cron(60 0 * * ? *)",
        "cron(0 0 ? * 8 *)",
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(0 minutes)",
        "every 5 minutes",
    ],
)
def test_invalid_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        ScheduleExpression.parse(expression)


def test_fire_now_sends_the_scheduled_event_and_retries_failures_twice() -> None:
    # GIVEN a function that fails twice, then succeeds, and a schedule with constant Input on another one
    attempts: list[dict[str, Any]] = []

    def flaky(event: dict[str, Any], context: FakeLambdaContext) -> str:
        attempts.append(event)
        if len(attempts) < 3:
            raise RuntimeError("not yet")
        return "done"

    invoker = CallableInvoker({"CronFunction": flaky, "Other": lambda event, context: event})
    schedules = [
        ScheduleSpec(function="CronFunction", name="Watchdog", expression="rate(1 minute)"),
        ScheduleSpec(
            function="Other", name="Retention", expression="cron(0 3 * * ? *)", input='{"job": "x"}'
        ),
    ]

    async def scenario() -> tuple[Any, Any]:
        scheduler = Scheduler(schedules, invoker, stack_name="lamina", retry_delays_s=(0.01, 0.01))
        await scheduler.start()
        try:
            # WHEN each schedule is fired by hand
            first = await scheduler.fire_now("Watchdog")
            second = await scheduler.fire_now("Other.Retention")
        finally:
            await scheduler.stop()
        return first, second

    first, second = asyncio.run(scenario())

    # THEN the third attempt succeeded with the same EventBridge event each time
    assert first is not None and first.ok and len(attempts) == 3
    assert attempts[0] == attempts[2]
    event = attempts[0]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/lamina-CronFunctionWatchdog"]
    # AND the constant Input was delivered verbatim instead of the event
    assert second is not None and json.loads(second.payload) == {"job": "x"}


def test_the_scheduler_fires_on_the_minute_boundary() -> None:
    # GIVEN a clock 0.3 s before a minute boundary and an every-minute cron schedule
    now = datetime.now(UTC)
    offset = now.replace(second=59, microsecond=700_000) - now

    def clock() -> datetime:
        return datetime.now(UTC) + offset

    events: list[dict[str, Any]] = []
    invoker = CallableInvoker({"CronFunction": lambda event, context: events.append(event)})
    schedule = ScheduleSpec(function="CronFunction", name="EveryMinute", expression="cron(* * * * ? *)")

    async def scenario() -> None:
        scheduler = Scheduler([schedule], invoker, clock=clock)
        await scheduler.start()
        try:
            # WHEN the boundary passes
            for _ in range(40):
                if events:
                    break
                await asyncio.sleep(0.05)
        finally:
            await scheduler.stop()

    asyncio.run(scenario())

    # THEN exactly one Scheduled Event fired, stamped with the boundary
    assert len(events) == 1
    boundary = (now + offset + timedelta(seconds=1)).replace(second=0, microsecond=0)
    assert events[0]["time"] == boundary.strftime("%Y-%m-%dT%H:%M:%SZ")
