"""The AWS emulator's state on disk: a snapshot of moto's backends plus a write-ahead log of the calls since.

Layout of `<state>/aws/`:
  snapshot.pickle   moto's backends (SQS, S3, KMS, Cognito, Secrets Manager) and the WAL generation it starts
  wal-<n>.log       every acknowledged write since that snapshot, one length-prefixed record each
  objects/<sha256>  S3 object bodies, content-addressed, written once: a snapshot refers to them, so a large
                    object is not rewritten by every snapshot

A record is written with one `write(2)` on an O_APPEND descriptor before the emulator answers the call, so an
acknowledged write survives a SIGKILL of any process (the page cache outlives it), but a power loss or a
kernel crash may lose the writes the kernel had not flushed yet (seconds' worth). `fsync=True` (`lamina up
--fsync`) also makes every acknowledged write survive those, at the price of a disk flush per write: each
record is fdatasync'ed, and so is the folder when a WAL file is created or a snapshot renamed into place.
Snapshots themselves are always flushed before they replace the previous one.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The services the stack provisions and uses; the others keep no state worth keeping.
PERSISTED_SERVICES = ("sqs", "s3", "kms", "cognito-idp", "secretsmanager")
SNAPSHOT_FILE = "snapshot.pickle"
RECORD_HEADER = struct.Struct(">I")
_RLOCK_TYPE = type(threading.RLock())
_LOCK_TYPE = type(threading.Lock())


@dataclass
class WalRecord:
    """One acknowledged write: the HTTP request as moto received it, plus what replay needs to repeat it."""

    method: str
    path: str
    query_string: bytes
    headers: list[tuple[str, str]]
    body: bytes
    # SQS: the message ids the original call created (a replay renames its own to these) ...
    sent_message_ids: list[str] = field(default_factory=list)
    # ... and the (queue name, message id) a DeleteMessage removed: receipt handles do not survive a replay.
    deleted_messages: list[tuple[str, str]] = field(default_factory=list)


def _load_private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, None)


def _new_condition() -> threading.Condition:
    return threading.Condition()


def _restore_key_value(key: Any, state: dict[str, Any]) -> None:
    """A snapshot's S3 object: its body comes back from the blob store."""
    blob_path = state.pop("_lamina_blob_path")
    state["value"] = Path(blob_path).read_bytes()
    key.__setstate__(state)
    key._lamina_blob = Path(blob_path).name


class _BackendPickler(pickle.Pickler):
    """Pickles moto's backends: locks and conditions are made anew, private keys go as PEM, S3 bodies as blobs."""

    def __init__(self, file: io.BytesIO, blobs: Path) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.blobs = blobs
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
        from moto.s3.models import FakeKey

        self._private_keys = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)
        self._fake_key = FakeKey
        self.referenced_blobs: set[str] = set()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _RLOCK_TYPE):
            return (threading.RLock, ())
        if isinstance(obj, _LOCK_TYPE):
            return (threading.Lock, ())
        if isinstance(obj, threading.Condition):
            return (_new_condition, ())
        if isinstance(obj, self._private_keys):
            from cryptography.hazmat.primitives import serialization

            pem = obj.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            return (_load_private_key, (pem,))
        if isinstance(obj, self._fake_key):
            return self._reduce_s3_object(obj)
        return NotImplemented

    def _reduce_s3_object(self, key: Any) -> Any:
        state = key.__getstate__()
        value = state.pop("value")
        blob = getattr(key, "_lamina_blob", None)
        if blob is None or not (self.blobs / blob).exists():
            data = value.encode() if isinstance(value, str) else bytes(value)
            blob = hashlib.sha256(data).hexdigest()
            path = self.blobs / blob
            if not path.exists():
                _write_atomically(path, data)
            key._lamina_blob = blob
        state.pop("_lamina_blob", None)
        self.referenced_blobs.add(blob)
        state["_lamina_blob_path"] = str(self.blobs / blob)
        return (type(key).__new__, (type(key),), state, None, None, _restore_key_value)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a created or renamed file), which a file's own fsync does not cover."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class EmulatorStore:
    """Snapshot + WAL in one folder. Not thread-safe: the emulator serialises the calls."""

    def __init__(self, folder: Path, *, fsync: bool = False) -> None:
        self.folder = folder
        self.blobs = folder / "objects"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.generation = 0
        self.wal_bytes = 0
        self._wal_fd: int | None = None

    def wal_path(self, generation: int) -> Path:
        return self.folder / f"wal-{generation}.log"

    # ---------------------------------------------------------------- boot

    def load(self) -> tuple[dict[str, Any] | None, list[WalRecord]]:
        """The last snapshot's backends (None when there is none) and the WAL records written after it."""
        snapshot_path = self.folder / SNAPSHOT_FILE
        backends: dict[str, Any] | None = None
        if snapshot_path.exists():
            document = pickle.loads(snapshot_path.read_bytes())
            self.generation, backends = document["generation"], document["backends"]
        records = list(self._read_wal(self.wal_path(self.generation)))
        for stale in self.folder.glob("wal-*.log"):
            if stale != self.wal_path(self.generation):
                stale.unlink()
        return backends, records

    def _read_wal(self, path: Path) -> Iterator[WalRecord]:
        if not path.exists():
            return
        data = path.read_bytes()
        offset = 0
        while offset + RECORD_HEADER.size <= len(data):
            (length,) = RECORD_HEADER.unpack_from(data, offset)
            start = offset + RECORD_HEADER.size
            if start + length > len(data):
                break  # a record torn by a crash mid-write was never acknowledged
            yield pickle.loads(data[start : start + length])
            offset = start + length

    def open_wal(self) -> None:
        path = self.wal_path(self.generation)
        self._wal_fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.wal_bytes = path.stat().st_size
        if self.fsync:
            _fsync_folder(self.folder)  # the new file's name, and the snapshot renamed before it

    # ---------------------------------------------------------------- writes

    def append(self, record: WalRecord) -> None:
        """Write one record durably enough that it outlives this process, before the call is answered."""
        assert self._wal_fd is not None
        payload = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        data = RECORD_HEADER.pack(len(payload)) + payload
        written = os.write(self._wal_fd, data)
        if written != len(data):
            raise OSError(f"short write to the emulator's WAL ({written} of {len(data)} bytes)")
        if self.fsync:
            os.fdatasync(self._wal_fd)
        self.wal_bytes += len(data)

    def snapshot(self, backends: dict[str, Any]) -> None:
        """Write every backend, then start an empty WAL for the next generation and drop the old one."""
        buffer = io.BytesIO()
        next_generation = self.generation + 1
        pickler = _BackendPickler(buffer, self.blobs)
        pickler.dump({"generation": next_generation, "backends": backends})
        if self.fsync:
            _fsync_folder(self.blobs)  # the bodies the snapshot refers to are there before it is
        _write_atomically(self.folder / SNAPSHOT_FILE, buffer.getvalue())
        old = self.wal_path(self.generation)
        if self._wal_fd is not None:
            os.close(self._wal_fd)
        self.generation = next_generation
        self.open_wal()
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
        self._collect_blobs(pickler.referenced_blobs)

    def _collect_blobs(self, referenced: set[str]) -> None:
        """Delete the bodies the snapshot just written no longer refers to (deleted or overwritten objects)."""
        for blob in self.blobs.iterdir():
            if blob.name not in referenced and not blob.name.endswith(".tmp"):
                blob.unlink()

    def close(self) -> None:
        if self._wal_fd is not None:
            os.close(self._wal_fd)
            self._wal_fd = None
