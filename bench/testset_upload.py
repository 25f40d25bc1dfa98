"""Uploading a 10,000-row test set: the whole API call, and its bulk insert against a row-by-row baseline.

1. `POST /api/simple/testsets/upload` with a 10,000-row CSV file (multipart/form-data) through the API
   function's Mangum handler: parse, bulk insert, commit the revision (median of REPEATS).
2. The same 10,000 test cases written by `write_testcases` (one INSERT over one JSON parameter) against the
   baseline of one INSERT per row (SQLAlchemy executemany: a round trip per row with pg8000), same run.

Backends: DATABASE_URL / REDIS_URL / AWS_ENDPOINT_URL when given (a scratch database), else embedded ones.

    .venv/bin/python bench/testset_upload.py [--rows 10000]
"""

from __future__ import annotations

import argparse
import base64
import csv
import importlib.util
import io
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core"), str(ROOT / "bench")]

from registry_retrieve import (  # noqa: E402
    Context,
    forget_redis_keys,
    http_event,
    run_cleanups,
    start_scratch_stack,
)

ROWS = 10_000
REPEATS = 3
GOAL_UPLOAD_S = 5.0
GOAL_SPEEDUP = 5.0


def csv_file(rows: int) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["question", "context", "correct_answer"])
    for i in range(rows):
        writer.writerow([f"What is {i} + {i}?", f"arithmetic, row {i}", str(2 * i)])
    return out.getvalue().encode()


def multipart(file: bytes, boundary: str) -> bytes:
    return (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="testset_name"\r\n\r\nbench\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n"
        ).encode()
        + file
        + f"\r\n--{boundary}--\r\n".encode()
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args()

    _backends, env, cleanups = start_scratch_stack()
    try:
        from lamina.db.migrate import upgrade
        from lamina.db.unit_of_work import unit_of_work
        from lamina.settings import Settings
        from lamina.state import configure
        from lamina.tenancy.service import seed_local_user

        configure(Settings(**env))
        upgrade(env["DATABASE_URL"])
        with unit_of_work() as db:
            _, project, api_key = seed_local_user(db, f"bench-{uuid.uuid4().hex[:6]}@example.com")
        cleanups.insert(0, lambda: forget_redis_keys(str(project.id), api_key.split(".", 1)[0]))

        spec = importlib.util.spec_from_file_location("bench_api_app", ROOT / "functions" / "api" / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handler, context = module.handler, Context()

        # 1. the whole upload call
        boundary = uuid.uuid4().hex
        body = multipart(csv_file(args.rows), boundary)
        uploads = []
        for _ in range(REPEATS):
            event = http_event("POST", "/api/simple/testsets/upload", None, f"ApiKey {api_key}")
            event["headers"]["content-type"] = f"multipart/form-data; boundary={boundary}"
            event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
            started = time.perf_counter()
            answer = handler(event, context)
            uploads.append(time.perf_counter() - started)
            if answer["statusCode"] != 200:
                raise SystemExit(f"upload failed: {answer['statusCode']} {answer.get('body')}")
        testset_id = uuid.UUID(json.loads(answer["body"])["testset"]["id"])

        # 2. bulk insert against one INSERT per row, on the same rows
        from sqlalchemy import insert

        from lamina.ids import uuid7
        from lamina.testsets.models import TestcaseRow
        from lamina.testsets.testcases import write_testcases

        rows: list[dict[str, Any]] = [
            {
                "question": f"What is {i} + {i}?",
                "context": f"arithmetic, row {i}",
                "correct_answer": str(2 * i),
            }
            for i in range(args.rows)
        ]
        bulk = []
        for _ in range(REPEATS):
            with unit_of_work() as db:
                started = time.perf_counter()
                write_testcases(db, project.id, testset_id, [{"data": row} for row in rows])
                db.flush()
                bulk.append(time.perf_counter() - started)
        with unit_of_work() as db:
            started = time.perf_counter()
            values = [
                {"id": uuid7(), "project_id": project.id, "testset_id": testset_id, "data": row}
                for row in rows
            ]
            db.execute(insert(TestcaseRow), values)
            db.flush()
            row_by_row = time.perf_counter() - started

        upload_s, bulk_s = statistics.median(uploads), statistics.median(bulk)
        print(
            f"upload of {args.rows} CSV rows (API call)   median={upload_s:.3f} s  runs={[round(u, 3) for u in uploads]}"
        )
        print(
            f"bulk insert (one statement)            median={bulk_s:.3f} s  runs={[round(b, 3) for b in bulk]}"
        )
        print(f"one INSERT per row (baseline)                 {row_by_row:.3f} s")
        print(f"ratio row-by-row / bulk                       {row_by_row / bulk_s:.1f}x")
        print(f"RESULT testset_upload_{args.rows}_rows_s={upload_s:.3f} goal<={GOAL_UPLOAD_S:g}")
        print(f"RESULT testset_bulk_insert_speedup={row_by_row / bulk_s:.1f} goal>={GOAL_SPEEDUP:g}")
        return 0
    finally:
        run_cleanups(cleanups)


if __name__ == "__main__":
    raise SystemExit(main())
