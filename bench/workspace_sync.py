"""Workspace restore + sync-back of 1,000 files / 50 MB against emulated S3, vs a plain boto3 transfer.

Ours: `Workspace.checkpoint()` of a fresh workspace (sync-back: scan, hash, upload everything) then
`Workspace.restore()` into an empty directory (list, download everything). Baseline, in the same run, on
the same moto server: what `aws s3 sync` up then down does with boto3 — concurrent `put_object` of every
file, then a listing and concurrent `get_object` into an empty directory — at the same concurrency, on a
client with the same pool. Each side runs REPEATS times, alternating, into fresh prefixes; medians compared.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "core"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FILES = 1000
TOTAL_BYTES = 50 * 1024 * 1024
REPEATS = 3
GOAL_RATIO = 1.2
BUCKET = "lamina-bench-workspaces"


def make_files(root: Path, files: int, total: int, seed: int = 7) -> None:
    """`files` files of varied sizes (about total/files on average) in a few nested directories."""
    rng = random.Random(seed)
    mean = total // files
    sizes = [rng.randint(mean // 5, mean * 9 // 5) for _ in range(files)]
    sizes[-1] += total - sum(sizes)
    for index, size in enumerate(sizes):
        path = root / f"dir{index % 10}" / f"sub{index % 7}" / f"file{index}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(max(1, size)))


def baseline(client: Any, source: Path, target: Path, prefix: str, concurrency: int) -> float:
    files = [p for p in source.rglob("*") if p.is_file()]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:

        def put(path: Path) -> None:
            key = prefix + path.relative_to(source).as_posix()
            client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())

        list(pool.map(put, files))
        keys = [
            item["Key"]
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
            for item in page.get("Contents") or []
        ]

        def get(key: str) -> None:
            path = target / key[len(prefix) :]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(client.get_object(Bucket=BUCKET, Key=key)["Body"].read())

        list(pool.map(get, keys))
    return time.perf_counter() - started


def ours(client: Any, source: Path, target: Path, prefix: str, concurrency: int) -> float:
    from lamina.workspaces.store import Workspace

    started = time.perf_counter()
    with Workspace(client, BUCKET, prefix, source, concurrency=concurrency) as workspace:
        synced = workspace.checkpoint()
    with Workspace(client, BUCKET, prefix, target, concurrency=concurrency) as workspace:
        restored = workspace.restore()
    elapsed = time.perf_counter() - started
    assert len(synced.uploaded) == restored.downloaded, (len(synced.uploaded), restored.downloaded)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=FILES)
    parser.add_argument("--megabytes", type=int, default=TOTAL_BYTES // (1024 * 1024))
    parser.add_argument("--repeats", type=int, default=REPEATS)
    args = parser.parse_args()

    from lamina.settings import Settings
    from lamina.workspaces.store import DEFAULT_CONCURRENCY, workspace_client
    from lamina_local.backends import EMULATOR_CREDENTIALS, start_moto

    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    moto = None if endpoint else start_moto()
    scratch = Path(tempfile.mkdtemp(prefix="lamina-bench-ws-"))
    try:
        settings = Settings(
            AWS_ENDPOINT_URL=endpoint or moto.url,  # type: ignore[union-attr]
            **{k: v for k, v in EMULATOR_CREDENTIALS.items()},
        )
        client = workspace_client(settings, concurrency=DEFAULT_CONCURRENCY)
        client.create_bucket(Bucket=BUCKET)
        source = scratch / "source"
        make_files(source, args.files, args.megabytes * 1024 * 1024)
        # Warm the connection pool and moto once for both sides.
        baseline(client, source, scratch / "warm", f"warm/{uuid.uuid4()}/", DEFAULT_CONCURRENCY)
        samples: dict[str, list[float]] = {"baseline": [], "workspace": []}
        for repeat in range(args.repeats):
            order = [("baseline", baseline), ("workspace", ours)]
            for name, run in order if repeat % 2 == 0 else reversed(order):
                target = scratch / f"{name}-{repeat}"
                # The workspace side syncs from a copy: it must not share the baseline's (or a prior run's)
                # manifest-free state, and a fresh copy has fresh mtimes, as a turn's new files do.
                source_copy = scratch / f"src-{name}-{repeat}"
                shutil.copytree(source, source_copy)
                samples[name].append(
                    run(client, source_copy, target, f"{name}/{uuid.uuid4()}/", DEFAULT_CONCURRENCY)
                )
                shutil.rmtree(target, ignore_errors=True)
                shutil.rmtree(source_copy, ignore_errors=True)
        for name, values in samples.items():
            print(
                f"{name:<10} median={statistics.median(values):7.3f} s  runs="
                + ", ".join(f"{value:.3f}" for value in values)
                + f"  ({args.files} files, {args.megabytes} MB, concurrency {DEFAULT_CONCURRENCY})"
            )
        ratio = statistics.median(samples["workspace"]) / statistics.median(samples["baseline"])
        print(f"RESULT workspace_sync_vs_boto3={ratio:.2f} goal<={GOAL_RATIO:g}")
        return 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if moto is not None:
            moto.stop()


if __name__ == "__main__":
    raise SystemExit(main())
