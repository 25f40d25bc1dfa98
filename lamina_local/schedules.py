"""EventBridge schedule expressions and the local scheduler that fires them at functions.

`rate(...)` and AWS's six-field `cron(...)` (minutes hours day-of-month month day-of-week year, UTC, with
`?`, `L`, `W`, `#`) are parsed here rather than with croniter: AWS numbers weekdays 1=SUN..7=SAT, requires
`?` in one day field, and has a year field, none of which croniter shares.
"""

from __future__ import annotations

import asyncio
import calendar
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lamina_local.events import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, scheduled_event
from lamina_local.invoker import Invoker, InvokeResult
from lamina_local.model import ScheduleSpec

logger = logging.getLogger(__name__)

YEAR_MIN, YEAR_MAX = 1970, 2199
MONTH_NAMES = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
# AWS numbers weekdays 1 = Sunday .. 7 = Saturday.
WEEKDAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
# EventBridge -> Lambda is an asynchronous invocation: Lambda retries a failed event twice.
ASYNC_RETRY_DELAYS_S = (60.0, 120.0)
MAX_SLEEP_S = 30.0  # re-check the clock at least this often (suspend/resume, clock changes)


class ScheduleExpressionError(ValueError):
    pass


def aws_weekday(moment: datetime) -> int:
    """1 = Sunday .. 7 = Saturday."""
    return (moment.weekday() + 1) % 7 + 1


def _number(token: str, names: dict[str, int], low: int, high: int) -> int:
    value = names.get(token.upper()) if not token.isdigit() else int(token)
    if value is None or not low <= value <= high:
        raise ScheduleExpressionError(f"{token!r} is not in {low}-{high}")
    return value


def _values(field_text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """Expand `*`, `a-b` (wrapping past `high`), lists and `/step` into the set of allowed values."""
    names = names or {}
    result: set[int] = set()
    for item in field_text.split(","):
        base, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if step_text and (not step_text.isdigit() or step < 1):
            raise ScheduleExpressionError(f"bad step in {item!r}")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = _number(first, names, low, high), _number(last, names, low, high)
        else:
            start = _number(base, names, low, high)
            end = high if step_text else start
        span = end - start if end >= start else end + (high - low + 1) - start
        for offset in range(0, span + 1, step):
            result.add(low + (start - low + offset) % (high - low + 1))
    return frozenset(result)


@dataclass(frozen=True)
class DayOfMonthRule:
    days: frozenset[int] = frozenset()
    last_day_offset: int | None = None  # L (0) or L-n
    last_weekday: bool = False  # LW
    nearest_weekday_to: tuple[int, ...] = ()  # nW

    def days_in(self, year: int, month: int) -> set[int]:
        length = calendar.monthrange(year, month)[1]
        days = {day for day in self.days if day <= length}
        if self.last_day_offset is not None and length - self.last_day_offset >= 1:
            days.add(length - self.last_day_offset)
        if self.last_weekday:
            day = length
            while calendar.weekday(year, month, day) >= 5:
                day -= 1
            days.add(day)
        for target in self.nearest_weekday_to:
            if target <= length:
                days.add(_nearest_weekday(year, month, target, length))
        return days


def _nearest_weekday(year: int, month: int, target: int, length: int) -> int:
    """`15W`: the weekday nearest the 15th, never crossing into another month."""
    weekday = calendar.weekday(year, month, target)
    if weekday == 5:  # Saturday -> Friday, or Monday the 3rd when the 1st is a Saturday
        return target - 1 if target > 1 else target + 2
    if weekday == 6:  # Sunday -> Monday, or Friday when Sunday is the last day
        return target + 1 if target < length else target - 2
    return target


@dataclass(frozen=True)
class DayOfWeekRule:
    weekdays: frozenset[int] = frozenset()  # 1 = SUN
    last_of: tuple[int, ...] = ()  # "5L": the last Thursday of the month
    nth_of: tuple[tuple[int, int], ...] = ()  # "3#2": (weekday, n) -> the second Tuesday

    def days_in(self, year: int, month: int) -> set[int]:
        length = calendar.monthrange(year, month)[1]
        days: set[int] = set()
        for day in range(1, length + 1):
            weekday = aws_weekday(datetime(year, month, day))
            if weekday in self.weekdays:
                days.add(day)
            if weekday in self.last_of and day + 7 > length:
                days.add(day)
            for wanted, nth in self.nth_of:
                if weekday == wanted and (day - 1) // 7 + 1 == nth:
                    days.add(day)
        return days


def _day_of_month_rule(text: str) -> DayOfMonthRule:
    plain: list[str] = []
    last_offset: int | None = None
    last_weekday = False
    nearest: list[int] = []
    for item in text.split(","):
        upper = item.upper()
        if upper == "LW":
            last_weekday = True
        elif upper == "L":
            last_offset = 0
        elif re.fullmatch(r"L-\d+", upper):
            last_offset = int(upper[2:])
            if last_offset > 30:
                raise ScheduleExpressionError(f"bad offset {item!r}")
        elif re.fullmatch(r"\d+W", upper):
            nearest.append(_number(upper[:-1], {}, 1, 31))
        else:
            plain.append(item)
    days = _values(",".join(plain), 1, 31) if plain else frozenset()
    return DayOfMonthRule(days, last_offset, last_weekday, tuple(nearest))


def _day_of_week_rule(text: str) -> DayOfWeekRule:
    plain: list[str] = []
    last_of: list[int] = []
    nth_of: list[tuple[int, int]] = []
    for item in text.split(","):
        upper = item.upper()
        if upper == "L":
            plain.append("7")  # a bare L in day-of-week is the last day of the week: Saturday
        elif upper.endswith("L"):
            last_of.append(_number(upper[:-1], WEEKDAY_NAMES, 1, 7))
        elif "#" in upper:
            weekday, _, nth = upper.partition("#")
            if not nth.isdigit() or not 1 <= int(nth) <= 5:
                raise ScheduleExpressionError(f"bad nth weekday {item!r}")
            nth_of.append((_number(weekday, WEEKDAY_NAMES, 1, 7), int(nth)))
        else:
            plain.append(item)
    weekdays = _values(",".join(plain), 1, 7, WEEKDAY_NAMES) if plain else frozenset()
    return DayOfWeekRule(weekdays, tuple(last_of), tuple(nth_of))


@dataclass(frozen=True)
class CronExpression:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: tuple[int, ...]
    day_of_month: DayOfMonthRule | None  # exactly one of the two day rules is set (the other was `?`)
    day_of_week: DayOfWeekRule | None

    @classmethod
    def parse(cls, text: str) -> CronExpression:
        fields = text.split()
        if len(fields) != 6:
            raise ScheduleExpressionError(f"cron needs 6 fields, got {len(fields)}: {text!r}")
        minutes, hours, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleExpressionError("exactly one of day-of-month and day-of-week must be '?'")
        try:
            return cls(
                minutes=tuple(sorted(_values(minutes, 0, 59))),
                hours=tuple(sorted(_values(hours, 0, 23))),
                months=_values(month, 1, 12, MONTH_NAMES),
                years=tuple(sorted(_values(year, YEAR_MIN, YEAR_MAX))),
                day_of_month=None if dom == "?" else _day_of_month_rule(dom),
                day_of_week=None if dow == "?" else _day_of_week_rule(dow),
            )
        except ValueError as exc:
            raise ScheduleExpressionError(f"{text!r}: {exc}") from exc

    def _days(self, year: int, month: int) -> list[int]:
        rule = self.day_of_month if self.day_of_month is not None else self.day_of_week
        assert rule is not None
        return sorted(rule.days_in(year, month))

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after `moment` (UTC), or None when the expression never fires again."""
        start = (moment.astimezone(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
        for year in self.years:
            if year < start.year:
                continue
            for month in range(1, 13):
                if month not in self.months or (year, month) < (start.year, start.month):
                    continue
                for day in self._days(year, month):
                    if (year, month, day) < (start.year, start.month, start.day):
                        continue
                    same_day = (year, month, day) == (start.year, start.month, start.day)
                    for hour in self.hours:
                        if same_day and hour < start.hour:
                            continue
                        for minute in self.minutes:
                            if same_day and hour == start.hour and minute < start.minute:
                                continue
                            return datetime(year, month, day, hour, minute, tzinfo=UTC)
        return None


@dataclass(frozen=True)
class RateExpression:
    period: timedelta

    @classmethod
    def parse(cls, text: str) -> RateExpression:
        match = re.fullmatch(r"\s*(\d+)\s+(minutes?|hours?|days?)\s*", text)
        if match is None:
            raise ScheduleExpressionError(f"bad rate {text!r}")
        value, unit = int(match.group(1)), match.group(2)
        if value < 1 or (value == 1) != (not unit.endswith("s")):
            # AWS insists on "1 minute" and "5 minutes".
            raise ScheduleExpressionError(f"bad rate {text!r}: use a singular unit for 1, plural otherwise")
        return cls(timedelta(seconds=value * RATE_UNITS[unit]))

    def next_after(self, moment: datetime, *, anchor: datetime) -> datetime:
        """Rates count from when the rule was created (`anchor`)."""
        elapsed = moment - anchor
        periods = int(elapsed / self.period) + 1 if elapsed >= timedelta(0) else 1
        return anchor + periods * self.period


@dataclass(frozen=True)
class ScheduleExpression:
    rate: RateExpression | None = None
    cron: CronExpression | None = None

    @classmethod
    def parse(cls, text: str) -> ScheduleExpression:
        text = text.strip()
        if text.startswith("rate(") and text.endswith(")"):
            return cls(rate=RateExpression.parse(text[5:-1]))
        if text.startswith("cron(") and text.endswith(")"):
            return cls(cron=CronExpression.parse(text[5:-1]))
        raise ScheduleExpressionError(f"not a schedule expression: {text!r}")

    def next_after(self, moment: datetime, *, anchor: datetime | None = None) -> datetime | None:
        if self.rate is not None:
            return self.rate.next_after(moment, anchor=anchor or moment)
        assert self.cron is not None
        return self.cron.next_after(moment)


LogSink = Callable[[str], None]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ScheduleStats:
    fired: int = 0
    succeeded: int = 0
    failed_attempts: int = 0
    dropped: int = 0  # events that failed all attempts
    last_fired: datetime | None = None
    next_fire: datetime | None = None


@dataclass
class _Schedule:
    spec: ScheduleSpec
    expression: ScheduleExpression
    anchor: datetime
    stats: ScheduleStats = field(default_factory=ScheduleStats)


class Scheduler:
    """One task per enabled schedule, firing the function like EventBridge: an async invoke with retries."""

    def __init__(
        self,
        schedules: list[ScheduleSpec],
        invoker: Invoker,
        *,
        stack_name: str = "lamina",
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        retry_delays_s: tuple[float, ...] = ASYNC_RETRY_DELAYS_S,
        clock: Clock = utc_now,
        on_log: LogSink | None = None,
    ) -> None:
        self.invoker = invoker
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.retry_delays_s = retry_delays_s
        self.clock = clock
        self.on_log = on_log
        now = clock()
        self._schedules = {
            self._key(spec): _Schedule(spec, ScheduleExpression.parse(spec.expression), anchor=now)
            for spec in schedules
        }
        self._loops: list[asyncio.Task[None]] = []
        self._deliveries: set[asyncio.Task[InvokeResult | None]] = set()

    @staticmethod
    def _key(spec: ScheduleSpec) -> str:
        return f"{spec.function}.{spec.name}"

    def _log(self, message: str) -> None:
        if self.on_log is not None:
            self.on_log(f"[schedule] {message}")
        else:
            logger.info(message)

    def rule_arn(self, spec: ScheduleSpec) -> str:
        return f"arn:aws:events:{self.region}:{self.account_id}:rule/{self.stack_name}-{spec.function}{spec.name}"

    def stats(self) -> dict[str, ScheduleStats]:
        return {key: schedule.stats for key, schedule in self._schedules.items()}

    def _find(self, name: str) -> _Schedule:
        """By "Function.Name" or, when unambiguous, by the event name alone."""
        if name in self._schedules:
            return self._schedules[name]
        found = [s for s in self._schedules.values() if s.spec.name == name]
        if len(found) != 1:
            raise KeyError(f"no single schedule named {name!r}; known: {sorted(self._schedules)}")
        return found[0]

    async def start(self) -> None:
        for key, schedule in self._schedules.items():
            if schedule.spec.enabled:
                self._loops.append(asyncio.create_task(self._run(schedule), name=f"schedule-{key}"))
            else:
                self._log(f"{key} disabled")

    async def stop(self) -> None:
        for task in [*self._loops, *self._deliveries]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._deliveries, return_exceptions=True)
        self._loops.clear()

    async def fire_now(self, name: str) -> InvokeResult | None:
        """Deliver one event for the schedule now (with the retries) and return the last attempt's result."""
        schedule = self._find(name)
        return await self._deliver(schedule, self.clock())

    def _payload(self, schedule: _Schedule, fire_time: datetime) -> dict[str, Any] | bytes:
        if schedule.spec.input is not None:
            return schedule.spec.input.encode()  # a constant Input replaces the event, verbatim
        return scheduled_event(
            rule_arn=self.rule_arn(schedule.spec),
            fire_time=fire_time,
            region=self.region,
            account_id=self.account_id,
        )

    async def _run(self, schedule: _Schedule) -> None:
        last = self.clock()
        while True:
            fire_at = schedule.expression.next_after(last, anchor=schedule.anchor)
            schedule.stats.next_fire = fire_at
            if fire_at is None:
                self._log(f"{self._key(schedule.spec)} will not fire again")
                return
            while (remaining := (fire_at - self.clock()).total_seconds()) > 0:
                await asyncio.sleep(min(remaining, MAX_SLEEP_S))
            last = fire_at
            task = asyncio.create_task(self._deliver(schedule, fire_at))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, schedule: _Schedule, fire_time: datetime) -> InvokeResult | None:
        key = self._key(schedule.spec)
        schedule.stats.fired += 1
        schedule.stats.last_fired = fire_time
        payload = self._payload(schedule, fire_time)
        result: InvokeResult | None = None
        for attempt, delay in enumerate((0.0, *self.retry_delays_s), start=1):
            await asyncio.sleep(delay)
            try:
                result = await self.invoker.invoke(schedule.spec.function, payload)
            except Exception as exc:
                self._log(f"{key} attempt {attempt} raised {exc!r}")
                schedule.stats.failed_attempts += 1
                continue
            if result.ok:
                schedule.stats.succeeded += 1
                return result
            schedule.stats.failed_attempts += 1
            self._log(f"{key} attempt {attempt} failed: {result.error_type} ({result.request_id})")
        schedule.stats.dropped += 1
        self._log(f"{key} event dropped after {len(self.retry_delays_s) + 1} attempts")
        return result


def describe(spec: ScheduleSpec) -> str:
    """A one-line summary for `lamina up`'s start-up banner."""
    detail = f" input={json.dumps(spec.input)}" if spec.input is not None else ""
    return f"{spec.function}.{spec.name}: {spec.expression}{detail}"
