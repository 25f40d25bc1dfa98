"""The AWS emulator's state on disk (`lamina_local.aws_emulator`): what it acknowledged survives a crash.

Each phase runs in a process of its own (moto's backends are process-wide): the first writes and ends with
`os._exit` (no final snapshot, as after a SIGKILL); the second restores the snapshot and the WAL and checks.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from lamina_local.aws_emulator import PersistentEmulator

LARGE_BYTES = 3 * 1024 * 1024


@contextmanager
def emulator(state: Path, *, fsync: bool = False) -> Iterator[tuple[PersistentEmulator, str]]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    instance = PersistentEmulator(state, fsync=fsync)
    instance.restore()
    server = make_server("127.0.0.1", 0, instance, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield instance, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        instance.store.close()


def client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def write_then_crash(state: Path, fsync: bool) -> None:
    """Phase one, in a process of its own: acknowledged writes, then the process ends without a snapshot."""
    with emulator(state, fsync=fsync) as (instance, url):
        sqs, s3, kms, idp = (client(name, url) for name in ("sqs", "s3", "kms", "cognito-idp"))
        dlq = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
        queue = sqs.create_queue(QueueName="work", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
        s3.create_bucket(Bucket="workspaces")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        ciphertext = kms.encrypt(KeyId=key_id, Plaintext=b"provider key")["CiphertextBlob"]
        pool = idp.create_user_pool(PoolName="users")["UserPool"]["Id"]
        idp.admin_create_user(UserPoolId=pool, Username="ada")
        # What follows is only in the WAL: the periodic snapshot is not running here.
        for index in range(20):
            sqs.send_message(QueueUrl=queue, MessageBody=f"message {index}")
        sqs.send_message(QueueUrl=dlq, MessageBody="dead letter")
        received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=5)["Messages"]
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)],
        )
        s3.put_object(Bucket="workspaces", Key="otlp/large.bin", Body=(state / "large.bin").read_bytes())
        s3.put_object(Bucket="workspaces", Key="otlp/deleted.bin", Body=b"x")
        s3.delete_object(Bucket="workspaces", Key="otlp/deleted.bin")
        assert instance.store.wal_bytes > LARGE_BYTES
        expected = {
            "queue": queue,
            "dlq": dlq,
            "deleted": [m["Body"] for m in received],
            "ciphertext": ciphertext.hex(),
            "pool": pool,
        }
        (state / "expected.json").write_text(json.dumps(expected))
    os._exit(0)  # no interpreter shutdown, no final snapshot: what a SIGKILL leaves


def restart_and_check(state: Path, fsync: bool) -> None:
    """Phase two, in a fresh process: restore from the folder and find every acknowledged write."""
    expected = json.loads((state / "expected.json").read_text())
    large = (state / "large.bin").read_bytes()
    with emulator(state, fsync=fsync) as (instance, url):
        sqs, s3, kms, idp = (client(name, url) for name in ("sqs", "s3", "kms", "cognito-idp"))
        # (provisioning creates its bucket again at every boot: idempotent, it must not empty the bucket)
        s3.create_bucket(Bucket="workspaces")
        assert instance.replayed > 0
        bodies = set()
        for _ in range(10):
            messages = sqs.receive_message(QueueUrl=expected["queue"], MaxNumberOfMessages=10).get(
                "Messages", []
            )
            bodies.update(m["Body"] for m in messages)
        assert bodies == {f"message {index}" for index in range(20)} - set(expected["deleted"])
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=expected["dlq"])["Messages"]] == [
            "dead letter"
        ]
        assert s3.get_object(Bucket="workspaces", Key="otlp/large.bin")["Body"].read() == large
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket="workspaces").get("Contents", [])]
        assert listed == ["otlp/large.bin"]
        plaintext = kms.decrypt(CiphertextBlob=bytes.fromhex(expected["ciphertext"]))["Plaintext"]
        assert plaintext == b"provider key"
        assert [u["Username"] for u in idp.list_users(UserPoolId=expected["pool"])["Users"]] == ["ada"]


def run_in_own_process(target: Any, state: Path, fsync: bool) -> int:
    """moto's backends are process-wide: each phase gets a process of its own, as each emulator boot does."""
    process = multiprocessing.get_context("spawn").Process(target=target, args=(state, fsync))
    process.start()
    process.join(timeout=120)
    return int(process.exitcode if process.exitcode is not None else -1)


# fsync: what `lamina up --fsync` runs, every record flushed (the same guarantee here, plus a power loss's).
@pytest.mark.parametrize("fsync", [False, True], ids=["write", "fsync"])
def test_every_acknowledged_write_survives_a_crash(tmp_path: Path, fsync: bool) -> None:
    # GIVEN queues (with a DLQ), a bucket, a KMS key and a Cognito user, then data-plane writes that only the
    # WAL holds: messages sent, some received and deleted, objects large and small; WHEN the process dies
    (tmp_path / "large.bin").write_bytes(os.urandom(LARGE_BYTES))
    assert run_in_own_process(write_then_crash, tmp_path, fsync) == 0
    # THEN a new emulator on the same folder has every acknowledged write, and nothing deleted came back
    assert run_in_own_process(restart_and_check, tmp_path, fsync) == 0
