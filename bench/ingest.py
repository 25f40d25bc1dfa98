"""Tracing worker ingest vs a raw COPY of the same rows into the same table, in one run.

(a) SPANS spans with realistic attributes (an agent → retriever + LLM call per trace: `ag.*`, OpenInference and
`gen_ai.*` attributes, JSON inputs/outputs, token usage priced by litellm) are stored in S3 as OTLP protobuf
bodies of BODY_SPANS spans, then the real tracing worker function consumes them (SQS events built here: the
queue is not what is measured). Its spans/s is compared with `COPY spans FROM STDIN` of the very rows it
wrote (dumped, the table emptied, then copied back), timed alone. A round is the two, one after the other,
from an empty table; the ratio is the median of ROUNDS rounds (the machine's load moves both alike). The
worker is warmed first with one small body (its first invocation builds clients and imports: a container's
cold start, not ingest speed).

    .venv/bin/python bench/ingest.py [--spans 100000] [--body-spans 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core"), str(ROOT / "bench")]

SPANS = 100_000
BODY_SPANS = 1_000
# One SQS batch per worker invocation, as the event source mapping delivers them.
SQS_BATCH = 10
ROUNDS = 3
WARM_UP_SPANS = 30
ERROR_RATE = 0.01
GOAL_RATIO = 0.5
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet-20240620")


class Context:
    function_name = "bench"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def otlp_body(spans: int, rng: random.Random) -> bytes:
    """An ExportTraceServiceRequest of `spans` spans, three per trace (agent → retrieve, chat)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    def attribute(key: str, value: Any) -> KeyValue:
        if isinstance(value, int):
            return KeyValue(key=key, value=AnyValue(int_value=value))
        return KeyValue(key=key, value=AnyValue(string_value=str(value)))

    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(attribute("service.name", "bench-agent"))
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "bench"
    now = time.time_ns()
    while len(scope.spans) < spans:
        trace_id = rng.randbytes(16)
        root_id = rng.randbytes(8)
        start = now - rng.randrange(3_600_000_000_000)
        question = " ".join(
            rng.choice(("why", "how", "what", "sky", "blue", "light", "scatter")) for _ in range(12)
        )
        shapes = [
            (
                root_id,
                b"",
                "agent",
                {
                    "ag.type.span": "agent",
                    "ag.data.inputs": json.dumps({"question": question}),
                    "ag.data.outputs": json.dumps({"answer": question[::-1]}),
                    "ag.session.id": f"s-{rng.randrange(1000)}",
                    "ag.user.id": f"u-{rng.randrange(100)}",
                },
            ),
            (
                rng.randbytes(8),
                root_id,
                "retrieve",
                {
                    "openinference.span.kind": "RETRIEVER",
                    "input.value": question,
                    "output.value": json.dumps([{"id": i, "text": question} for i in range(3)]),
                    "input.mime_type": "text/plain",
                },
            ),
            (
                rng.randbytes(8),
                root_id,
                "chat",
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.system": "openai",
                    "gen_ai.request.model": rng.choice(MODELS),
                    "gen_ai.usage.input_tokens": rng.randrange(100, 4000),
                    "gen_ai.usage.output_tokens": rng.randrange(10, 800),
                    "gen_ai.prompt.0.role": "user",
                    "gen_ai.prompt.0.content": question,
                    "gen_ai.completion.0.role": "assistant",
                    "gen_ai.completion.0.content": question[::-1],
                },
            ),
        ]
        for offset, (span_id, parent_id, name, attributes) in enumerate(shapes):
            span = scope.spans.add()
            span.trace_id, span.span_id, span.parent_span_id, span.name = trace_id, span_id, parent_id, name
            span.kind = 1
            span.start_time_unix_nano = start + offset * 1_000_000
            span.end_time_unix_nano = start + (offset + 1) * 50_000_000
            # About one span in a hundred failed: the error-threshold count runs as it would.
            span.status.code = 2 if rng.random() < ERROR_RATE else 1
            span.attributes.extend(attribute(key, value) for key, value in attributes.items())
            if len(scope.spans) == spans:
                break
    return bytes(request.SerializeToString())


def sqs_event(envelopes: list[Any]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "bench",
                "body": envelope.to_body(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench-tracing",
                "awsRegion": "us-east-1",
            }
            for envelope in envelopes
        ]
    }


def raw_copy_seconds(project_id: uuid.UUID) -> tuple[int, float]:
    """Dump the worker's rows, empty the table, and time COPY FROM STDIN of those rows alone."""
    from sqlalchemy import text

    from lamina.db.unit_of_work import unit_of_work
    from lamina.tracing.models import SPAN_COLUMNS

    columns = ", ".join(SPAN_COLUMNS)
    dump = io.BytesIO()
    with unit_of_work() as session:
        cursor: Any = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(
            f"COPY (SELECT {columns} FROM spans WHERE project_id = '{project_id}') TO STDOUT", stream=dump
        )
        session.execute(text("DELETE FROM spans WHERE project_id = :p"), {"p": project_id})
    rows = dump.getvalue().count(b"\n")
    with unit_of_work() as session:
        cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        started = time.perf_counter()
        cursor.execute(f"COPY spans ({columns}) FROM STDIN", stream=io.BytesIO(dump.getvalue()))
        session.commit()
        elapsed = time.perf_counter() - started
    return rows, elapsed


def empty_spans_table() -> None:
    """The next round starts from an empty table, as this one did (the scratch database holds only this)."""
    from sqlalchemy import text

    from lamina.db.unit_of_work import unit_of_work

    with unit_of_work() as session:
        session.execute(text("TRUNCATE spans"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=SPANS)
    parser.add_argument("--body-spans", type=int, default=BODY_SPANS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()

    from registry_retrieve import run_cleanups, start_scratch_stack

    _, env, cleanups = start_scratch_stack()
    try:
        env["LAMINA_BUCKET"] = f"lamina-bench-{uuid.uuid4().hex[:6]}"
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        from lamina import aws
        from lamina.db.migrate import upgrade
        from lamina.queues.envelope import Envelope
        from lamina.settings import Settings
        from lamina.state import configure
        from lamina.tracing import otlp
        from lamina.tracing.service import OTLP_RECEIVED, raw_body_key

        configure(Settings(**env))
        upgrade(env["DATABASE_URL"])
        aws.client("s3").create_bucket(Bucket=env["LAMINA_BUCKET"])
        # The error-threshold event a round's error spans raise goes out as it would in the stack.
        queue = aws.client("sqs").create_queue(QueueName=f"lamina-bench-events-{uuid.uuid4().hex[:6]}")
        env["EVENTS_QUEUE_URL"] = queue["QueueUrl"]
        configure(Settings(**env))
        rng = random.Random(7)
        keys = []
        for start in range(0, args.spans, args.body_spans):
            count = min(args.body_spans, args.spans - start)
            key = raw_body_key(uuid.uuid4(), otlp.PROTOBUF)
            aws.client("s3").put_object(Bucket=env["LAMINA_BUCKET"], Key=key, Body=otlp_body(count, rng))
            keys.append(key)

        def envelopes_of(project_id: uuid.UUID, keys: list[str]) -> list[Any]:
            payload = {"content_type": otlp.PROTOBUF}
            return [
                Envelope(type=OTLP_RECEIVED, project_id=project_id, payload={**payload, "key": key})
                for key in keys
            ]

        spec = importlib.util.spec_from_file_location(
            "bench_tracing_worker", ROOT / "functions" / "workers" / "tracing.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        import litellm  # noqa: F401  (imported once per container: not what is measured)

        warm_key = raw_body_key(uuid.uuid4(), otlp.PROTOBUF)
        aws.client("s3").put_object(
            Bucket=env["LAMINA_BUCKET"], Key=warm_key, Body=otlp_body(WARM_UP_SPANS, random.Random(1))
        )
        module.handler(sqs_event(envelopes_of(uuid.uuid4(), [warm_key])), Context())

        worker_rates, copy_rates, ratios = [], [], []
        for round_number in range(args.rounds):
            project_id = uuid.uuid4()
            envelopes = envelopes_of(project_id, keys)
            started = time.perf_counter()
            for start in range(0, len(envelopes), SQS_BATCH):
                result = module.handler(sqs_event(envelopes[start : start + SQS_BATCH]), Context())
                if result["batchItemFailures"]:
                    raise SystemExit(f"worker failures: {result}")
            worker_s = time.perf_counter() - started
            rows, copy_s = raw_copy_seconds(project_id)
            if rows != args.spans:
                raise SystemExit(f"the worker stored {rows} of {args.spans} spans")
            empty_spans_table()
            worker_rates.append(args.spans / worker_s)
            copy_rates.append(rows / copy_s)
            ratios.append(worker_rates[-1] / copy_rates[-1])
            print(
                f"round {round_number + 1}: worker {worker_rates[-1]:,.0f} spans/s ({worker_s:.2f} s), "
                f"raw COPY {copy_rates[-1]:,.0f} rows/s ({copy_s:.2f} s), ratio {ratios[-1]:.2f}"
            )
        # What the worker's time includes that raw COPY does not: reading the bodies back from S3 (moto here).
        started = time.perf_counter()
        for key in keys:
            aws.client("s3").get_object(Bucket=env["LAMINA_BUCKET"], Key=key)["Body"].read()
        s3_s = time.perf_counter() - started
        print(f"spans                {args.spans} (bodies of {args.body_spans}), {args.rounds} rounds")
        print(
            f"worker ingest        {statistics.median(worker_rates):,.0f} spans/s median"
            " (S3 read + decode + normalise + COPY/upsert)"
        )
        print(f"of which S3 reads    {s3_s:.2f} s a round (measured separately)")
        print(f"raw COPY             {statistics.median(copy_rates):,.0f} rows/s median")
        print(f"RESULT ingest_vs_copy={statistics.median(ratios):.2f} goal>={GOAL_RATIO}")
        return 0
    finally:
        run_cleanups(cleanups)


if __name__ == "__main__":
    raise SystemExit(main())
