"""Cold-start import time of every handler module, as a ratio to a bare FastAPI()+Mangum handler.

Each figure is the median of 5 fresh processes timing `import <handler module>` alone (interpreter start-up
excluded), measured in the same run as the baseline. Goal: ApiFunction <= 1.5x the bare handler.

    .venv/bin/python bench/coldstart.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
GOAL_API_RATIO = 1.5

BARE_HANDLER = """
from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/")
def hello() -> dict[str, str]:
    return {"hello": "world"}


handler = Mangum(app, lifespan="off")
"""

# (label, folder holding the module, module name)
HANDLERS = [
    ("ApiFunction", ROOT / "functions" / "api", "app"),
    ("ServicesFunction", ROOT / "functions" / "services", "app"),
    ("AuthorizerFunction", ROOT / "functions" / "authorizer", "app"),
    ("EventsWorkerFunction", ROOT / "functions" / "workers", "events"),
    ("TracingWorkerFunction", ROOT / "functions" / "workers", "tracing"),
    ("CronFunction", ROOT / "functions" / "cron", "app"),
]

PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def import_seconds(folder: Path, module: str) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT / "layers" / "core")]),
        "PYTHONDONTWRITEBYTECODE": "0",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    output = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(output.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, "bare_handler.py").write_text(BARE_HANDLER)
        targets = [("bare FastAPI+Mangum", Path(scratch), "bare_handler")]
        targets += [
            (label, folder, module)
            for label, folder, module in HANDLERS
            if (folder / f"{module}.py").exists()
        ]
        for _, folder, module in targets:
            import_seconds(folder, module)  # warm bytecode and page caches, as a deployed layer would be
        # Interleaved rounds, so drift in machine load hits the baseline and the handlers alike.
        samples: dict[str, list[float]] = {label: [] for label, _, _ in targets}
        for _ in range(RUNS):
            for label, folder, module in targets:
                samples[label].append(import_seconds(folder, module) * 1000)
    medians = {label: statistics.median(values) for label, values in samples.items()}
    baseline = medians["bare FastAPI+Mangum"]
    print(f"{'handler':<24}{'import ms (median of 5)':>24}{'x bare':>10}")
    for label, ms in medians.items():
        print(f"{label:<24}{ms:>24.1f}{ms / baseline:>10.2f}")
    print(f"RESULT api_import_vs_bare={medians['ApiFunction'] / baseline:.2f} goal<={GOAL_API_RATIO}")


if __name__ == "__main__":
    main()
