"""`lamina traces replay`: queue a project's stored OTLP bodies of a time range for the tracing worker again.

After a bad deploy, say: the raw bodies in S3 are the record of every accepted export, and the worker's writes
are idempotent on span ids, so a replay restores what is missing and changes nothing else. It touches only S3
and the tracing queue (the workers of the stack do the rest), so it runs against

- the stack `lamina up` runs (found through `.state/up.json`), by default;
- a deployed stack: `--stack-name` (its bucket and tracing queue looked up in CloudFormation), or `--bucket`
  and `--queue-url` (LAMINA_BUCKET and TRACING_QUEUE_URL by default), with the shell's AWS credentials.
"""

from __future__ import annotations

import argparse
import os
import uuid
from datetime import UTC, datetime
from typing import Any

BUCKET_LOGICAL_ID = "WorkspaceBucket"
TRACING_QUEUE_LOGICAL_ID = "TracingQueue"


def _instant(text: str) -> datetime:
    """An ISO 8601 time (`2026-11-28T10:00Z`, `2026-11-28 10:00`); one without an offset is UTC."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-11-28T10:00Z)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def add_traces_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], with_state_dir: argparse.ArgumentParser
) -> None:
    traces = commands.add_parser("traces", help="tracing tools (replay stored OTLP bodies)")
    traces_commands = traces.add_subparsers(dest="traces_command", required=True)
    replay = traces_commands.add_parser(
        "replay",
        parents=[with_state_dir],
        help="queue a project's stored OTLP bodies of a time range for ingestion again",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    replay.add_argument("--project", type=uuid.UUID, required=True, help="the project's id")
    replay.add_argument("--since", type=_instant, required=True, help="bodies received from this time")
    replay.add_argument("--until", type=_instant, default=None, help="... up to this time (default: now)")
    replay.add_argument("--stack-name", help="a deployed stack: find its bucket and tracing queue")
    replay.add_argument("--bucket", default=os.environ.get("LAMINA_BUCKET"), help="a deployed stack's bucket")
    replay.add_argument(
        "--queue-url", default=os.environ.get("TRACING_QUEUE_URL"), help="a deployed stack's tracing queue"
    )
    replay.add_argument("--region", default=None, help="a deployed stack's region (default: AWS_REGION)")
    replay.add_argument("--dry-run", action="store_true", help="list the bodies, queue nothing")
    replay.set_defaults(run=cmd_traces_replay)


def cmd_traces_replay(args: argparse.Namespace) -> int:
    from lamina_local.up import library_environment

    env = _deployed_environment(args) if _deployed(args) else _local_environment(args)
    with library_environment(env):
        from lamina.tracing.replay import replay, stored_bodies

        until = args.until or datetime.now(UTC)
        if args.dry_run:
            keys = list(stored_bodies(args.project, args.since, until))
            for key in keys:
                print(key)
            print(f"{len(keys)} stored bodies (dry run: nothing queued)")
            return 0
        print(f"queued {replay(args.project, args.since, until)} stored bodies")
    return 0


def _deployed(args: argparse.Namespace) -> bool:
    return bool(args.stack_name or (args.bucket and args.queue_url))


def _deployed_environment(args: argparse.Namespace) -> dict[str, str]:
    """The library's configuration for a deployed stack: real AWS (or AWS_ENDPOINT_URL), the shell's credentials."""
    import boto3

    from lamina_local.cli import CliError

    region = (
        args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    )
    bucket, queue_url = args.bucket, args.queue_url
    if args.stack_name:
        cloudformation = boto3.session.Session(region_name=region).client("cloudformation")

        def physical_id(logical_id: str) -> str:
            try:
                detail = cloudformation.describe_stack_resource(
                    StackName=args.stack_name, LogicalResourceId=logical_id
                )["StackResourceDetail"]
            except Exception as error:  # botocore's ClientError: no such stack or resource
                raise CliError(f"stack {args.stack_name}: no {logical_id} ({error})") from None
            return str(detail["PhysicalResourceId"])

        bucket = physical_id(BUCKET_LOGICAL_ID)
        # An SQS queue's physical id is its URL.
        queue_url = physical_id(TRACING_QUEUE_LOGICAL_ID)
    env = {"LAMINA_BUCKET": str(bucket), "TRACING_QUEUE_URL": str(queue_url), "AWS_REGION": region}
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    # Only S3 and SQS are used: this process is a client of the stack, not one of its functions, so the checks
    # a function's configuration must pass (database, secret key) do not apply.
    env["LAMINA_ENV"] = "local"
    return env


def _local_environment(args: argparse.Namespace) -> dict[str, str]:
    """The library's configuration for the stack `lamina up` runs."""
    from lamina_local.cli import CliError, _sqs, _state

    state: dict[str, Any] = _state(args)
    queues: dict[str, str] = state["queues"]
    if TRACING_QUEUE_LOGICAL_ID not in queues:
        raise CliError(f"the running stack has no {TRACING_QUEUE_LOGICAL_ID}")
    queue_url = _sqs(state).get_queue_url(QueueName=queues[TRACING_QUEUE_LOGICAL_ID])["QueueUrl"]
    bucket = (state.get("buckets") or {}).get(BUCKET_LOGICAL_ID)
    if not bucket:
        raise CliError("the running stack's state names no bucket: restart `lamina up`")
    return {
        "LAMINA_ENV": "local",
        "LAMINA_BUCKET": bucket,
        "TRACING_QUEUE_URL": queue_url,
        "AWS_ENDPOINT_URL": state["aws_endpoint_url"],
        "AWS_REGION": state["region"],
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    }
