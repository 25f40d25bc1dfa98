"""Cold-start import time of every handler module, as a ratio to a bare FastAPI()+Mangum handler.

Each figure is the median of 5 fresh processes timing `import <handler module>` alone (interpreter start-up
excluded), measured in the same run as the baseline. Goal: ApiFunction <= 1.5x the bare handler.

Then the time a fresh process takes to answer its first request (import + one HTTP API event through the
handler): ServicesFunction's `GET /services/completion/v0/health` against the bare handler's `GET /`.
Goal: <= 1.5x (health never imports litellm).

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
GOAL_SERVICES_HEALTH_RATIO = 1.5

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

# Import the handler and answer one GET (an API Gateway HTTP API v2 event), timed from before the import.
FIRST_ANSWER_PROBE = """
import time
started = time.perf_counter()
import {module}


class Context:
    function_name = "coldstart"
    function_version = "$LATEST"
    memory_limit_in_mb = 1769
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:coldstart"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = log_stream_name = "coldstart"

    def get_remaining_time_in_millis(self):
        return 30_000


event = {{
    "version": "2.0",
    "routeKey": "GET {path}",
    "rawPath": "{path}",
    "rawQueryString": "",
    "headers": {{"host": "localhost", "accept": "application/json"}},
    "requestContext": {{
        "accountId": "123456789012",
        "apiId": "api",
        "domainName": "localhost",
        "domainPrefix": "localhost",
        "http": {{"method": "GET", "path": "{path}", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
                  "userAgent": "coldstart"}},
        "requestId": "id",
        "routeKey": "GET {path}",
        "stage": "$default",
        "time": "28/Nov/2026:00:00:00 +0000",
        "timeEpoch": 0,
    }},
    "isBase64Encoded": False,
}}
answer = {module}.handler(event, Context())
elapsed = time.perf_counter() - started
assert answer["statusCode"] == 200, answer
import sys
assert "litellm" not in sys.modules
print(elapsed)
"""
SERVICES_HEALTH_PATH = "/services/completion/v0/health"


def import_seconds(folder: Path, probe: str) -> float:
    """Seconds the probe reports, run in a fresh interpreter with the handler's folder and the layer on its path."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT / "layers" / "core")]),
        "PYTHONDONTWRITEBYTECODE": "0",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    output = subprocess.run(
        [sys.executable, "-c", probe],
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
            import_seconds(folder, PROBE.format(module=module))  # warm bytecode and page caches
        # Interleaved rounds, so drift in machine load hits the baseline and the handlers alike.
        samples: dict[str, list[float]] = {label: [] for label, _, _ in targets}
        first_answers: dict[str, list[float]] = {"bare": [], "services": []}
        first_answer_probes = {
            "bare": (Path(scratch), FIRST_ANSWER_PROBE.format(module="bare_handler", path="/")),
            "services": (
                ROOT / "functions" / "services",
                FIRST_ANSWER_PROBE.format(module="app", path=SERVICES_HEALTH_PATH),
            ),
        }
        for _ in range(RUNS):
            for label, folder, module in targets:
                samples[label].append(import_seconds(folder, PROBE.format(module=module)) * 1000)
            for name, (folder, probe) in first_answer_probes.items():
                first_answers[name].append(import_seconds(folder, probe) * 1000)
    medians = {label: statistics.median(values) for label, values in samples.items()}
    baseline = medians["bare FastAPI+Mangum"]
    print(f"{'handler':<24}{'import ms (median of 5)':>24}{'x bare':>10}")
    for label, ms in medians.items():
        print(f"{label:<24}{ms:>24.1f}{ms / baseline:>10.2f}")
    bare_answer = statistics.median(first_answers["bare"])
    health_answer = statistics.median(first_answers["services"])
    print(f"{'first answer, fresh process':<32}{'ms (median of 5)':>16}")
    print(f"{'bare FastAPI+Mangum GET /':<32}{bare_answer:>16.1f}")
    print(f"{'ServicesFunction GET health':<32}{health_answer:>16.1f}")
    print(f"RESULT api_import_vs_bare={medians['ApiFunction'] / baseline:.2f} goal<={GOAL_API_RATIO}")
    print(
        f"RESULT services_health_coldstart_ratio={health_answer / bare_answer:.2f} "
        f"goal<={GOAL_SERVICES_HEALTH_RATIO}"
    )


if __name__ == "__main__":
    main()
