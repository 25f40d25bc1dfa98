"""Recovery of `lamina up` from its backends' deaths, and messages lost across a SIGKILL of the supervisor.

One stack with embedded backends in a scratch state folder:
- baseline: the stack's cold boot (first `lamina up` on an empty state folder: initdb, provisioning, warm-up);
- Redis: SIGKILL its redis-server, time until `/api/health` answers 200 again (the supervisor restarted it
  and the functions reconnected), median of `--rounds`;
- Postgres: SIGKILL the postmaster, time until an authenticated query (`/api/projects/current`) answers 200;
- SIGKILL of `lamina up` itself: `--messages` dead letters (SQS SendMessage acknowledged just before the kill)
  and as many valid events on the events queue, the events worker's handler in flight on one of them, then
  boot again: messages missing from the DLQ plus events not recorded within EVENTS_TIMEOUT_S are "lost".

    .venv/bin/python bench/recovery.py [--rounds 3] [--messages 50]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e.stack_process import StackProcess, scratch_state_dir, wait_until

RECOVERY_TIMEOUT_S = 120.0
EVENTS_TIMEOUT_S = 180.0
GOAL_RECOVERY_S = 5.0


def time_redis_recovery(stack: StackProcess) -> float:
    stack.kill_redis()
    killed = time.monotonic()
    # The health check pings Redis: first wait for it to notice, so a stale 200 does not count.
    wait_until(lambda: stack.get("/api/health", timeout_s=5).status_code != 200, 3, interval_s=0.02)
    recovered = wait_until(
        lambda: stack.get("/api/health", timeout_s=5).status_code == 200, RECOVERY_TIMEOUT_S, interval_s=0.05
    )
    if recovered is None:
        raise RuntimeError(f"the stack did not recover from Redis's death\n{stack.log_tail()}")
    return time.monotonic() - killed


def time_postgres_recovery(stack: StackProcess) -> float:
    stack.kill_postgres()
    killed = time.monotonic()
    wait_until(lambda: stack.get("/api/projects/current", timeout_s=5).status_code != 200, 3, interval_s=0.02)
    recovered = wait_until(
        lambda: stack.get("/api/projects/current", timeout_s=5).status_code == 200,
        RECOVERY_TIMEOUT_S,
        interval_s=0.05,
    )
    if recovered is None:
        raise RuntimeError(f"the stack did not recover from Postgres's death\n{stack.log_tail()}")
    return time.monotonic() - killed


def messages_lost_across_sigkill(stack: StackProcess, count: int) -> tuple[int, float]:
    """(messages lost, the reboot's seconds)."""
    sqs = stack.aws("sqs")
    dlq = sqs.get_queue_url(QueueName=stack.state["queues"]["EventsDeadLetterQueue"])["QueueUrl"]
    bodies = {f"dead letter {index} {time.time_ns()}" for index in range(count)}
    for body in bodies:
        sqs.send_message(QueueUrl=dlq, MessageBody=body)
    # The events worker is in flight at the kill: its handler claimed an envelope and waits inside its
    # transaction (a lock on the events table) when the kill lands, as one mid-way through its work would.
    with stack.events_handler_held():
        events = stack.send_valid_events(count)
        if wait_until(lambda: stack.claims_in_progress(events) >= 1, RECOVERY_TIMEOUT_S) is None:
            print("no handler was in flight at the kill (the worker never claimed an event)")
        stack.sigkill()
    reboot_s = stack.boot()
    sqs = stack.aws("sqs")
    dlq = sqs.get_queue_url(QueueName=stack.state["queues"]["EventsDeadLetterQueue"])["QueueUrl"]
    seen: set[str] = set()
    for _ in range(count):
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
            "Messages", []
        )
        if not messages:
            break
        seen.update(message["Body"] for message in messages)
    recorded = stack.wait_recorded(events, EVENTS_TIMEOUT_S)
    dead_letters_lost, events_lost = len(bodies - seen), len(events) - recorded
    print(f"lost across the SIGKILL: {dead_letters_lost} dead letters, {events_lost} events never recorded")
    return dead_letters_lost + events_lost, reboot_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=50)
    args = parser.parse_args()
    state_dir = scratch_state_dir()
    stack = StackProcess(state_dir)
    try:
        boot_s = stack.boot()
        print(f"baseline: cold boot of the stack (empty state folder): {boot_s:.2f} s")
        redis = [time_redis_recovery(stack) for _ in range(args.rounds)]
        postgres = [time_postgres_recovery(stack) for _ in range(args.rounds)]
        redis_s, postgres_s = statistics.median(redis), statistics.median(postgres)
        print(f"redis:    death -> serving {redis_s:.2f} s median of {[round(x, 2) for x in redis]}")
        print(f"postgres: death -> serving {postgres_s:.2f} s median of {[round(x, 2) for x in postgres]}")
        print(f"ratio vs cold boot: redis {redis_s / boot_s:.3f}, postgres {postgres_s / boot_s:.3f}")
        lost, reboot_s = messages_lost_across_sigkill(stack, args.messages)
        print(
            f"SIGKILL + reboot: {args.messages} dead letters + {args.messages} events sent just before; "
            f"lost {lost}; warm reboot {reboot_s:.2f} s ({reboot_s / boot_s:.2f} x the cold boot)"
        )
    finally:
        stack.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
    print(f"RESULT redis_recovery_s={redis_s:.2f} goal<={GOAL_RECOVERY_S:g}")
    print(f"RESULT postgres_recovery_s={postgres_s:.2f} goal<={GOAL_RECOVERY_S:g}")
    print(f"RESULT messages_lost_after_sigkill={lost} goal<=0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
