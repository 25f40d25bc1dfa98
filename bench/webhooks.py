"""Deliveries per second from one webhooks worker, as a ratio to a bare httpx client, in the same run.

The worker side is the real Lambda handler (`lamina.webhooks.worker.handler`) invoked on SQS-shaped batches of
delivery commands, as many as the template's BatchSize for the webhooks function (50), one batch after
another, as one Lambda instance would be: the Postgres inbox (claim + completion per envelope), the per-batch
subscription read, HMAC signing, the SSRF guard's resolution and pinning, and the delivery-log row per attempt
all included. Within a batch the handler has up to WEBHOOK_BATCH_CONCURRENCY requests in flight (the worker's
own design, not a benchmark trick). `--batch 10` measures the batches Lambda delivers without a batching
window.

The baseline is a bare `httpx.Client` (keep-alive, no guard, no database) posting the same bodies with
similar headers to the same receiver, one request after another. The same baseline run on the same number of
threads is printed too, for reference. The receiver is a small HTTP server in a child process answering 200.
Rounds alternate baseline and worker, each round short, so a round's two figures share the machine's load of
the moment (on a shared machine the baseline alone swings several-fold between rounds); the RESULT is the
median of the rounds' ratios, and the medians of the rates are printed too. Backends as in
bench/registry_retrieve.py.

    .venv/bin/python bench/webhooks.py [--deliveries 300] [--rounds 9] [--batch 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core")]

from bench.registry_retrieve import Context, run_cleanups, start_scratch_stack  # noqa: E402

DELIVERIES = 300
ROUNDS = 9
GOAL = 0.7
RECEIVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body leave as two segments: a 40 ms delayed ACK each

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def template_batch_size() -> int:
    """The BatchSize of the webhooks worker's SQS event in infra/template.yaml."""
    from lamina_local.template import read_template_file

    function = read_template_file(ROOT / "infra" / "template.yaml")["Resources"]["WebhooksWorkerFunction"]
    return int(function["Properties"]["Events"]["Queue"]["Properties"]["BatchSize"])


def start_receiver() -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def delivery_batches(
    subscription_id: uuid.UUID, project_id: uuid.UUID, count: int, batch: int = 10
) -> list[dict[str, Any]]:
    """SQS events as Lambda hands them to the worker: batches of `batch` fresh delivery commands."""
    from lamina.db.base import utcnow
    from lamina.queues.envelope import Envelope
    from lamina.webhooks.delivery import DELIVERY_COMMAND, DeliveryCommand

    arn = "arn:aws:sqs:us-east-1:123456789012:lamina-bench-webhooks"
    records = []
    for index in range(count):
        command = DeliveryCommand(
            subscription_id=subscription_id,
            event_id=uuid.uuid4(),
            event_type="secrets.secret.created",
            event_occurred_at=utcnow(),
            event_payload={"secret_id": str(uuid.uuid4()), "name": f"key-{index}"},
        )
        envelope = Envelope(
            type=DELIVERY_COMMAND, payload=command.model_dump(mode="json"), project_id=project_id
        )
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "body": envelope.to_body(),
                "attributes": {"ApproximateReceiveCount": "1"},
                "eventSourceARN": arn,
            }
        )
    return [{"Records": records[start : start + batch]} for start in range(0, count, batch)]


def bodies_of(batches: list[dict[str, Any]]) -> list[bytes]:
    from lamina.webhooks.delivery import DeliveryCommand, event_body

    bodies = []
    for batch in batches:
        for record in batch["Records"]:
            envelope = json.loads(record["body"])
            command = DeliveryCommand.model_validate(envelope["payload"])
            bodies.append(event_body(command, uuid.UUID(envelope["project_id"])))
    return bodies


# CPU seconds of this process (every thread: the worker's sending loop included) per run, by side: unlike the
# rates, hardly moved by the other processes on a shared machine. Postgres and the receiver are not counted.
CPU: dict[str, list[float]] = {"worker": [], "bare": []}


def run_worker(batches: list[dict[str, Any]]) -> float:
    from lamina.webhooks.worker import handler

    context = Context()
    started, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        result = handler(batch, context)
        assert not result["batchItemFailures"], result
    CPU["worker"].append(time.process_time() - cpu)
    return time.perf_counter() - started


def run_bare_httpx(url: str, bodies: list[bytes], threads: int = 1) -> float:
    import httpx

    headers = {
        "Content-Type": "application/json",
        "X-Lamina-Signature": "t=0,v1=" + "0" * 64,
        "Idempotency-Key": str(uuid.uuid4()),
    }
    with httpx.Client(timeout=10) as client:

        def post(body: bytes) -> None:
            assert client.post(url, content=body, headers=headers).status_code == 200

        started, cpu = time.perf_counter(), time.process_time()
        if threads == 1:
            for body in bodies:
                post(body)
            CPU["bare"].append(time.process_time() - cpu)
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(post, bodies))
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=DELIVERIES)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument(
        "--batch",
        type=int,
        default=template_batch_size(),
        help="records per SQS batch (the template's BatchSize)",
    )
    args = parser.parse_args()

    backends, env, cleanups = start_scratch_stack()
    receiver, port = start_receiver()
    cleanups.insert(0, receiver.kill)
    try:
        import boto3

        session = boto3.session.Session(
            region_name="us-east-1",
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "testing"),
            aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "testing"),
        )
        sqs = session.client("sqs", endpoint_url=backends.aws.url)
        env["WEBHOOKS_QUEUE_URL"] = sqs.create_queue(
            QueueName=f"lamina-bench-webhooks-{uuid.uuid4().hex[:6]}"
        )["QueueUrl"]
        env["LAMINA_OUTBOUND_ALLOW_LOOPBACK"] = "true"

        from lamina.db.migrate import upgrade
        from lamina.db.unit_of_work import unit_of_work
        from lamina.settings import Settings
        from lamina.state import configure
        from lamina.tenancy.principal import Principal, PrincipalKind
        from lamina.tenancy.service import seed_local_user
        from lamina.webhooks import schemas
        from lamina.webhooks.sender import WEBHOOK_BATCH_CONCURRENCY
        from lamina.webhooks.service import create_subscription

        configure(Settings(**env))
        upgrade(env["DATABASE_URL"])
        url = f"http://127.0.0.1:{port}/hook"
        with unit_of_work() as db:
            _, project, _ = seed_local_user(db, f"bench-{uuid.uuid4().hex[:6]}@example.com")
            principal = Principal(
                kind=PrincipalKind.SERVICE,
                project_id=project.id,
                workspace_id=project.workspace_id,
                organization_id=uuid.uuid4(),
                role="owner",
                service="bench",
            )
            fields = schemas.SubscriptionFields(data=schemas.SubscriptionData(url=url))
            subscription, _ = create_subscription(db, principal, fields)

        # Warm both sides (connections, the secret cache, imports) before measuring.
        warm = delivery_batches(subscription.id, project.id, 50)
        run_worker(warm)
        run_bare_httpx(url, bodies_of(warm))
        CPU["worker"].clear()
        CPU["bare"].clear()

        worker_rates, bare_rates, bare_threaded_rates = [], [], []
        for _ in range(args.rounds):
            batches = delivery_batches(subscription.id, project.id, args.deliveries, args.batch)
            bodies = bodies_of(batches)
            bare_rates.append(len(bodies) / run_bare_httpx(url, bodies))
            worker_rates.append(len(bodies) / run_worker(batches))
            bare_threaded_rates.append(len(bodies) / run_bare_httpx(url, bodies, WEBHOOK_BATCH_CONCURRENCY))

        from sqlalchemy import func, select

        from lamina.webhooks.models import WebhookDeliveryAttempt as Attempt

        with unit_of_work() as db:
            statuses = dict(db.execute(select(Attempt.status, func.count()).group_by(Attempt.status)).all())
            errors = (
                db.execute(select(Attempt.error).where(Attempt.error.is_not(None)).limit(3)).scalars().all()
            )
        print(f"delivery log: {statuses} {list(errors)}")
        worker = statistics.median(worker_rates)
        bare = statistics.median(bare_rates)
        bare_threaded = statistics.median(bare_threaded_rates)
        print(f"deliveries per round: {args.deliveries}, rounds: {args.rounds}, batch: {args.batch}")
        print(f"bare httpx, sequential          {bare:8.1f} /s  (rounds: {[round(r) for r in bare_rates]})")
        print(
            f"bare httpx, {WEBHOOK_BATCH_CONCURRENCY} threads           {bare_threaded:8.1f} /s  "
            f"(rounds: {[round(r) for r in bare_threaded_rates]})"
        )
        print(
            f"webhooks worker (1 instance)    {worker:8.1f} /s  (rounds: {[round(r) for r in worker_rates]})"
        )
        ratios = [w / b for w, b in zip(worker_rates, bare_rates, strict=True)]
        threaded_ratios = [w / b for w, b in zip(worker_rates, bare_threaded_rates, strict=True)]
        print(f"ratio per round vs bare sequential: {[round(r, 2) for r in ratios]}")
        print(
            f"ratio vs bare httpx on {WEBHOOK_BATCH_CONCURRENCY} threads (median of rounds): "
            f"{statistics.median(threaded_ratios):.2f}"
        )
        print(f"ratio of the median rates: {worker / bare:.2f}")
        per_delivery = {side: statistics.median(runs) / args.deliveries * 1e6 for side, runs in CPU.items()}
        print(
            f"CPU of this process per delivery (median): worker {per_delivery['worker']:.0f} us "
            f"(sending, signing, SQL building), bare httpx sequential {per_delivery['bare']:.0f} us"
        )
        print(f"RESULT webhooks_vs_httpx={statistics.median(ratios):.2f} goal>={GOAL}")
        return 0
    finally:
        run_cleanups(cleanups)


if __name__ == "__main__":
    raise SystemExit(main())
