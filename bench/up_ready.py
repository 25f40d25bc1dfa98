"""Time from `lamina up` to a 200 from `GET /api/health`, with embedded defaults, as a ratio to starting the
three embedded backends alone (measured in the same run). Goal: ready <= 5 s after the first install.

The state folder is kept across runs, as on a developer's machine: the first run (initdb) is reported apart.

    .venv/bin/python bench/up_ready.py
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
GOAL_READY_S = 5.0
BOOT_TIMEOUT_S = 120
POLL_INTERVAL_S = 0.02

BACKENDS_ONLY = """
import sys, time
from pathlib import Path
from lamina_local.backends import start_backends
started = time.perf_counter()
backends = start_backends(Path(sys.argv[1]))
print(time.perf_counter() - started)
backends.stop()
"""


def clean_env() -> dict[str, str]:
    """Embedded defaults: no backend URLs from the caller's environment."""
    drop = ("DATABASE_URL", "REDIS_URL", "AWS_ENDPOINT_URL")
    return {key: value for key, value in os.environ.items() if key not in drop}


def backends_seconds(state_dir: Path) -> float:
    output = subprocess.run(
        [sys.executable, "-c", BACKENDS_ONLY, str(state_dir)],
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return float(output.strip().splitlines()[-1])


def up_seconds(state_dir: Path) -> float:
    """Spawn `lamina up`, poll the health route until it answers 200, stop it; return the time to ready."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lamina_local.cli",
            "--state-dir",
            str(state_dir),
            "up",
            "--port",
            "0",
            "--no-watch",
            "--quiet",
        ],
        env=clean_env(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state_file = state_dir / "up.json"
    try:
        api_url = None
        while time.perf_counter() - started < BOOT_TIMEOUT_S:
            if process.poll() is not None:
                raise RuntimeError(f"lamina up exited with {process.returncode}")
            if api_url is None and state_file.exists():
                import json

                api_url = json.loads(state_file.read_text())["api_url"]
            if api_url:
                try:
                    with urllib.request.urlopen(f"{api_url}/api/health", timeout=5) as response:
                        if response.status == 200:
                            return time.perf_counter() - started
                except OSError:
                    pass
            time.sleep(POLL_INTERVAL_S)
        raise RuntimeError("lamina up was not ready in time")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        up_state, backends_state = Path(scratch, "up"), Path(scratch, "backends")
        first = up_seconds(up_state)
        backends_seconds(backends_state)  # its own first run (initdb), not counted
        ready, baseline = [], []
        for _ in range(RUNS):  # interleaved, so load drift hits both alike
            baseline.append(backends_seconds(backends_state))
            ready.append(up_seconds(up_state))
    ready_s, baseline_s = statistics.median(ready), statistics.median(baseline)
    print(f"first run (initdb included):           {first:6.2f} s")
    print(
        f"lamina up -> /api/health 200 (median): {ready_s:6.2f} s   runs: {', '.join(f'{r:.2f}' for r in ready)}"
    )
    print(
        f"embedded backends alone (median):      {baseline_s:6.2f} s   runs: {', '.join(f'{b:.2f}' for b in baseline)}"
    )
    print(f"ratio ready / backends alone:          {ready_s / baseline_s:6.2f}x")
    print(f"RESULT up_ready_s={ready_s:.2f} goal<={GOAL_READY_S}")


if __name__ == "__main__":
    main()
