"""Freshness: from a span's export (the real OpenTelemetry OTLPSpanExporter) to its trace in the query API, p95.

Under `lamina up` with its embedded backends (a scratch state folder, free ports, loopback only): SPANS spans,
one every SEND_INTERVAL_S, each exported as it ends (SimpleSpanProcessor), then `GET /api/traces/{trace_id}`
polled every POLL_INTERVAL_S until it answers 200. Baseline in the same run: one `/api/health` round trip
(median), the floor of any "visible in the API" figure. Goal: p95 <= 2 s.

    .venv/bin/python bench/ingest_freshness.py [--spans 30] [--tracing-batching-window S]

`--tracing-batching-window` runs the stack from a copy of infra/template.yaml whose tracing worker's
MaximumBatchingWindowInSeconds is S (what-if; without it, the template as committed).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
LAMINA_UP = (sys.executable, "-m", "lamina_local.cli", "up", "--port", "0", "--no-watch")
SPANS = 30
SEND_INTERVAL_S = 0.2
POLL_INTERVAL_S = 0.02
# A span not visible by then counts as this (and is reported): bounds the run.
VISIBLE_TIMEOUT_S = 30.0
BOOT_TIMEOUT_S = 180.0
HEALTH_SAMPLES = 20
GOAL_P95_S = 2.0


def clean_env() -> dict[str, str]:
    """Embedded defaults: no backend URLs or Lamina settings from the caller's environment."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "LAMINA_", "COGNITO_")) and key not in ("DATABASE_URL", "REDIS_URL")
    }


def template_with_window(scratch: Path, window_s: float) -> Path:
    """infra/template.yaml with the tracing worker's batching window set to `window_s`, its paths absolute."""
    text = (ROOT / "infra" / "template.yaml").read_text()
    head, marker, tail = text.partition("  TracingWorkerFunction:")
    before, found, after = tail.partition("MaximumBatchingWindowInSeconds: ")
    if not marker or not found:
        raise SystemExit("infra/template.yaml: no batching window for TracingWorkerFunction")
    after = after.split("\n", 1)[1]
    text = f"{head}{marker}{before}{found}{window_s:g}\n{after}"
    for key in ("CodeUri", "ContentUri"):
        text = text.replace(f"{key}: ../", f"{key}: {ROOT}/")
    path = scratch / "template.yaml"
    path.write_text(text)
    return path


def start_stack(
    state_dir: Path, log: Path, template: Path | None
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    extra = ["--template", str(template)] if template else []
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [*LAMINA_UP, "--state-dir", str(state_dir), *extra],
            cwd=ROOT,
            env={**clean_env(), "PYTHONUNBUFFERED": "1"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    state_file = state_dir / "up.json"
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"lamina up exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if state_file.exists():
            state = json.loads(state_file.read_text())
            try:
                if httpx.get(f"{state['api_url']}/api/health", timeout=5).status_code == 200:
                    return process, state
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    raise SystemExit(f"lamina up was not ready in {BOOT_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=SPANS)
    parser.add_argument("--tracing-batching-window", type=float, default=None)
    args = parser.parse_args()

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    with tempfile.TemporaryDirectory(prefix="lamina-fresh-") as scratch:
        state_dir, log = Path(scratch, "state"), Path(scratch, "up.log")
        window = args.tracing_batching_window
        template = template_with_window(Path(scratch), window) if window is not None else None
        process, state = start_stack(state_dir, log, template)
        try:
            api, key = state["api_url"], state["local_user"]["api_key"]
            auth = {"Authorization": f"ApiKey {key}"}
            client = httpx.Client(base_url=api, headers=auth, timeout=10)
            health = []
            for _ in range(HEALTH_SAMPLES):
                started = time.perf_counter()
                client.get("/api/health").raise_for_status()
                health.append(time.perf_counter() - started)
            provider = TracerProvider(resource=Resource.create({"service.name": "bench-freshness"}))
            exporter = OTLPSpanExporter(endpoint=f"{api}/api/otlp/v1/traces", headers=auth, timeout=10)
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            tracer = provider.get_tracer("bench")
            fresh: list[float] = []
            missed = 0
            for index in range(args.spans):
                cycle = time.perf_counter()
                span = tracer.start_span("fresh", attributes={"ag.type.span": "task", "index": index})
                trace_id = format(span.get_span_context().trace_id, "032x")
                exported = time.perf_counter()
                span.end()  # SimpleSpanProcessor: the OTLP POST happens here
                while True:
                    if client.get(f"/api/traces/{trace_id}").status_code == 200:
                        fresh.append(time.perf_counter() - exported)
                        break
                    if time.perf_counter() - exported > VISIBLE_TIMEOUT_S:
                        fresh.append(VISIBLE_TIMEOUT_S)
                        missed += 1
                        break
                    time.sleep(POLL_INTERVAL_S)
                time.sleep(max(0.0, SEND_INTERVAL_S - (time.perf_counter() - cycle)))
            provider.shutdown()
            client.close()
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    health_s, fresh_p95 = statistics.median(health), p95(fresh)
    window_text = (
        "as committed" if args.tracing_batching_window is None else f"{args.tracing_batching_window:g} s"
    )
    print(f"tracing batching window    {window_text}")
    print(f"spans                      {args.spans} (one every {SEND_INTERVAL_S} s), not visible: {missed}")
    print(
        f"export -> visible          p50 {statistics.median(fresh):.3f} s, p95 {fresh_p95:.3f} s, "
        f"max {max(fresh):.3f} s"
    )
    print(f"/api/health round trip     {health_s * 1000:.1f} ms (median of {HEALTH_SAMPLES}; baseline)")
    print(f"ratio p95 / health         {fresh_p95 / health_s:.1f}x")
    print(f"RESULT ingest_freshness_p95_s={fresh_p95:.2f} goal<={GOAL_P95_S}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
