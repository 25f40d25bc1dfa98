"""Shared by the evaluation tests and the fan-out benchmark: a test set, evaluators and an application in a
project, and the evaluations worker driven the way Lambda's SQS poller drives it."""

from __future__ import annotations

import importlib.util
import json
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from tests.support import ROOT, LambdaContext

PROVIDER = "fakeai"
_worker: Any = None

EXPLODING_CODE = """
def evaluate(inputs, outputs, testcase):
    if testcase.get("explode"):
        raise ValueError("boom: this evaluator raises on purpose")
    return {"score": len(str(outputs)) / 100.0, "long": len(str(outputs)) > 22}
"""


def evaluations_worker() -> Any:
    """functions/workers/evaluations.py imported like Lambda imports it (once per process)."""
    global _worker
    if _worker is None:
        path = ROOT / "functions" / "workers" / "evaluations.py"
        spec = importlib.util.spec_from_file_location("lamina_fn_evaluations_worker_for_tests", path)
        assert spec and spec.loader
        _worker = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_worker)
    return _worker.handler


def principal_of(project_id: uuid.UUID) -> Any:
    from lamina.db.unit_of_work import unit_of_work
    from lamina.evaluations.worker import service_principal

    with unit_of_work() as session:
        return service_principal(session, project_id)


def make_testset(project_id: uuid.UUID, rows: Sequence[dict[str, Any]]) -> uuid.UUID:
    """A test set with one revision holding `rows`; its revision id."""
    from lamina.db.unit_of_work import unit_of_work
    from lamina.testsets import service as testsets

    principal = principal_of(project_id)
    slug = f"ts-{uuid.uuid4().hex[:8]}"
    with unit_of_work() as session:
        testset = testsets.create_testset(session, principal, slug=slug, name=slug)
        variant = testsets.create_variant(session, principal, testset.id, slug=f"{slug}-main")
        revision = testsets.commit_testcases(
            session, principal, variant.id, testcases=[{"data": dict(row)} for row in rows]
        )
        return revision.id


def make_evaluator(project_id: uuid.UUID, key: str, parameters: dict[str, Any]) -> uuid.UUID:
    """An evaluator revision of the built-in kind `key` (e.g. `auto_exact_match`); its id."""
    from lamina.artifacts import revisions
    from lamina.artifacts import service as artifacts
    from lamina.db.unit_of_work import unit_of_work
    from lamina.evaluators.service import EVALUATORS

    principal = principal_of(project_id)
    slug = f"ev-{uuid.uuid4().hex[:8]}"
    with unit_of_work() as session:
        evaluator = artifacts.create_artifact(session, EVALUATORS, principal, slug=slug, name=slug)
        variant = artifacts.create_variant(session, EVALUATORS, principal, evaluator.id, slug=f"{slug}-main")
        revision = revisions.commit(
            session,
            EVALUATORS,
            principal,
            variant.id,
            data={"uri": f"agenta:builtin:{key}:v0", "parameters": parameters},
        )
        return revision.id


def application_data(
    model: str = f"{PROVIDER}/fake-model", content: str = "Say hi to {{name}}."
) -> dict[str, Any]:
    return {
        "parameters": {
            "prompt": {
                "messages": [{"role": "user", "content": content}],
                "template_format": "curly",
                "llm_config": {"model": model},
            }
        }
    }


def drain(
    queue_url: str,
    done: Callable[[], bool],
    *,
    timeout_s: float = 60.0,
    max_batch: int = 5,
    keep: Callable[[dict[str, Any]], bool] | None = None,
) -> int:
    """Feed the queue's messages to the worker (batches of `max_batch`, as the event-source mapping does)
    and delete what succeeded, until `done()`; returns how many invocations ran."""
    from lamina import aws

    sqs = aws.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    invocations = 0
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "the run did not finish in time"
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=max_batch, WaitTimeSeconds=1, AttributeNames=["All"]
        ).get("Messages", [])
        if keep is not None:
            messages = [message for message in messages if keep(message)]
        if not messages:
            continue
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": arn,
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
        }
        try:
            response = evaluations_worker()(event, LambdaContext())
            failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        except Exception:
            failed = {m["MessageId"] for m in messages}
        invocations += 1
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return invocations


def message_types(queue_url: str) -> list[tuple[str, dict[str, Any]]]:
    """Every envelope waiting on a queue (received and deleted)."""
    from lamina import aws

    sqs = aws.client("sqs")
    found: list[tuple[str, dict[str, Any]]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return found
        for message in messages:
            body = json.loads(message["Body"])
            found.append((body["type"], body["payload"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
