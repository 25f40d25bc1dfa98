"""A `lamina up` with its own embedded backends in a state folder, as an operator runs it, and the faults an
operator meets: a backend killed, the supervisor SIGKILLed and booted again. Used by `test_faults.py` and
`bench/recovery.py`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
LAMINA = [sys.executable, "-m", "lamina_local.cli"]
BOOT_TIMEOUT_S = 240.0
VALID_EVENT_TYPE = "secrets.secret.created"


def scratch_state_dir() -> Path:
    """A fresh state folder the embedded Postgres can use: run as root, pgserver runs it as its own user,
    which must reach the folder (pytest's and mkdtemp's folders are private to their owner)."""
    folder = Path(tempfile.mkdtemp(prefix="lamina-faults-"))
    folder.chmod(0o755)
    return folder


def stack_environment() -> dict[str, str]:
    """This environment without what would point the stack at shared backends: everything is embedded."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "LAMINA_", "COGNITO_")) and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class StackProcess:
    state_dir: Path
    process: subprocess.Popen[bytes] | None = None
    state: dict[str, Any] = field(default_factory=dict)
    boot_seconds: float = 0.0
    boots: int = 0

    @property
    def log(self) -> Path:
        return self.state_dir / f"up-{self.boots}.log"

    @property
    def api(self) -> str:
        return str(self.state["api_url"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"ApiKey {self.state['local_user']['api_key']}"}

    @property
    def project_id(self) -> str:
        return str(self.state["local_user"]["project_id"])

    def boot(self) -> float:
        """Start `lamina up` and wait for its state file; the seconds it took."""
        self.boots += 1
        state_file = self.state_dir / "up.json"
        state_file.unlink(missing_ok=True)
        started = time.monotonic()
        with open(self.log, "wb") as output:
            self.process = subprocess.Popen(
                [*LAMINA, "up", "--port", "0", "--no-watch", "--state-dir", str(self.state_dir)],
                cwd=ROOT,
                env=stack_environment(),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = started + BOOT_TIMEOUT_S
        while not state_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"lamina up did not boot\n{self.log_tail()}")
            time.sleep(0.2)
        self.state = json.loads(state_file.read_text())
        self.boot_seconds = time.monotonic() - started
        return self.boot_seconds

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def sigkill(self) -> None:
        """SIGKILL the supervisor alone, as the kernel's OOM killer or `kill -9` would."""
        assert self.process is not None
        children = psutil.Process(self.process.pid).children(recursive=True)
        self.process.kill()
        self.process.wait()
        # Its children die with it (PR_SET_PDEATHSIG); wait until they are gone so the reboot finds their
        # ports and sockets free, as an operator's `lamina up` a moment later would.
        psutil.wait_procs(children, timeout=30)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    # ---------------------------------------------------------------- the backends' processes

    def redis_pid(self) -> int:
        for child in psutil.Process(self.process.pid if self.process else 0).children(recursive=True):
            if child.name().startswith("redis-server"):
                return int(child.pid)
        raise AssertionError("no redis-server under lamina up")

    def postgres_pid(self) -> int:
        return int((self.state_dir / "postgres" / "postmaster.pid").read_text().split()[0])

    def kill_redis(self) -> None:
        os.kill(self.redis_pid(), signal.SIGKILL)

    def kill_postgres(self) -> None:
        os.kill(self.postgres_pid(), signal.SIGKILL)

    # ---------------------------------------------------------------- clients

    def get(self, path: str, timeout_s: float = 30) -> httpx.Response:
        return httpx.get(f"{self.api}{path}", headers=self.headers, timeout=timeout_s)

    def status(self) -> dict[str, Any]:
        result = subprocess.run(
            [*LAMINA, "--state-dir", str(self.state_dir), "status", "--json"],
            env=stack_environment(),
            capture_output=True,
            timeout=60,
            check=True,
        )
        status: dict[str, Any] = json.loads(result.stdout)
        return status

    def aws(self, service: str) -> Any:
        import boto3

        return boto3.session.Session(
            region_name=self.state.get("region", "us-east-1"),
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).client(service, endpoint_url=self.state["aws_endpoint_url"])

    def queue_url(self, logical_id: str) -> str:
        url: str = self.aws("sqs").get_queue_url(QueueName=self.state["queues"][logical_id])["QueueUrl"]
        return url

    def send_valid_events(self, count: int) -> list[str]:
        """Valid domain events straight onto the events queue; their envelope ids."""
        from lamina.queues import Envelope

        sqs, url = self.aws("sqs"), self.queue_url("EventsQueue")
        ids = []
        for _ in range(count):
            envelope = Envelope(
                type=VALID_EVENT_TYPE,
                payload={"secret_id": str(uuid.uuid4()), "name": "openai"},
                project_id=uuid.UUID(self.project_id),
            )
            sqs.send_message(QueueUrl=url, MessageBody=envelope.to_body())
            ids.append(str(envelope.id))
        return ids

    def recorded_events(self, ids: list[str]) -> int:
        """How many of these envelope ids the events worker recorded (its table is keyed by envelope id)."""
        from sqlalchemy import create_engine, text

        from lamina.db.engine import sqlalchemy_url

        engine = create_engine(sqlalchemy_url(self.state["database_url"]))
        try:
            with engine.connect() as connection:
                found = connection.execute(
                    text("SELECT count(*) FROM events WHERE id::text = ANY(:ids)"), {"ids": ids}
                ).scalar_one()
        finally:
            engine.dispose()
        return int(found)

    @contextlib.contextmanager
    def events_handler_held(self) -> Iterator[None]:
        """While inside, the events worker's handler blocks mid-transaction, after its envelope's claim:
        a lock on the events table, which its INSERT waits for. So a SIGKILL lands on a handler in flight."""
        from sqlalchemy import create_engine, text

        from lamina.db.engine import sqlalchemy_url

        engine = create_engine(sqlalchemy_url(self.state["database_url"]))
        try:
            with engine.connect() as connection:
                connection.execute(text("LOCK TABLE events IN SHARE MODE"))
                yield
                connection.rollback()
        finally:
            engine.dispose()

    def claims_in_progress(self, ids: list[str]) -> int:
        """How many of these envelopes the events worker has claimed and not completed (its inbox)."""
        from sqlalchemy import create_engine, text

        from lamina.db.engine import sqlalchemy_url

        engine = create_engine(sqlalchemy_url(self.state["database_url"]))
        try:
            with engine.connect() as connection:
                found = connection.execute(
                    text(
                        "SELECT count(*) FROM inbox WHERE queue = 'events' AND status = 'in_progress' "
                        "AND envelope_id::text = ANY(:ids)"
                    ),
                    {"ids": ids},
                ).scalar_one()
        finally:
            engine.dispose()
        return int(found)

    def wait_recorded(self, ids: list[str], timeout_s: float) -> int:
        deadline = time.monotonic() + timeout_s
        found = 0
        while time.monotonic() < deadline:
            try:
                found = self.recorded_events(ids)
            except Exception:  # the database may be restarting
                found = 0
            if found >= len(ids):
                return found
            time.sleep(0.5)
        return found


def wait_until(condition: Any, timeout_s: float, interval_s: float = 0.1) -> float | None:
    """Seconds until `condition()` held (exceptions count as not yet), or None after `timeout_s`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if condition():
                return time.monotonic() - started
        except Exception:
            pass
        time.sleep(interval_s)
    return None
