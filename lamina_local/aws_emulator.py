"""moto's server with its state kept on disk: `python -m lamina_local.aws_emulator --state DIR --port N`.

moto keeps everything in memory, so a restart lost every queued message and every S3 object. Here its WSGI
app is wrapped so that every write it acknowledges is in the state folder first (see `emulator_store`):

- a data-plane write (SQS SendMessage / DeleteMessage / PurgeQueue, S3 PutObject / DeleteObject / UploadPart
  / CopyObject, ...) is appended to the write-ahead log before its answer leaves; replay repeats the request,
  renaming the SQS message ids it makes to the original ones, and applies a DeleteMessage by message id;
- any other write (creating a queue, a bucket, a KMS key, a user pool or a user: rare, and moto draws their
  ids at random, so a replay would not reproduce them) is followed by a full snapshot before it is answered;
- reads are not logged; a receive changes only receive counts and visibility, which the next periodic
  snapshot keeps (a SIGKILL may roll them back by up to `SNAPSHOT_INTERVAL_S`, making a message visible again
  sooner: redelivery, which SQS allows, never loss).

Guarantee after a SIGKILL of the emulator or of `lamina up`: every write the emulator acknowledged survives.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import io
import json
import logging
import re
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from lamina_local.emulator_store import PERSISTED_SERVICES, EmulatorStore, WalRecord

logger = logging.getLogger("lamina.emulator")

SNAPSHOT_INTERVAL_S = 2.0
# A WAL this large is folded into a snapshot even before the interval, so a replay stays short.
WAL_SNAPSHOT_BYTES = 64 * 1024 * 1024
READ_PREFIXES = ("Get", "List", "Describe", "Head", "Receive", "Lookup", "Search")
PURE_READ_PREFIXES = ("Get", "List", "Describe", "Head")
READ_ACTIONS = {
    "Encrypt",
    "Decrypt",
    "ReEncrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateRandom",
    "Sign",
    "Verify",
    "GenerateMac",
    "VerifyMac",
    "InitiateAuth",
    "AdminInitiateAuth",
    "RespondToAuthChallenge",
    "AdminRespondToAuthChallenge",
    "ChangeMessageVisibility",  # visibility is transient: after a restart the message is visible, as on expiry
    "ChangeMessageVisibilityBatch",
}
SQS_SENDS = {"SendMessage", "SendMessageBatch"}
SQS_DELETES = {"DeleteMessage", "DeleteMessageBatch"}
LOGGED_SQS_ACTIONS = SQS_SENDS | SQS_DELETES | {"PurgeQueue"}
LOGGED_SECRETS_ACTIONS = {"PutSecretValue", "UpdateSecret"}
CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/")
MESSAGE_ID = re.compile(rb'"MessageId"\s*:\s*"([^"]+)"|<MessageId>([^<]+)</MessageId>')

READ, LOGGED, SNAPSHOTTED = "read", "logged", "snapshotted"


class ReadWriteLock:
    """Many calls at once, or one snapshot: a snapshot must not see the backends mid-change."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writer_waiting = False
        self._writing = False

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._writing and not self._writer_waiting)
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._writing and not self._writer_waiting)
            self._writer_waiting = True
            self._condition.wait_for(lambda: self._readers == 0)
            self._writer_waiting, self._writing = False, True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()


def service_and_action(environ: dict[str, Any], body: bytes) -> tuple[str, str]:
    """Which AWS service a request is for (from its signature's scope) and its action, when it names one."""
    authorization = environ.get("HTTP_AUTHORIZATION", "") or environ.get("QUERY_STRING", "")
    match = CREDENTIAL_SCOPE.search(authorization.replace("%2F", "/"))
    service = match.group(1) if match else ""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return service, target.rsplit(".", 1)[-1]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        action = parse_qs(body.decode(errors="replace")).get("Action", [""])[0]
        return service, action
    return service, parse_qs(environ.get("QUERY_STRING", "")).get("Action", [""])[0]


def classify(environ: dict[str, Any], body: bytes) -> str:
    method = environ["REQUEST_METHOD"]
    service, action = service_and_action(environ, body)
    if service == "s3" or (not action and not service):
        if method in ("GET", "HEAD", "OPTIONS"):
            return READ
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        creates = method == "PUT" and environ.get("PATH_INFO", "/").strip("/").count("/") == 0
        if creates or "uploads" in query:  # a bucket, or a multipart upload (random id): snapshot
            return SNAPSHOTTED
        return LOGGED
    if not action or action.startswith(READ_PREFIXES) or action in READ_ACTIONS:
        return READ
    if (service == "sqs" and action in LOGGED_SQS_ACTIONS) or (
        service == "secretsmanager" and action in LOGGED_SECRETS_ACTIONS
    ):
        return LOGGED
    return SNAPSHOTTED


class PersistentEmulator:
    """A WSGI app: moto's, with every acknowledged write kept in `state_dir`."""

    def __init__(self, state_dir: Path, *, fsync: bool = False) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self.app = DomainDispatcherApplication(create_backend_app)
        self.store = EmulatorStore(state_dir, fsync=fsync)
        self.lock = ReadWriteLock()
        self.writes = threading.Lock()  # a write and its WAL record, in the order they happened
        self.dirty = False
        self.last_snapshot = time.monotonic()
        self.replayed = 0

    # ---------------------------------------------------------------- boot

    def restore(self) -> None:
        backends, records = self.store.load()
        if backends is not None:
            _install_backends(backends)
        for record in records:
            self._replay(record)
        self.replayed = len(records)
        _release_in_flight_messages()
        self.store.open_wal()
        if records:
            self.snapshot()

    def _replay(self, record: WalRecord) -> None:
        if record.deleted_messages:
            _delete_messages(record.deleted_messages)
            return
        from werkzeug.test import EnvironBuilder

        builder = EnvironBuilder(
            path=record.path,
            method=record.method,
            query_string=record.query_string.decode(),
            headers=record.headers,
            data=record.body,
        )
        _status, _, chunks = _call(self.app, builder.get_environ())
        if record.sent_message_ids:
            _rename_messages(_message_ids(b"".join(chunks)), record.sent_message_ids)

    # ---------------------------------------------------------------- serving

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            with self.lock.shared():
                status, headers, chunks = _call(self.app, environ)
                self.dirty = True  # a reset or a seed: the next periodic snapshot keeps its effect
            start_response(status, headers)
            return chunks
        body = _read_body(environ)
        kind = classify(environ, body)
        with self.lock.shared():
            if kind == READ:
                status, headers, chunks = _call(self.app, environ)
                # A receive (receive counts, a redrive to the DLQ) or a sign-in (tokens moto remembers)
                # changed something: the next periodic snapshot keeps it.
                _, action = service_and_action(environ, body)
                if not action.startswith(PURE_READ_PREFIXES) and environ["REQUEST_METHOD"] not in (
                    "GET",
                    "HEAD",
                ):
                    self.dirty = True
            else:
                with self.writes:
                    status, headers, chunks = self._write(environ, body, kind)
        if kind == SNAPSHOTTED and _succeeded(status):
            self.snapshot()
        start_response(status, headers)
        return chunks

    def _write(self, environ: dict[str, Any], body: bytes, kind: str) -> tuple[str, list[Any], list[bytes]]:
        _, action = service_and_action(environ, body)
        deleted = _messages_for_receipts(_receipt_handles(environ, body)) if action in SQS_DELETES else []
        request = (environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"), _headers(environ))
        status, headers, chunks = _call(self.app, environ)
        if _succeeded(status):
            self.dirty = True
            if kind == LOGGED:
                record = WalRecord(
                    method=request[0],
                    path=request[1],
                    query_string=environ.get("QUERY_STRING", "").encode(),
                    headers=request[2],
                    body=body,
                    sent_message_ids=_message_ids(b"".join(chunks)) if action in SQS_SENDS else [],
                    deleted_messages=deleted,
                )
                self.store.append(record)
        return status, headers, chunks

    def snapshot(self) -> None:
        with self.lock.exclusive():
            self.store.snapshot(_current_backends())
            self.dirty = False
            self.last_snapshot = time.monotonic()

    def snapshot_periodically(self, stop: threading.Event) -> None:
        while not stop.wait(SNAPSHOT_INTERVAL_S / 4):
            due = time.monotonic() - self.last_snapshot >= SNAPSHOT_INTERVAL_S
            if (self.dirty and due) or self.store.wal_bytes >= WAL_SNAPSHOT_BYTES:
                try:
                    self.snapshot()
                except Exception:
                    logger.exception("emulator snapshot failed; the WAL still holds every write")


# -------------------------------------------------------------------- moto's backends


def _current_backends() -> dict[str, Any]:
    from moto.backends import get_backend

    return {
        name: {account: dict(regions) for account, regions in get_backend(name).items()}  # type: ignore[call-overload]
        for name in PERSISTED_SERVICES
    }


def _install_backends(saved: dict[str, Any]) -> None:
    from moto.backends import get_backend

    for name, accounts in saved.items():
        backend_dict: Any = get_backend(name)  # type: ignore[call-overload]
        for account, regions in accounts.items():
            per_account = backend_dict[account]
            per_account.clear()
            per_account.update(regions)
            if name == "s3":
                # moto finds a bucket by name through a registry outside the backends; without it a
                # CreateBucket (provisioning at every boot) would replace a restored bucket with an empty one.
                for partition, backend in regions.items():
                    for bucket_name in backend.buckets:
                        backend_dict.bucket_accounts[bucket_name] = (partition, account)


def _sqs_queues() -> Iterator[Any]:
    from moto.backends import get_backend

    backend_dict: Any = get_backend("sqs")
    for regions in backend_dict.values():
        for backend in regions.values():
            yield from backend.queues.values()


def _messages_for_receipts(handles: list[str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    wanted = set(handles)
    for queue in _sqs_queues():
        for message in queue._messages:
            if wanted.intersection(h for h in message.all_receipt_handles if h):
                found.append((queue.name, message.id))
    return found


def _delete_messages(deleted: list[tuple[str, str]]) -> None:
    by_queue: dict[str, set[str]] = {}
    for queue_name, message_id in deleted:
        by_queue.setdefault(queue_name, set()).add(message_id)
    for queue in _sqs_queues():
        ids = by_queue.get(queue.name)
        if ids:
            for message in [m for m in queue._messages if m.id in ids]:
                queue.pending_messages.discard(message)
            queue._messages = [m for m in queue._messages if m.id not in ids]


def _release_in_flight_messages() -> None:
    """After a restart, messages received before it are visible again at once.

    Their consumers were `lamina up`'s pollers, gone with the emulator when the supervisor died; left alone they
    would wait out the whole visibility timeout (240 s and more). A consumer that did survive may see one
    again: SQS's at-least-once, which the workers' inbox absorbs.
    """
    for queue in _sqs_queues():
        for message in queue._messages:
            if not message.visible and not message.delayed:
                message.change_visibility(0)
        queue.pending_messages.clear()


def _rename_messages(replayed_ids: list[str], original_ids: list[str]) -> None:
    renames = dict(zip(replayed_ids, original_ids, strict=False))
    for queue in _sqs_queues():
        for message in queue._messages:
            if message.id in renames:
                message.id = renames[message.id]


# -------------------------------------------------------------------- WSGI plumbing


def _read_body(environ: dict[str, Any]) -> bytes:
    """The whole request body, handed back to moto as a buffer (it is also what the WAL records)."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    body = (
        stream.read(int(length)) if length else stream.read() if environ.get("wsgi.input_terminated") else b""
    )
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return bytes(body)


def _headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    headers = [
        (key[5:].replace("_", "-").title(), str(value))
        for key, value in environ.items()
        if key.startswith("HTTP_") and key != "HTTP_CONTENT_LENGTH"
    ]
    if environ.get("CONTENT_TYPE"):
        headers.append(("Content-Type", environ["CONTENT_TYPE"]))
    return headers


def _call(app: Any, environ: dict[str, Any]) -> tuple[str, list[Any], list[bytes]]:
    captured: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, headers
        return chunks.append

    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return captured["status"], captured["headers"], chunks


def _succeeded(status: str) -> bool:
    return status[:1] in ("2", "3")


def _message_ids(body: bytes) -> list[str]:
    return [(json_id or xml_id).decode() for json_id, xml_id in MESSAGE_ID.findall(body)]


def _receipt_handles(environ: dict[str, Any], body: bytes) -> list[str]:
    if environ.get("HTTP_X_AMZ_TARGET"):
        document = json.loads(body or b"{}")
        entries = document.get("Entries") or [document]
        return [entry["ReceiptHandle"] for entry in entries if entry.get("ReceiptHandle")]
    form = parse_qs(body.decode(errors="replace"))
    return [values[0] for key, values in form.items() if key.endswith("ReceiptHandle")]


# -------------------------------------------------------------------- the process


def serve(state_dir: Path, host: str, port: int, *, fsync: bool = False) -> None:
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from lamina_local.moto_speedups import install

    install()
    started = time.monotonic()
    emulator = PersistentEmulator(state_dir, fsync=fsync)
    emulator.restore()
    server = make_server(host, port, emulator, threaded=True, request_handler=MotoRequestHandler)
    stop = threading.Event()
    snapshotter = threading.Thread(target=emulator.snapshot_periodically, args=(stop,), daemon=True)
    snapshotter.start()

    def shut_down(*_: Any) -> None:
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    print(
        f"AWS emulator on http://{host}:{server.server_port}, state in {state_dir} "
        f"(restored in {time.monotonic() - started:.2f} s, {emulator.replayed} WAL records replayed)",
        flush=True,
    )
    server.serve_forever()
    if emulator.dirty:
        emulator.snapshot()
    emulator.store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lamina_local.aws_emulator")
    parser.add_argument("--state", type=Path, required=True, help="folder holding the emulator's state")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    parser.add_argument(
        "--fsync", action="store_true", help="flush every write to disk (survives power loss)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    args.state.mkdir(parents=True, exist_ok=True)
    serve(args.state, args.host, args.port, fsync=args.fsync)
    return 0


if __name__ == "__main__":
    sys.exit(main())
