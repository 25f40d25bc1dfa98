"""One coloured log stream for the whole local stack, each line prefixed by its source."""

from __future__ import annotations

import sys
import threading
import time
from typing import Literal, TextIO

from lamina_local.log_lines import render

LogFormat = Literal["pretty", "json"]
COLOURS = ("36", "33", "35", "32", "34", "96", "93", "95", "92", "94", "91")
RESET = "\033[0m"
SOURCE_WIDTH = 26


class Console:
    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        colour: bool | None = None,
        quiet: bool = False,
        log_format: LogFormat = "pretty",
    ) -> None:
        self.stream = stream or sys.stdout
        self.colour = self.stream.isatty() if colour is None else colour
        self.quiet = quiet
        # "pretty": structured (JSON) log records become short readable lines; "json": printed as they are.
        self.pretty = log_format == "pretty"
        self._colours: dict[str, str] = {}
        self._lock = threading.Lock()
        self._started = time.monotonic()

    def _paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}{RESET}" if self.colour else text

    def line(self, source: str, text: str) -> None:
        """A log line from a function, a poller, the gateway or a backend."""
        if self.quiet:
            return
        code = self._colours.setdefault(source, COLOURS[len(self._colours) % len(COLOURS)])
        prefix = self._paint(f"{source[:SOURCE_WIDTH]:>{SOURCE_WIDTH}} |", code)
        with self._lock:
            for part in text.rstrip("\n").splitlines() or [""]:
                shown = render(part, colour=self.colour) if self.pretty else part
                for row in shown.splitlines() or [""]:
                    self.stream.write(f"{prefix} {row}\n")
            self.stream.flush()

    def progress(self, text: str) -> None:
        """A boot step: always shown."""
        with self._lock:
            elapsed = time.monotonic() - self._started
            self.stream.write(f"{self._paint('lamina', '1;34')} {elapsed:5.2f}s {text}\n")
            self.stream.flush()

    def banner(self, text: str) -> None:
        with self._lock:
            self.stream.write(self._paint(text, "1;32") + "\n")
            self.stream.flush()
