"""The AWS emulator's state on disk (`lamina_local.aws_emulator`): what it acknowledged survives a crash.

In-process and fast: the emulator serves on a thread; a "crash" stops it without its final snapshot and wipes
moto's memory, as a SIGKILL would; a new emulator on the same folder restores the snapshot and its WAL.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

from lamina_local.aws_emulator import PersistentEmulator


@contextmanager
def emulator(state: Path) -> Iterator[tuple[PersistentEmulator, str]]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    instance = PersistentEmulator(state)
    instance.restore()
    server = make_server("127.0.0.1", 0, instance, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield instance, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        instance.store.close()


def crash() -> None:
    """What a SIGKILL leaves: no final snapshot, and moto's memory gone."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_every_acknowledged_write_survives_a_crash(tmp_path: Path) -> None:
    # GIVEN queues (with a DLQ), a bucket, a KMS key and a Cognito user, then data-plane writes that only the
    # WAL holds (no snapshot after them): messages sent, some received and deleted, objects large and small
    large = os.urandom(3 * 1024 * 1024)
    with emulator(tmp_path) as (instance, url):
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
        for index in range(20):
            sqs.send_message(QueueUrl=queue, MessageBody=f"message {index}")
        sqs.send_message(QueueUrl=dlq, MessageBody="dead letter")
        received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=5)["Messages"]
        sqs.delete_message_batch(
            QueueUrl=queue,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)],
        )
        s3.put_object(Bucket="workspaces", Key="otlp/large.bin", Body=large)
        s3.put_object(Bucket="workspaces", Key="otlp/deleted.bin", Body=b"x")
        s3.delete_object(Bucket="workspaces", Key="otlp/deleted.bin")
        assert instance.store.wal_bytes > len(large)

    # WHEN the emulator crashes and starts again on the same folder
    crash()
    with emulator(tmp_path) as (instance, url):
        sqs, s3, kms, idp = (client(name, url) for name in ("sqs", "s3", "kms", "cognito-idp"))
        # (provisioning creates its bucket again at every boot: idempotent, it must not empty the bucket)
        s3.create_bucket(Bucket="workspaces")
        # THEN every acknowledged write is there, and nothing deleted came back
        assert instance.replayed > 0
        bodies = set()
        for _ in range(10):
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            bodies.update(m["Body"] for m in messages)
        deleted = {m["Body"] for m in received}
        assert bodies == {f"message {index}" for index in range(20)} - deleted
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=dlq)["Messages"]] == ["dead letter"]
        assert s3.get_object(Bucket="workspaces", Key="otlp/large.bin")["Body"].read() == large
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket="workspaces").get("Contents", [])]
        assert listed == ["otlp/large.bin"]
        assert kms.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == b"provider key"
        assert [u["Username"] for u in idp.list_users(UserPoolId=pool)["Users"]] == ["ada"]
    crash()
