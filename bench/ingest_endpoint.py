"""(b) The OTLP ingest endpoint's latency for a 1 MB protobuf body, through the API function's Mangum handler.

Each call decodes the body, writes it to S3 and queues its key (moto here, so S3 and SQS are local calls).
p50/p99 over CALLS calls after a warm-up. Backends as in bench/registry_retrieve.py.

    .venv/bin/python bench/ingest_endpoint.py [--calls 100]
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core"), str(ROOT / "bench")]

CALLS = 100
WARMUP_CALLS = 5
BODY_BYTES = 1024 * 1024
SPANS_PER_STEP = 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=CALLS)
    args = parser.parse_args()

    from ingest import Context, otlp_body
    from registry_retrieve import forget_redis_keys, http_event, percentile, run_cleanups, start_scratch_stack

    _, env, cleanups = start_scratch_stack()
    try:
        env["LAMINA_BUCKET"] = f"lamina-bench-{uuid.uuid4().hex[:6]}"
        from lamina import aws
        from lamina.db.migrate import upgrade
        from lamina.db.unit_of_work import unit_of_work
        from lamina.settings import Settings
        from lamina.state import configure
        from lamina.tenancy.service import seed_local_user

        configure(Settings(**env))
        aws.client("s3").create_bucket(Bucket=env["LAMINA_BUCKET"])
        queue = aws.client("sqs").create_queue(QueueName=f"lamina-bench-tracing-{uuid.uuid4().hex[:6]}")
        env["TRACING_QUEUE_URL"] = queue["QueueUrl"]
        configure(Settings(**env))
        upgrade(env["DATABASE_URL"])
        with unit_of_work() as db:
            _, project, api_key = seed_local_user(db, f"bench-{uuid.uuid4().hex[:6]}@example.com")
        cleanups.insert(0, lambda: forget_redis_keys(str(project.id), api_key.split(".", 1)[0]))

        spans = SPANS_PER_STEP
        body = otlp_body(spans, random.Random(3))
        while len(body) < BODY_BYTES:
            spans += SPANS_PER_STEP
            body = otlp_body(spans, random.Random(3))
        event = http_event("POST", "/api/otlp/v1/traces", None, f"ApiKey {api_key}")
        event["headers"]["content-type"] = "application/x-protobuf"
        event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)

        spec = importlib.util.spec_from_file_location("bench_api_app", ROOT / "functions" / "api" / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        context = Context()

        def call() -> None:
            response: dict[str, Any] = module.handler(dict(event), context)
            if response["statusCode"] != 200:
                raise SystemExit(f"unexpected {response['statusCode']}: {response.get('body')}")

        for _ in range(WARMUP_CALLS):
            call()
        samples = []
        for _ in range(args.calls):
            started = time.perf_counter()
            call()
            samples.append((time.perf_counter() - started) * 1000)
        print(f"body                 {len(body):,} bytes, {spans} spans, protobuf")
        print(
            f"ingest endpoint      p50 {percentile(samples, 50):.1f} ms  p99 {percentile(samples, 99):.1f} ms"
        )
        print(f"RESULT ingest_endpoint_p50_ms={percentile(samples, 50):.1f}")
        print(f"RESULT ingest_endpoint_p99_ms={percentile(samples, 99):.1f}")
        return 0
    finally:
        run_cleanups(cleanups)


if __name__ == "__main__":
    raise SystemExit(main())
