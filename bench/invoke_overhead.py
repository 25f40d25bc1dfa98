"""Per-invoke overhead of the local Lambda runtime: warm echo invocations through the Runtime API vs in-process.

Run: .venv/bin/python bench/invoke_overhead.py [--invocations 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "fixtures" / "functions" / "basic"))

import handlers  # noqa: E402  (the fixture echo handler, called in-process for the baseline)

from lamina_local.lambda_runtime import DEFAULT_PRELOAD, LambdaRuntime  # noqa: E402
from lamina_local.model import FunctionSpec  # noqa: E402

DEFAULT_INVOCATIONS = 2_000
WARMUP_INVOCATIONS = 200
P50_GOAL_MS = 1.0
P99_GOAL_MS = 5.0
EVENT = {"message": "hello", "n": 1}


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def echo_spec() -> FunctionSpec:
    return FunctionSpec(
        logical_id="Echo",
        name="lamina-bench-Echo",
        code_uri=REPO / "tests" / "fixtures" / "functions" / "basic",
        handler="handlers.ping",
        runtime="python3.12",
        layer_dirs=(),
        environment={},
        memory_mb=128,
        timeout_s=10.0,
        reserved_concurrency=None,
        snap_start=False,
    )


def in_process_ms(count: int) -> list[float]:
    context = SimpleNamespace(aws_request_id="bench")
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        handlers.ping(EVENT, context)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def through_runtime_ms(count: int, use_zygote: bool) -> tuple[list[float], float, float, float]:
    runtime = LambdaRuntime(
        {"Echo": echo_spec()}, on_log=lambda _f, _l: None, use_zygote=use_zygote, preload=DEFAULT_PRELOAD
    )
    started = time.perf_counter()
    await runtime.start()
    start_s = time.perf_counter() - started
    try:
        began = time.perf_counter()
        cold = await runtime.invoke("Echo", EVENT)
        cold_ms = (time.perf_counter() - began) * 1000
        assert cold.ok and cold.cold_start, cold
        for _ in range(WARMUP_INVOCATIONS):
            await runtime.invoke("Echo", EVENT)
        samples = []
        cpu_started = time.process_time()
        for _ in range(count):
            began = time.perf_counter()
            result = await runtime.invoke("Echo", EVENT)
            samples.append((time.perf_counter() - began) * 1000)
            assert result.ok and not result.cold_start
        supervisor_cpu_ms = (time.process_time() - cpu_started) * 1000 / count
        assert runtime.stats()["Echo"]["cold_starts"] == 1
        return samples, start_s, cold_ms, supervisor_cpu_ms
    finally:
        await runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invocations", type=int, default=DEFAULT_INVOCATIONS)
    parser.add_argument("--no-zygote", action="store_true", help="spawn workers with python -m awslambdaric")
    args = parser.parse_args()

    bench_started = time.perf_counter()
    baseline = in_process_ms(args.invocations)
    load_1m = os.getloadavg()[0]
    samples, start_s, cold_ms, supervisor_cpu_ms = asyncio.run(
        through_runtime_ms(args.invocations, not args.no_zygote)
    )
    p50, p99 = percentile(samples, 0.50), percentile(samples, 0.99)
    base_p50, base_p99 = percentile(baseline, 0.50), percentile(baseline, 0.99)

    mode = "plain spawn" if args.no_zygote else "zygote"
    print(
        f"mode: {mode}; runtime start {start_s * 1000:.0f} ms; first (cold) invoke incl. init {cold_ms:.1f} ms"
    )
    print(
        f"in-process handler call ({args.invocations}x): p50 {base_p50 * 1000:.1f} us, p99 {base_p99 * 1000:.1f} us"
    )
    print(
        f"through Runtime API ({args.invocations}x sequential, warm): p50 {p50:.3f} ms, p99 {p99:.3f} ms, "
        f"mean {statistics.fmean(samples):.3f} ms, max {max(samples):.3f} ms"
    )
    print(
        f"supervisor CPU per invoke {supervisor_cpu_ms:.3f} ms; machine load (1 min) {load_1m:.2f} "
        f"on {os.cpu_count()} cores: other work on the box widens p99"
    )
    print(f"ratio runtime/in-process: p50 {p50 / base_p50:.0f}x, p99 {p99 / base_p99:.0f}x")
    print(
        f"throughput: {len(samples) / (sum(samples) / 1000):.0f} invokes/s; bench took {time.perf_counter() - bench_started:.1f} s"
    )
    print(f"RESULT invoke_overhead_p50_ms={p50:.3f} goal<={P50_GOAL_MS}")
    print(f"RESULT invoke_overhead_p99_ms={p99:.3f} goal<={P99_GOAL_MS}")


if __name__ == "__main__":
    main()
