"""Schedule arithmetic: 5-field cron expressions in a time zone, bounded by a start and an end time.

croniter does the calendar work (month lengths, day-of-week, DST in the schedule's zone); this module decides
which tick is due and refuses, with a message naming the field, what croniter would misread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lamina.triggers.errors import InvalidScheduleError

CRON_FIELDS = 5
DEFAULT_TIMEZONE = "UTC"
MAX_CRON_LENGTH = 200
_ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Cadence:
    """A validated schedule: when it fires, in which zone, within which window ([start, end))."""

    cron: str
    timezone: str
    start_time: datetime | None = None
    end_time: datetime | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def next_after(self, moment: datetime) -> datetime | None:
        """The first tick strictly after `moment` (UTC) within the window; None when the window is over."""
        from croniter import croniter

        if self.start_time is not None and moment < self.start_time:
            # A tick exactly at the start time counts: search from just before it.
            moment = self.start_time.replace(microsecond=0) - _ONE_SECOND
        local = moment.astimezone(self.zone)
        tick: datetime = croniter(self.cron, local).get_next(datetime)
        tick = tick.astimezone(UTC)
        if self.end_time is not None and tick >= self.end_time:
            return None
        return tick

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        """The last tick at or before `moment` (UTC) and not before the start time; None when there is none."""
        from croniter import croniter

        local = moment.astimezone(self.zone)
        # get_prev is strictly before its start: start one second later so `moment` itself may be the tick.
        tick: datetime = croniter(self.cron, local + _ONE_SECOND).get_prev(datetime)
        tick = tick.astimezone(UTC)
        if self.start_time is not None and tick < self.start_time:
            return None
        return tick


def _aware(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A bound without an offset is read in the schedule's own time zone; returned in UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def cadence(
    cron: str, timezone: str | None, start_time: datetime | None = None, end_time: datetime | None = None
) -> Cadence:
    """The schedule, validated: InvalidScheduleError (400) names what is wrong."""
    from croniter import croniter

    expression = " ".join((cron or "").split())
    if len(expression) > MAX_CRON_LENGTH or len(expression.split(" ")) != CRON_FIELDS:
        raise InvalidScheduleError(
            f"data.schedule: {cron!r} is not a 5-field cron expression (minute hour day-of-month month "
            f"day-of-week, e.g. '*/15 * * * *')"
        )
    if not croniter.is_valid(expression):
        raise InvalidScheduleError(f"data.schedule: {cron!r} is not a valid cron expression")
    name = timezone or DEFAULT_TIMEZONE
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidScheduleError(
            f"data.timezone: {name!r} is not an IANA time zone (e.g. 'Europe/Berlin')"
        ) from None
    start, end = _aware(start_time, zone), _aware(end_time, zone)
    if start is not None and end is not None and end <= start:
        raise InvalidScheduleError("data.end_time: must be after data.start_time")
    result = Cadence(expression, name, start, end)
    try:
        result.next_after(start or datetime.now(UTC))
    except (ValueError, KeyError, OverflowError) as error:  # e.g. '0 0 31 2 *' never fires
        raise InvalidScheduleError(f"data.schedule: {cron!r} never fires ({error})") from None
    return result
