"""Lamina's added time per Services invoke: `/services/completion/v0/invoke` through the ServicesFunction's
Mangum handler, against `litellm.acompletion` called directly, both against the same local OpenAI-compatible
fake server (tests/fake_openai.py) in the same run, interleaved call by call.

The Lamina path includes everything a warm invoke does: API key authentication, request validation, prompt
rendering, reading the project's custom provider secret (a vault lookup), litellm, response shaping.
Backends: DATABASE_URL / REDIS_URL / AWS_ENDPOINT_URL when given (a scratch database is created and
dropped), else embedded ones.

Besides the wall-clock figures (the RESULT), it prints the CPU time this process spends per call (a steadier
figure on a shared machine), and, informationally, invokes with the trace export on (S3 + the tracing queue
in the embedded AWS emulator), which the litellm baseline has no counterpart for. `--profile` runs the
Lamina path under cProfile instead (BENCH_SORT, BENCH_TOP, BENCH_FILTER, BENCH_CALLERS narrow the listing).

    .venv/bin/python bench/services_overhead.py [--calls 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core")]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from bench.registry_retrieve import (  # noqa: E402
    Context,
    forget_redis_keys,
    http_event,
    percentile,
    run_cleanups,
    start_scratch_stack,
)

CALLS = 1000
WARMUP_CALLS = 50
DRAIN_LOOP_TURNS = 3
GOAL_P50_MS = 3.0
PROVIDER = "benchai"
API_KEY = "sk-bench-0000000000000000"
PROMPT = {
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Summarise {{text}} for {{reader.name}}."},
    ],
    "template_format": "curly",
    "llm_config": {"model": f"{PROVIDER}/fake-model", "temperature": 0.2, "max_tokens": 64},
}
MOCK_LLM = {"model": "mock/echo"}
INPUTS = {"text": "the quarterly report", "reader": {"name": "Ada"}}
RENDERED = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Summarise the quarterly report for Ada."},
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--profile", action="store_true", help="print where the Lamina path spends its time")
    args = parser.parse_args()

    from tests.fake_openai import fake_openai_server

    _, env, cleanups = start_scratch_stack()
    try:
        env["EVENTS_QUEUE_URL"] = ""
        from lamina.db.migrate import upgrade
        from lamina.db.unit_of_work import unit_of_work
        from lamina.secrets.schemas import SecretFields
        from lamina.secrets.service import create_secret
        from lamina.settings import Settings
        from lamina.state import configure
        from lamina.tenancy.service import seed_local_user

        configure(Settings(**env))
        upgrade(env["DATABASE_URL"])
        fake = cleanups_enter(cleanups, fake_openai_server())
        with unit_of_work() as db:
            _, project, api_key = seed_local_user(db, f"bench-{uuid.uuid4().hex[:6]}@example.com")
        cleanups.insert(0, lambda: forget_redis_keys(str(project.id), api_key.split(".", 1)[0]))

        from lamina.auth.service import authenticate, resolve_principal

        with unit_of_work() as db:
            principal = resolve_principal(db, authenticate(f"ApiKey {api_key}", db), None)
            settings = {"provider": "openai", "api_base": fake.api_base, "api_key": API_KEY}
            create_secret(
                db,
                principal,
                SecretFields(name=PROVIDER, kind="custom", value=json.dumps(settings)),
            )

        spec = importlib.util.spec_from_file_location(
            "bench_services_app", ROOT / "functions" / "services" / "app.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handler = module.handler
        context = Context()
        body = {"data": {"inputs": INPUTS, "parameters": {"prompt": PROMPT}}}
        event = http_event("POST", "/services/completion/v0/invoke", body, f"ApiKey {api_key}")

        import litellm

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # Mangum runs on the thread's current loop: both paths share it

        def through_lamina() -> None:
            response = handler(event, context)
            if response["statusCode"] != 200:
                raise SystemExit(f"unexpected {response['statusCode']}: {response.get('body')}")

        def direct() -> None:
            loop.run_until_complete(
                litellm.acompletion(
                    model="openai/fake-model",
                    messages=RENDERED,
                    temperature=0.2,
                    max_tokens=64,
                    api_base=fake.api_base,
                    api_key=API_KEY,
                    num_retries=0,
                    max_retries=0,
                    timeout=25.0,
                )
            )

        def drain() -> None:
            """Run what a call left ready on the loop (litellm's logging callbacks), so each call pays its
            own; a few turns of the loop, not a wait for every task (litellm keeps a worker task alive)."""
            for _ in range(DRAIN_LOOP_TURNS):
                loop.run_until_complete(asyncio.sleep(0))

        for _ in range(WARMUP_CALLS):
            through_lamina()
            direct()
        if args.profile:
            import cProfile
            import pstats

            from lamina.services.providers import resolve_model_calls

            began = time.perf_counter()
            for _ in range(args.calls):
                resolve_model_calls(project.id, [f"{PROVIDER}/fake-model"], local=True)
            print(f"resolve_model_calls: {(time.perf_counter() - began) * 1000 / args.calls:.3f} ms per call")
            profiler = cProfile.Profile()
            profiler.runcall(lambda: [through_lamina() for _ in range(args.calls)])
            stats = pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "cumulative"))
            # BENCH_FILTER narrows to one layer (e.g. "lamina|fastapi|starlette|mangum"), BENCH_TOP to the top N.
            stats.print_stats(os.environ.get("BENCH_FILTER", "."), int(os.environ.get("BENCH_TOP", "40")))
            for name in filter(None, os.environ.get("BENCH_CALLERS", "").split(",")):
                stats.print_callers(name)
            return 0
        mock_body = {"data": {"inputs": INPUTS, "parameters": {"prompt": {**PROMPT, "llm_config": MOCK_LLM}}}}
        mock_event = http_event("POST", "/services/completion/v0/invoke", mock_body, f"ApiKey {api_key}")
        health_event = http_event("GET", "/services/completion/v0/health", None, None)

        def mock_invoke() -> None:
            assert handler(mock_event, context)["statusCode"] == 200

        def health() -> None:
            assert handler(health_event, context)["statusCode"] == 200

        lamina_ms: list[float] = []
        direct_ms: list[float] = []
        mock_ms: list[float] = []
        health_ms: list[float] = []
        # CPU time of this process (every thread: the handler, litellm, the fake server) per call, beside the
        # wall clock: on a machine shared with other work the wall clock mostly measures waiting for a core.
        cpu_ms: dict[str, list[float]] = {"direct": [], "lamina": []}
        for _ in range(args.calls):
            for run, samples, cpu in (
                (direct, direct_ms, cpu_ms["direct"]),
                (through_lamina, lamina_ms, cpu_ms["lamina"]),
                (mock_invoke, mock_ms, None),
                (health, health_ms, None),
            ):
                started, started_cpu = time.perf_counter(), time.process_time()
                run()
                drain()
                samples.append((time.perf_counter() - started) * 1000)
                if cpu is not None:
                    cpu.append((time.process_time() - started_cpu) * 1000)

        traced_ms = measure_with_tracing(env, through_lamina, drain, max(args.calls // 5, 20))
        for name, samples in (
            ("litellm.acompletion direct", direct_ms),
            ("services invoke (Mangum)", lamina_ms),
            ("mock/echo invoke (Mangum)", mock_ms),
            ("health (Mangum)", health_ms),
            ("invoke + trace export", traced_ms),
        ):
            print(
                f"{name:<28} p50={percentile(samples, 50):7.3f} ms  p99={percentile(samples, 99):7.3f} ms  "
                f"mean={statistics.fmean(samples):7.3f} ms  n={len(samples)}"
            )
        added_p50 = percentile(lamina_ms, 50) - percentile(direct_ms, 50)
        added_p99 = percentile(lamina_ms, 99) - percentile(direct_ms, 99)
        print(f"added by Lamina              p50={added_p50:7.3f} ms  p99={added_p99:7.3f} ms")
        cpu_p50 = percentile(cpu_ms["lamina"], 50) - percentile(cpu_ms["direct"], 50)
        print(
            f"CPU time per call            direct p50={percentile(cpu_ms['direct'], 50):7.3f} ms  "
            f"services p50={percentile(cpu_ms['lamina'], 50):7.3f} ms  added p50={cpu_p50:7.3f} ms"
        )
        print(f"RESULT services_overhead_p50_ms={added_p50:.3f} goal<={GOAL_P50_MS:g}")
        print(f"RESULT services_overhead_p99_ms={added_p99:.3f}")
        print(f"RESULT services_overhead_cpu_p50_ms={cpu_p50:.3f}")
        return 0
    finally:
        run_cleanups(cleanups)


def measure_with_tracing(
    env: dict[str, str], through_lamina: Callable[[], None], drain: Callable[[], None], calls: int
) -> list[float]:
    """Invokes as a deployment with the trace ingest runs them: each span stored in S3 and queued on the
    `tracing` queue (the embedded AWS emulator) before the answer. Informational: not in the RESULT, whose
    baseline (litellm alone) exports nothing."""
    import boto3

    from lamina.settings import Settings
    from lamina.state import configure

    session = boto3.session.Session(
        region_name="us-east-1",
        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "testing"),
    )
    endpoint = env.get("AWS_ENDPOINT_URL")
    bucket = f"lamina-bench-traces-{uuid.uuid4().hex[:6]}"
    session.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    queue = session.client("sqs", endpoint_url=endpoint).create_queue(QueueName=bucket)["QueueUrl"]
    configure(Settings(**{**env, "LAMINA_BUCKET": bucket, "TRACING_QUEUE_URL": queue}))
    for _ in range(WARMUP_CALLS // 5):
        through_lamina()
    samples: list[float] = []
    for _ in range(calls):
        started = time.perf_counter()
        through_lamina()
        drain()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def cleanups_enter(cleanups: list[Callable[[], None]], manager: Any) -> Any:
    """Enter a context manager now and exit it with the other cleanups."""
    value = manager.__enter__()
    cleanups.insert(0, lambda: manager.__exit__(None, None, None))
    return value


if __name__ == "__main__":
    raise SystemExit(main())
