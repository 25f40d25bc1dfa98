"""The `lamina` command: `up` runs the stack; the companions talk to a running one through `.state/up.json`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lamina_local.up import (
    DEFAULT_PORT,
    DEFAULT_STATE_DIR,
    DEFAULT_TEMPLATE,
    DEFAULT_WEB_DIST,
    UpOptions,
    read_state,
    run_up,
)

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
DLQ_LIST_MAX = 100
CONTROL_TIMEOUT_S = 60


class CliError(Exception):
    """Something the user can fix: printed without a traceback, exit code 2."""


def _parameters(pairs: list[str]) -> dict[str, str]:
    parameters = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--param takes KEY=VALUE, got {pair!r}")
        parameters[key] = value
    return parameters


def _state(args: argparse.Namespace) -> dict[str, Any]:
    try:
        state = read_state(args.state_dir)
    except FileNotFoundError:
        raise CliError(f"no running stack found in {args.state_dir}: start one with `lamina up`") from None
    try:
        os.kill(int(state["pid"]), 0)
    except ProcessLookupError:
        raise CliError(
            f"the stack recorded in {args.state_dir} (pid {state['pid']}) is gone: run `lamina up`"
        ) from None
    return state


def _control(state: dict[str, Any], method: str, path: str, body: bytes | None = None) -> Any:
    request = urllib.request.Request(f"{state['control_url']}{path}", data=body, method=method)
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=CONTROL_TIMEOUT_S) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise CliError(json.loads(error.read() or b"{}").get("message", str(error))) from None
    except OSError as error:
        raise CliError(
            f"the stack at {state['control_url']} does not answer ({error}); is `lamina up` running?"
        ) from None


def _sqs(state: dict[str, Any]) -> Any:
    import boto3

    return boto3.session.Session(
        region_name=state["region"],
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    ).client("sqs", endpoint_url=state["aws_endpoint_url"])


# ---------------------------------------------------------------- commands


def cmd_up(args: argparse.Namespace) -> int:
    options = UpOptions(
        template=args.template,
        port=args.port,
        state_dir=args.state_dir,
        parameters=_parameters(args.param),
        watch=not args.no_watch,
        use_zygote=not args.no_zygote,
        quiet=args.quiet,
        seed=not args.no_seed,
        log_format=args.log_format,
        web_dist=None if args.no_web else DEFAULT_WEB_DIST,
        fsync=args.fsync,
    )
    return asyncio.run(run_up(options))


def cmd_invoke(args: argparse.Namespace) -> int:
    state = _state(args)
    if args.event == "-":
        event = sys.stdin.buffer.read()
    elif args.event:
        event = Path(args.event).read_bytes()
    else:
        event = b"{}"
    result = _control(state, "POST", f"/invoke/{args.function}", event)
    payload = result["payload"]
    with contextlib.suppress(ValueError):
        payload = json.dumps(json.loads(payload), indent=2)
    print(payload)
    cold = " (cold start)" if result["cold_start"] else ""
    print(f"{result['request_id']}: {result['duration_ms']} ms{cold}", file=sys.stderr)
    if not result["ok"]:
        print(f"failed: {result['error_type']}", file=sys.stderr)
        return 1
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    from lamina_local import events

    now = datetime.now(UTC)
    if args.source == "http":
        request = events.HttpRequestInfo(
            method=args.method.upper(),
            raw_path=args.path,
            raw_query_string="",
            headers={"content-type": "application/json", "host": "localhost"},
            cookies=[],
            query_string_parameters={},
            body=(args.body or "").encode(),
            source_ip="127.0.0.1",
        )
        route_key = f"ANY {args.route}" if args.route else "$default"
        context = events.http_api_request_context(
            request, route_key=route_key, request_id="local-request", api_id="local", now=now
        )
        event = events.http_api_v2_event(
            request, route_key=route_key, request_context=context, body_is_text=True
        )
    elif args.source == "sqs":
        body = args.body or json.dumps({"type": "example.thing.happened", "payload": {}})
        message = {
            "MessageId": "00000000-0000-0000-0000-000000000001",
            "ReceiptHandle": "local-receipt-handle",
            "Body": body,
            "MD5OfBody": __import__("hashlib").md5(body.encode()).hexdigest(),
            "Attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": str(int(now.timestamp() * 1000)),
                "SenderId": "123456789012",
                "ApproximateFirstReceiveTimestamp": str(int(now.timestamp() * 1000)),
            },
        }
        event = events.sqs_event(
            [message], queue_arn=f"arn:aws:sqs:us-east-1:123456789012:{args.queue}", region="us-east-1"
        )
    else:
        event = events.scheduled_event(
            rule_arn=f"arn:aws:events:us-east-1:123456789012:rule/{args.rule}", fire_time=now
        )
    print(json.dumps(event, indent=2))
    return 0


def _queue_urls(state: dict[str, Any], name: str) -> tuple[str, str]:
    """(source queue URL, DLQ URL) for a queue given as `events`, `lamina-events` or `EventsQueue`."""
    queues: dict[str, str] = state["queues"]
    candidates = [
        physical
        for logical, physical in queues.items()
        if name in (logical, physical) or physical.endswith(f"-{name}")
    ]
    candidates = [c for c in candidates if not c.endswith("-dlq")] or candidates
    if not candidates:
        known = ", ".join(sorted(q for q in queues.values() if not q.endswith("-dlq")))
        raise CliError(f"no queue {name!r}; queues: {known}")
    sqs = _sqs(state)
    source_url = sqs.get_queue_url(QueueName=candidates[0])["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    if "RedrivePolicy" not in attributes:
        raise CliError(f"queue {candidates[0]} has no dead-letter queue")
    dlq_name = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].rsplit(":", 1)[-1]
    return source_url, sqs.get_queue_url(QueueName=dlq_name)["QueueUrl"]


def cmd_dlq(args: argparse.Namespace) -> int:
    state = _state(args)
    source_url, dlq_url = _queue_urls(state, args.queue)
    sqs = _sqs(state)
    if args.action == "list":
        seen: dict[str, dict[str, Any]] = {}
        for _ in range(DLQ_LIST_MAX // 10):
            # Peek: received with a zero visibility timeout, the messages stay where they are.
            response = sqs.receive_message(
                QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
            )
            fresh = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
            if not fresh:
                break
            seen.update({m["MessageId"]: m for m in fresh})
        for message in seen.values():
            sent = datetime.fromtimestamp(int(message["Attributes"]["SentTimestamp"]) / 1000, UTC)
            print(f"{message['MessageId']}  sent {sent:%Y-%m-%d %H:%M:%S}  {message['Body'][:120]}")
        print(f"{len(seen)} message(s) in {dlq_url.rsplit('/', 1)[-1]}", file=sys.stderr)
        return 0
    moved = 0
    while moved < args.max:
        response = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=min(10, args.max - moved),
            VisibilityTimeout=30,
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            break
        for message in messages:
            # Sent first, deleted second: a crash in between duplicates a message, never loses one.
            sqs.send_message(
                QueueUrl=source_url,
                MessageBody=message["Body"],
                MessageAttributes=message.get("MessageAttributes", {}),
            )
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    print(f"replayed {moved} message(s) to {source_url.rsplit('/', 1)[-1]}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    state = _state(args)
    status = _control(state, "GET", "/status")
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    ready = status["ready"] or {}
    print(f"API {ready.get('api_url')}  (up in {ready.get('boot_seconds')} s, pid {ready.get('pid')})")
    backends = status.get("backends") or {}
    if backends:
        print(f"{'backend':<30}{'state':>12}{'restarts':>10}  last death / recovery")
        for name, part in sorted(backends.items()):
            recovery = f"{part['last_recovery_s']} s" if part.get("last_recovery_s") is not None else "-"
            print(
                f"{name:<30}{part['state']:>12}{part['restarts']:>10}  {part.get('last_death') or '-'} / {recovery}"
            )
    print(
        f"{'function':<30}{'invocations':>12}{'cold':>6}{'errors':>8}{'timeouts':>10}{'warm':>6}{'idle':>6}"
    )
    for name, stats in sorted(status["functions"].items()):
        # `workers` counts the function's live sandboxes (busy or idle): its warm containers.
        print(
            f"{name:<30}{stats.get('invocations', 0):>12}{stats.get('cold_starts', 0):>6}"
            f"{stats.get('errors', 0):>8}{stats.get('timeouts', 0):>10}{stats.get('workers', 0):>6}"
            f"{stats.get('idle', 0):>6}"
        )
    sqs = _sqs(state)
    print(f"{'queue':<36}{'visible':>9}{'in flight':>11}")
    for physical in sorted(state["queues"].values()):
        url = sqs.get_queue_url(QueueName=physical)["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        print(
            f"{physical:<36}{attributes['ApproximateNumberOfMessages']:>9}"
            f"{attributes['ApproximateNumberOfMessagesNotVisible']:>11}"
        )
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    state = _state(args)
    user = state.get("local_user") or {}
    if not user:
        raise CliError("the running stack has no local user (started with --no-seed?)")
    from lamina_local.seed import issue_token
    from lamina_local.up import library_environment

    env = {
        "AWS_ENDPOINT_URL": state["aws_endpoint_url"],
        "AWS_REGION": state["region"],
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
    }
    with library_environment(env):
        print(issue_token(user["email"], user["password"], client_id=user["client_id"]))
    return 0


STATE_DIR_HELP = "folder of the embedded backends' data and of the running stack's state (default: .state)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lamina", description="Lamina's local runtime and tools.")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("LAMINA_STATE_DIR", DEFAULT_STATE_DIR)),
        help=STATE_DIR_HELP,
    )
    # `--state-dir` is accepted after the command too (`lamina up --state-dir .state`). SUPPRESS: a command
    # that is not given it leaves the value parsed before the command (or the default) in place.
    with_state_dir = argparse.ArgumentParser(add_help=False)
    with_state_dir.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS, help=STATE_DIR_HELP)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser(
        "up",
        parents=[with_state_dir],
        help="run the whole stack of infra/template.yaml locally, without Docker",
    )
    up.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="HTTP API port (0 = a free port; default 3000)"
    )
    up.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    up.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="template parameter")
    up.add_argument("--no-watch", action="store_true", help="do not reload functions when their code changes")
    up.add_argument("--no-web", action="store_true", help="do not serve the web UI (web/dist) at /")
    up.add_argument(
        "--no-zygote", action="store_true", help="spawn each worker from scratch (slower; debugging)"
    )
    up.add_argument("--no-seed", action="store_true", help="do not create the local user and API key")
    up.add_argument("--quiet", action="store_true", help="only boot progress and the banner, no log stream")
    up.add_argument(
        "--log-format",
        choices=["pretty", "json"],
        default="pretty",
        help="functions' structured logs as short readable lines (default) or as the raw JSON Lambda writes",
    )
    up.add_argument(
        "--fsync",
        action="store_true",
        help="the AWS emulator flushes each acknowledged write to disk (survives a power loss, not only a "
        "kill -9; a disk flush per SQS/S3 write)",
    )
    up.set_defaults(run=cmd_up)

    invoke = commands.add_parser(
        "invoke", parents=[with_state_dir], help="invoke a function of the running stack"
    )
    invoke.add_argument("function", help="logical id, e.g. ApiFunction")
    invoke.add_argument("--event", help="event JSON file, or - for stdin (default {})")
    invoke.set_defaults(run=cmd_invoke)

    events = commands.add_parser("events", help="print AWS event JSON")
    events_commands = events.add_subparsers(dest="events_command", required=True)
    generate = events_commands.add_parser("generate", help="an HTTP API v2, SQS or scheduled event")
    generate.add_argument("source", choices=["http", "sqs", "schedule"])
    generate.add_argument("--method", default="GET")
    generate.add_argument("--path", default="/api/health")
    generate.add_argument("--route", default="/api/{proxy+}", help="route path for routeKey")
    generate.add_argument("--body", default=None)
    generate.add_argument("--queue", default="lamina-events")
    generate.add_argument("--rule", default="lamina-schedule")
    generate.set_defaults(run=cmd_events)

    dlq = commands.add_parser(
        "dlq", parents=[with_state_dir], help="inspect or replay a queue's dead-letter queue"
    )
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("queue", help="events, lamina-events or EventsQueue")
    dlq.add_argument("--max", type=int, default=1000, help="replay at most this many messages")
    dlq.set_defaults(run=cmd_dlq)

    status = commands.add_parser(
        "status", parents=[with_state_dir], help="functions, queues and schedules of the running stack"
    )
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=cmd_status)

    token = commands.add_parser(
        "token", parents=[with_state_dir], help="print a fresh Cognito access token for the local user"
    )
    token.set_defaults(run=cmd_token)

    from lamina_local.traces_cli import add_traces_commands

    add_traces_commands(commands, with_state_dir)

    from lamina_local.web_deploy import add_deploy_web_command

    add_deploy_web_command(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except CliError as error:
        print(f"lamina: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
