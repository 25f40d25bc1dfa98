"""Two fixes to moto's SQS that make a queue's calls cost O(1) per message again, installed in the emulator.

moto (5.2) computes every time check through a naive-datetime round trip (`unix_time`: about 10 us), and on
each message it sends or receives it rebuilds all of the queue's attributes, whose approximate counts scan
every message the queue holds with two such checks each. A queue holding 500 messages answered a
SendMessageBatch of 10 in 110 ms and a ReceiveMessage in 300 ms; a webhook backlog of that size, a routine
case for `lamina up`, crawled. Both replacements compute exactly what moto computes:

- `unix_time()` / `unix_time_millis()` with no argument: `time.time()` (seconds since the epoch, as moto's
  `(utcnow() - utcfromtimestamp(0))` is);
- the retention check of a received message reads the queue's retention period, not all its attributes.

Measured with `python -m lamina_local.moto_speedups` (a queue of 500 messages, calls in process): 185 ms and
622 ms with moto alone, 11 ms and 5 ms with the fixes.
"""

from __future__ import annotations

import time
from typing import Any

_installed = False


def install() -> None:
    """Patch moto's SQS module (idempotent); call before serving."""
    global _installed
    if _installed:
        return
    import moto.sqs.models as sqs_models
    from moto.core.utils import unix_time as moto_unix_time

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else float(moto_unix_time(dt))

    def unix_time_millis(dt: Any = None) -> float:
        return unix_time(dt) * 1000.0

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention_period + message.sent_timestamp / 1000 > time.time())

    # The module imported them by name: its own globals are what its methods call.
    setattr(sqs_models, "unix_time", unix_time)  # noqa: B010 - names moto does not export
    setattr(sqs_models, "unix_time_millis", unix_time_millis)  # noqa: B010
    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period
    )
    _installed = True


def main() -> None:
    """`serve [moto.server's options]`: moto's server with the fixes (the emulator without a state folder);
    otherwise time SendMessageBatch and ReceiveMessage on a queue of 500 messages, without and with them."""
    import json
    import statistics
    import subprocess
    import sys

    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        from moto.server import main as serve_moto

        install()
        serve_moto(sys.argv[2:])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        _time_calls(install_fixes=sys.argv[2] == "fixed")
        return
    for mode in ("moto", "fixed"):
        output = subprocess.run(
            [sys.executable, "-m", "lamina_local.moto_speedups", "--one", mode],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        send, receive = json.loads(output)
        print(
            f"{mode:6} send batch of 10: {statistics.median(send) * 1000:7.1f} ms   "
            f"receive 10: {statistics.median(receive) * 1000:7.1f} ms"
        )


def _time_calls(*, install_fixes: bool) -> None:
    import json

    import boto3
    from moto import mock_aws

    if install_fixes:
        install()
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        queue = sqs.create_queue(QueueName="speed")["QueueUrl"]
        entries = [{"Id": str(i), "MessageBody": "x" * 600} for i in range(10)]
        for _ in range(50):
            sqs.send_message_batch(QueueUrl=queue, Entries=entries)
        send, receive = [], []
        for _ in range(10):
            started = time.perf_counter()
            sqs.send_message_batch(QueueUrl=queue, Entries=entries)
            send.append(time.perf_counter() - started)
            started = time.perf_counter()
            sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
            receive.append(time.perf_counter() - started)
    print(json.dumps([send, receive]))


if __name__ == "__main__":
    main()
