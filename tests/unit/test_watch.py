"""Reload on code change: which functions a changed file belongs to."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from lamina_local.watch import CodeWatcher


def test_a_change_reloads_exactly_the_functions_whose_folders_hold_it(tmp_path: Path) -> None:
    # GIVEN two functions sharing a layer, each with its own code folder
    api, worker, layer = (tmp_path / name for name in ("api", "worker", "layer"))
    for folder in (api, worker, layer):
        folder.mkdir()
        (folder / "module.py").write_text("x = 1\n")
    reloaded: list[str] = []

    async def scenario() -> None:
        async def on_change(function: str) -> None:
            reloaded.append(function)

        stopping = asyncio.Event()
        watcher = CodeWatcher({"Api": {api, layer}, "Worker": {worker, layer}}, on_change, interval_s=0.05)
        task = asyncio.create_task(watcher.run(stopping))
        await asyncio.sleep(0.1)
        # WHEN the API's own code changes, then the shared layer
        os.utime(api / "module.py", (1, 1))
        await asyncio.sleep(0.2)
        first = list(reloaded)
        os.utime(layer / "module.py", (2, 2))
        await asyncio.sleep(0.2)
        stopping.set()
        await asyncio.wait_for(task, timeout=2)
        # THEN the API alone reloads first, both reload for the layer
        assert first == ["Api"]
        assert sorted(reloaded[1:]) == ["Api", "Worker"]

    asyncio.run(scenario())
