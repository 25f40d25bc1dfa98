"""Schedule arithmetic and the inputs mapping, without a database: time zones across DST, windows, catch-up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lamina.triggers.errors import InvalidMappingError, InvalidScheduleError
from lamina.triggers.mapping import parse_path, resolve, resolve_inputs, validate_template
from lamina.triggers.ticks import cadence


def test_ticks_follow_the_schedules_time_zone_across_daylight_saving() -> None:
    # GIVEN 09:00 on weekdays in New York; WHEN the next ticks are computed before and after the DST change
    # (2026-11-01 in the US); THEN they stay at 09:00 local: 13:00 UTC before, 14:00 UTC after
    nine = cadence("0 9 * * 1-5", "America/New_York")
    assert nine.next_after(datetime(2026, 10, 30, 12, 0, tzinfo=UTC)) == datetime(
        2026, 10, 30, 13, 0, tzinfo=UTC
    )
    assert nine.next_after(datetime(2026, 10, 30, 13, 0, tzinfo=UTC)) == datetime(
        2026, 11, 2, 14, 0, tzinfo=UTC
    )
    # AND the latest tick at or before a moment includes the moment itself
    assert nine.latest_at_or_before(datetime(2026, 11, 2, 14, 0, tzinfo=UTC)) == datetime(
        2026, 11, 2, 14, 0, tzinfo=UTC
    )


def test_the_window_bounds_ticks_and_naive_bounds_are_local() -> None:
    # GIVEN every 15 minutes from 10:00 to 11:00 Berlin time (naive bounds: the schedule's zone, UTC+1)
    window = cadence(
        "*/15 * * * *", "Europe/Berlin", datetime(2026, 12, 1, 10, 0), datetime(2026, 12, 1, 11, 0)
    )
    # THEN the first tick is the start itself, and nothing fires at or after the end
    assert window.next_after(datetime(2026, 11, 1, tzinfo=UTC)) == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert window.next_after(datetime(2026, 12, 1, 9, 45, tzinfo=UTC)) is None
    assert window.latest_at_or_before(datetime(2026, 12, 1, 8, 59, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("cron", "timezone", "named"),
    [
        ("*/5 * * *", None, "5-field"),
        ("0 0 * * * *", None, "5-field"),
        ("0 25 * * *", None, "not a valid cron"),
        ("0 0 30 2 *", None, "never fires"),
        ("0 0 * * *", "Atlantis/Capital", "Atlantis/Capital"),
    ],
)
def test_bad_schedules_are_refused_naming_the_field(cron: str, timezone: str | None, named: str) -> None:
    with pytest.raises(InvalidScheduleError, match=named) as refused:
        cadence(cron, timezone)
    assert refused.value.status_code == 400


def test_the_inputs_mapping_reads_paths_and_keeps_literals() -> None:
    context = {
        "payload": {"user": {"name": "Ada", "tags": ["a", "b"]}, "odd key": 1},
        "event": {"event_id": "e1"},
    }
    template = {
        "name": "$.payload.user.name",
        "second": "$.payload.user.tags[1]",
        "first": "$.payload.user.tags.0",
        "odd": '$.payload["odd key"]',
        "missing": "$.payload.nope.deeper",
        "literal": "hello",
        "nested": {"id": "$.event.event_id", "list": ["$.payload.user.name", 3]},
    }
    assert resolve(template, context) == {
        "name": "Ada",
        "second": "b",
        "first": "a",
        "odd": 1,
        "missing": None,
        "literal": "hello",
        "nested": {"id": "e1", "list": ["Ada", 3]},
    }
    # No template: the payload itself; a template mapping to a scalar: under `inputs`
    assert resolve_inputs(None, context) == context["payload"]
    assert resolve_inputs("$.event.event_id", context) == {"inputs": "e1"}
    assert parse_path("$") == []
    with pytest.raises(InvalidMappingError, match=r"data.inputs_fields.x"):
        validate_template({"x": "$.a..b"}, where="data.inputs_fields")
