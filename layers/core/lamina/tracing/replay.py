"""Re-ingesting stored OTLP bodies: after a bad deploy, every body a project sent in a time range is queued again.

The worker's writes are idempotent on span ids, so replaying a range that was already ingested changes nothing.

    lamina traces replay --project <uuid> --since 2026-11-28T10:00Z [--until 2026-11-28T12:00Z]

against `lamina up`'s stack or a deployed one (`--stack-name`; see lamina_local/traces_cli.py), or
`python -m lamina.tracing.replay` (same arguments) with a function's environment (LAMINA_BUCKET,
TRACING_QUEUE_URL, AWS credentials).
"""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from lamina import aws
from lamina.errors import ValidationFailedError
from lamina.settings import get_settings
from lamina.tracing import otlp
from lamina.tracing.service import RAW_BODY_PREFIX, enqueue_raw_body

# Bodies are keyed by hour: a replay lists one prefix per hour of its range, so the range is bounded.
REPLAY_MAX_HOURS = 31 * 24
EXTENSION_KINDS = {"pb": otlp.PROTOBUF, "json": otlp.JSON}


def stored_bodies(project_id: uuid.UUID, since: datetime, until: datetime) -> Iterator[str]:
    """The keys of the project's bodies received in [since, until), oldest hour first."""
    if until <= since:
        return
    if until - since > timedelta(hours=REPLAY_MAX_HOURS):
        raise ValidationFailedError(f"a replay covers at most {REPLAY_MAX_HOURS} hours")
    s3 = aws.client("s3")
    bucket = get_settings().bucket_name
    hour = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while hour < until:
        prefix = f"{RAW_BODY_PREFIX}/{project_id}/{hour:%Y/%m/%d/%H}/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if since <= item["LastModified"] < until:
                    yield str(item["Key"])
        hour += timedelta(hours=1)


def replay(project_id: uuid.UUID, since: datetime, until: datetime | None = None) -> int:
    """Queue every body of the range for the tracing worker again; how many were queued."""
    queued = 0
    for key in stored_bodies(project_id, since, until or datetime.now(UTC)):
        kind = EXTENSION_KINDS.get(key.rsplit(".", 1)[-1], otlp.PROTOBUF)
        enqueue_raw_body(project_id, key, kind, spans=0)
        queued += 1
    return queued


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Queue a project's stored OTLP bodies for ingestion again.")
    parser.add_argument("--project", type=uuid.UUID, required=True)
    parser.add_argument("--since", type=datetime.fromisoformat, required=True)
    parser.add_argument("--until", type=datetime.fromisoformat, default=None)
    args = parser.parse_args(argv)
    print(f"queued {replay(args.project, args.since, args.until)} stored bodies")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
