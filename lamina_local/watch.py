"""Reloading functions when their code changes: polling mtimes (no inotify dependency, works on any mount)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

WATCH_INTERVAL_S = 1.0
WATCHED_SUFFIXES = (".py", ".json", ".yaml", ".yml", ".txt")


def snapshot(folders: set[Path]) -> dict[Path, float]:
    """Modification time of every watched file under `folders`."""
    found: dict[Path, float] = {}
    for folder in folders:
        for path in folder.rglob("*"):
            if path.suffix in WATCHED_SUFFIXES and "__pycache__" not in path.parts:
                with contextlib.suppress(FileNotFoundError):
                    found[path] = path.stat().st_mtime
    return found


class CodeWatcher:
    """Calls `on_change(function)` for each function one of whose folders (code or layer) changed."""

    def __init__(
        self,
        folders_by_function: Mapping[str, set[Path]],
        on_change: Callable[[str], Awaitable[None]],
        *,
        interval_s: float = WATCH_INTERVAL_S,
    ) -> None:
        self.folders_by_function = dict(folders_by_function)
        self.on_change = on_change
        self.interval_s = interval_s
        self._all_folders = {folder for folders in self.folders_by_function.values() for folder in folders}

    def affected(self, changed: set[Path]) -> list[str]:
        return [
            function
            for function, roots in self.folders_by_function.items()
            if any(path.is_relative_to(root) for path in changed for root in roots)
        ]

    async def run(self, stopping: asyncio.Event) -> None:
        before = await asyncio.to_thread(snapshot, self._all_folders)
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=self.interval_s)
            if stopping.is_set():
                return
            now = await asyncio.to_thread(snapshot, self._all_folders)
            changed = {path for path in set(now) | set(before) if now.get(path) != before.get(path)}
            before = now
            for function in self.affected(changed):
                await self.on_change(function)
