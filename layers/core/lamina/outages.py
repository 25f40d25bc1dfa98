"""Logging a dependency's outage the way an operator wants to read it: once when it starts, then one summary
per interval while it lasts, and once when it ends. Not a traceback per request (a lost Redis used to print
27,000 lines in 25 s).

`report_failure("redis", error)` where a degraded path swallows an error; `report_success("redis")` where a
call succeeded (a dictionary lookup when nothing is down). Per process, kept in `lamina.state`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

logger = logging.getLogger("lamina.outages")

SUMMARY_INTERVAL_S = 30.0
_MEMO_KEY = "lamina.outages"


@dataclass
class _Outage:
    started: float
    failures: int
    since_summary: int
    next_summary: float
    last_error: str


class OutageLog:
    def __init__(self, summary_interval_s: float = SUMMARY_INTERVAL_S) -> None:
        self.summary_interval_s = summary_interval_s
        self._outages: dict[str, _Outage] = {}
        self._lock = threading.Lock()

    def failure(self, dependency: str, error: BaseException | str) -> None:
        now = time.monotonic()
        described = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        with self._lock:
            outage = self._outages.get(dependency)
            if outage is None:
                self._outages[dependency] = _Outage(now, 1, 0, now + self.summary_interval_s, described)
                logger.warning(
                    f"{dependency} unavailable: {described}; degrading until it recovers",
                    extra={"dependency": dependency, "outage": "started"},
                )
                return
            outage.failures += 1
            outage.since_summary += 1
            outage.last_error = described
            if now < outage.next_summary:
                return
            count, outage.since_summary = outage.since_summary, 0
            outage.next_summary = now + self.summary_interval_s
            lasted = now - outage.started
        logger.warning(
            f"{dependency} still unavailable after {lasted:.0f} s: {count} failures in the last "
            f"{self.summary_interval_s:.0f} s (last: {described})",
            extra={"dependency": dependency, "outage": "ongoing", "failures": count},
        )

    def success(self, dependency: str) -> None:
        if dependency not in self._outages:  # the common case: no lock, no work
            return
        with self._lock:
            outage = self._outages.pop(dependency, None)
        if outage is not None:
            logger.warning(
                f"{dependency} recovered after {time.monotonic() - outage.started:.1f} s "
                f"({outage.failures} failures during the outage)",
                extra={"dependency": dependency, "outage": "ended", "failures": outage.failures},
            )

    def down(self) -> list[str]:
        return sorted(self._outages)


def outage_log() -> OutageLog:
    from lamina.state import current

    return current().memo(_MEMO_KEY, OutageLog)


def report_failure(dependency: str, error: BaseException | str) -> None:
    outage_log().failure(dependency, error)


def report_success(dependency: str) -> None:
    outage_log().success(dependency)
