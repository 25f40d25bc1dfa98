"""The triggers domain's errors: a trigger that cannot run as written is the caller's 400, saying why."""

from __future__ import annotations

from lamina.errors import LaminaError


class InvalidTriggerError(LaminaError):
    status_code = 400
    code = "invalid_trigger"


class InvalidScheduleError(InvalidTriggerError):
    """A bad cron expression, time zone or window."""

    code = "invalid_schedule"


class InvalidMappingError(InvalidTriggerError):
    """An inputs mapping, filter or event key that cannot be read."""

    code = "invalid_mapping"
