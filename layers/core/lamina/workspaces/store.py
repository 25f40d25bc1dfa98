"""A session's workspace as files on local disk mirrored to one S3 prefix.

`restore()` downloads the prefix into an empty directory before a turn. `checkpoint()` uploads what changed
since the last sync and deletes what was removed, by comparing a manifest of (size, mtime, sha256) per file
with a fresh scan; it runs periodically during a turn and once after it, so a runner killed with SIGKILL
loses only what changed since its last checkpoint. Transfers run concurrently on one client whose connection
pool is sized for them; files past MULTIPART_THRESHOLD go through boto3's multipart transfer.

The manifest lives in the runner's memory, not in the workspace: the harness writes the workspace and must
not be able to make the runner skip (or re-upload) files by editing it.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from lamina.workspaces.credentials import ScopedCredentials

WORKSPACES_PREFIX = "workspaces"
DEFAULT_CONCURRENCY = 16
MULTIPART_THRESHOLD = 16 * 1024 * 1024
MULTIPART_CHUNK = 8 * 1024 * 1024
MULTIPART_CONCURRENCY = 4
HASH_BLOCK = 1024 * 1024
S3_DELETE_BATCH = 1000
SHA256_METADATA = "sha256"


class WorkspaceError(RuntimeError):
    """A workspace could not be restored or synced."""


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int
    sha256: str | None


@dataclass
class SyncStats:
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    downloaded: int = 0
    bytes: int = 0


def session_prefix(project_id: uuid.UUID | str, session_id: uuid.UUID | str) -> str:
    """The one S3 prefix holding a session's files: per project, then per session."""
    return f"{WORKSPACES_PREFIX}/{project_id}/{session_id}/files/"


def workspace_client(
    settings: Any, credentials: ScopedCredentials | None = None, concurrency: int = DEFAULT_CONCURRENCY
) -> Any:
    """An S3 client for workspace transfers: a pool as large as the transfers, scoped credentials if given."""
    import boto3
    from botocore.config import Config

    if credentials is not None:
        session = boto3.session.Session(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
        )
    else:
        session = boto3.session.Session(
            aws_access_key_id=settings.aws_access_key_id,
            aws_secret_access_key=settings.aws_secret_access_key,
            aws_session_token=settings.aws_session_token,
        )
    return session.client(
        "s3",
        region_name=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url or None,
        config=Config(
            max_pool_connections=concurrency + MULTIPART_CONCURRENCY,
            retries={"max_attempts": 4, "mode": "standard"},
            connect_timeout=3,
            read_timeout=60,
        ),
    )


def _safe_relative(key_tail: str) -> str | None:
    """A key's path inside the workspace, or None when it would escape it."""
    path = PurePosixPath(key_tail)
    if not key_tail or path.is_absolute() or any(part in ("..", ".", "") for part in path.parts):
        return None
    return path.as_posix()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


class Workspace:
    """One session's directory and its S3 prefix; thread-safe (one sync at a time)."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str,
        root: Path,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        if not prefix.endswith("/"):
            raise ValueError("a workspace prefix ends with '/'")
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.root = root
        self.concurrency = concurrency
        self.manifest: dict[str, FileState] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="workspace")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ restore

    def restore(self) -> SyncStats:
        """Download the session's files into `root` (created if missing) and remember them as synced."""
        with self._lock:
            self.root.mkdir(parents=True, exist_ok=True)
            objects = list(self._list())
            stats = SyncStats()
            for relative, state in self._map(self._download, objects):
                self.manifest[relative] = state
                stats.downloaded += 1
                stats.bytes += state.size
            return stats

    def _list(self) -> Iterable[tuple[str, int]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents") or []:
                relative = _safe_relative(item["Key"][len(self.prefix) :])
                if relative is not None:
                    yield relative, int(item["Size"])

    def _download(self, item: tuple[str, int]) -> tuple[str, FileState]:
        relative, size = item
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        key = self.prefix + relative
        sha: str | None = None
        if size >= MULTIPART_THRESHOLD:
            self.client.download_file(self.bucket, key, str(target), Config=_transfer_config())
        else:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            target.write_bytes(response["Body"].read())
            sha = (response.get("Metadata") or {}).get(SHA256_METADATA)
        stat = target.stat()
        return relative, FileState(stat.st_size, stat.st_mtime_ns, sha)

    # ------------------------------------------------------------------ checkpoint / sync back

    def checkpoint(self) -> SyncStats:
        """Upload the files changed since the last sync, delete the removed ones; what changed is returned."""
        with self._lock:
            current = self._scan()
            changed = [
                (relative, state)
                for relative, state in current.items()
                if (known := self.manifest.get(relative)) is None
                or (known.size, known.mtime_ns) != (state.size, state.mtime_ns)
            ]
            removed = sorted(set(self.manifest) - set(current))
            stats = SyncStats()
            for relative, state, uploaded in self._map(self._upload, changed):
                self.manifest[relative] = state
                if uploaded:
                    stats.uploaded.append(relative)
                    stats.bytes += state.size
            if removed:
                self._delete(removed)
                for relative in removed:
                    self.manifest.pop(relative, None)
                stats.deleted = removed
            stats.uploaded.sort()
            return stats

    def _scan(self) -> dict[str, FileState]:
        found: dict[str, FileState] = {}
        root = str(self.root)
        for directory, subdirectories, files in os.walk(root):
            # Symlinks are not followed or synced: one could point outside the workspace.
            subdirectories[:] = [d for d in subdirectories if not os.path.islink(os.path.join(directory, d))]
            for name in files:
                path = os.path.join(directory, name)
                try:
                    stat = os.lstat(path)
                except FileNotFoundError:
                    continue
                if not os.path.isfile(path) or os.path.islink(path):
                    continue
                relative = os.path.relpath(path, root).replace(os.sep, "/")
                found[relative] = FileState(stat.st_size, stat.st_mtime_ns, None)
        return found

    def _upload(self, item: tuple[str, FileState]) -> tuple[str, FileState, bool]:
        relative, scanned = item
        path = self.root / relative
        key = self.prefix + relative
        known = self.manifest.get(relative)
        if scanned.size >= MULTIPART_THRESHOLD:
            sha = _sha256_of(path)
            if known is not None and known.sha256 == sha:
                return relative, FileState(scanned.size, scanned.mtime_ns, sha), False
            self.client.upload_file(
                str(path),
                self.bucket,
                key,
                ExtraArgs={"Metadata": {SHA256_METADATA: sha}},
                Config=_transfer_config(),
            )
            return relative, FileState(scanned.size, scanned.mtime_ns, sha), True
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            # Deleted between the scan and now: the next checkpoint deletes it remotely.
            return relative, known or scanned, False
        sha = hashlib.sha256(data).hexdigest()
        if known is not None and known.sha256 == sha:
            return relative, FileState(scanned.size, scanned.mtime_ns, sha), False
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, Metadata={SHA256_METADATA: sha})
        # The stat taken before reading: a write racing the read changes mtime, and the next checkpoint
        # uploads the file again.
        return relative, FileState(scanned.size, scanned.mtime_ns, sha), True

    def _delete(self, relatives: list[str]) -> None:
        for start in range(0, len(relatives), S3_DELETE_BATCH):
            batch = relatives[start : start + S3_DELETE_BATCH]
            response = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": self.prefix + r} for r in batch], "Quiet": True},
            )
            errors = response.get("Errors") or []
            if errors:
                raise WorkspaceError(f"S3 refused to delete {len(errors)} workspace objects: {errors[0]}")

    def _map(self, function: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        if len(items) <= 1:
            return [function(item) for item in items]
        return list(self._pool.map(function, items))


def _transfer_config() -> Any:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD,
        multipart_chunksize=MULTIPART_CHUNK,
        max_concurrency=MULTIPART_CONCURRENCY,
    )
