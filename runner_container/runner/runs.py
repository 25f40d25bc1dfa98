"""One agent turn on this runner, and the admission of turns.

A turn: restore the session's workspace from S3 → start the harness in the sandbox → relay its events to
the client (NDJSON) and to the records queue, checkpointing the workspace every few seconds → when the
harness ends (done, paused on an interaction, timed out, killed or crashed) sync the workspace one last time
→ `done` and one `result` line. The turn runs as a task of its own: a client that disconnects does not
stop it, and `POST /kill` (or SIGTERM on the runner) ends the harness and still syncs the workspace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runner import sandbox
from runner.config import RunnerConfig
from runner.protocol import RunRequest
from runner.records import RecordsSink
from runner.tools import relay_tool_call

logger = logging.getLogger("runner.runs")

AGENT_HARNESS = [sys.executable, "-m", "runner.harnesses.agent"]
API_KEY_ENV = "LAMINA_MODEL_API_KEY"
RESULT = "result"
TERMINAL = object()


class AdmissionError(RuntimeError):
    """The runner is full (429) or the session already has a turn running here (409)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Turn:
    def __init__(self, request: RunRequest, config: RunnerConfig) -> None:
        from lamina.ids import uuid7

        self.request = request
        self.config = config
        self.turn_id = request.turn_id or uuid7()
        self.sequence = 0
        self.status = "running"
        self.error: str | None = None
        self.messages: list[dict[str, Any]] = list(request.messages)
        self.output: str | None = None
        self.usage: dict[str, int] = {}
        self.interaction: dict[str, Any] | None = None
        self.files = {"uploaded": 0, "deleted": 0}
        self.process: asyncio.subprocess.Process | None = None
        self.killed_by: str | None = None
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.records = RecordsSink(request.project_id, request.session_id, self.turn_id)
        self.result: dict[str, Any] | None = None
        self.task: asyncio.Task[None] | None = None
        self._directory: Path | None = None

    # ------------------------------------------------------------------ events

    def emit(self, event: dict[str, Any]) -> None:
        self.sequence += 1
        line = {
            **event,
            "sequence": self.sequence,
            "timestamp": datetime.now(UTC).isoformat(),
            "session_id": str(self.request.session_id),
            "turn_id": str(self.turn_id),
        }
        self.records.add(line)
        self.events.put_nowait(line)

    async def stream(self) -> Any:
        """The NDJSON body: every event line as it happens, then the result line."""
        while True:
            item = await self.events.get()
            if item is TERMINAL:
                return
            yield (json.dumps(item, default=str) + "\n").encode()

    def kill(self, reason: str) -> None:
        self.killed_by = reason
        if self.process is not None:
            sandbox.kill_group(self.process)

    # ------------------------------------------------------------------ the turn

    async def execute(self) -> None:
        workspace = None
        flusher = asyncio.create_task(self._flush_records())
        try:
            self.emit(
                {
                    "type": "turn.started",
                    "turn_index": self.request.turn_index,
                    "spec": self.request.spec(),
                    "messages": self.request.messages,
                    "resume": self.request.resume.model_dump(mode="json") if self.request.resume else None,
                }
            )
            workspace = await asyncio.to_thread(self._open_workspace)
            restored = await asyncio.to_thread(workspace.restore)
            self.emit({"type": "workspace.restored", "files": restored.downloaded, "bytes": restored.bytes})
            if self.killed_by is None:
                await self._run_harness(workspace)
        except Exception as error:
            logger.exception("turn %s failed", self.turn_id)
            self.status, self.error = "failed", f"{type(error).__name__}: {error}"
            self.emit({"type": "error", "message": self.error})
        finally:
            if workspace is not None:
                await self._final_sync(workspace)
            if self.killed_by is not None and self.status in ("running", "completed"):
                self.status = "killed"
            if self.status == "running":
                self.status = "failed"
            self.emit({"type": "done", "status": self.status})
            self.result = self._result()
            self.records.add({**self.result, "sequence": self.sequence + 1})
            flusher.cancel()
            await self.records.flush()
            self.events.put_nowait(self.result)
            self.events.put_nowait(TERMINAL)
            if self._directory is not None:
                shutil.rmtree(self._directory, ignore_errors=True)

    def _open_workspace(self) -> Any:
        from lamina.settings import get_settings
        from lamina.workspaces.credentials import assume_scoped_role
        from lamina.workspaces.store import Workspace, session_prefix, workspace_client

        settings = get_settings()
        prefix = session_prefix(self.request.project_id, self.request.session_id)
        credentials = None
        if settings.workspace_role_arn:
            from lamina import aws

            credentials = assume_scoped_role(
                aws.client("sts"),
                role_arn=settings.workspace_role_arn,
                bucket=settings.bucket_name,
                prefix=prefix,
                session_id=str(self.request.session_id),
            )
        parent = Path(self.config.work_dir) if self.config.work_dir else None
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        self._directory = Path(tempfile.mkdtemp(prefix=f"ws-{self.request.session_id}-", dir=parent))
        if credentials is None:
            # One pooled client for the runner's life: building one costs more than a small turn's sync.
            from lamina.state import current

            client = current().memo("runner:workspace-s3", lambda: workspace_client(settings))
        else:
            client = workspace_client(settings, credentials)
        return Workspace(client, settings.bucket_name, prefix, self._directory / "workspace")

    def _argv_and_env(self, root: Path) -> tuple[list[str], dict[str, str]]:
        spec, model = self.request.harness, self.request.model
        declared = dict(model.env)
        if model.api_key:
            declared[API_KEY_ENV] = model.api_key
        if spec.kind == "command":
            if not spec.command:
                raise ValueError("a command harness needs a command")
            return list(spec.command), sandbox.sandbox_environment(root, declared, python_path=None)
        return list(AGENT_HARNESS), sandbox.sandbox_environment(
            root, declared, python_path=sandbox.code_path()
        )

    async def _run_harness(self, workspace: Any) -> None:
        spec = self.request.harness
        timeout_s = spec.timeout_s or self.config.turn_timeout_s
        argv, env = self._argv_and_env(workspace.root)
        process = self.process = await sandbox.spawn(
            argv, workspace.root, env, memory_mb=spec.memory_mb or self.config.memory_mb, timeout_s=timeout_s
        )
        if self.killed_by is not None:
            sandbox.kill_group(process)
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write((json.dumps(self.request.harness_input()) + "\n").encode())
        with contextlib.suppress(ConnectionError):
            await process.stdin.drain()
        stop_checkpoints = asyncio.Event()
        checkpoints = asyncio.create_task(self._checkpoints(workspace, stop_checkpoints))
        deadline = time.monotonic() + timeout_s
        try:
            await asyncio.wait_for(self._pump(process), timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            self.killed_by = self.killed_by or "timeout"
            sandbox.kill_group(process)
            self.status = "failed"
            self.error = f"the turn exceeded its {timeout_s:g}s time limit"
            self.emit({"type": "error", "message": self.error})
        finally:
            # Not cancelled: a checkpoint in flight finishes (and reports its files) before the final sync.
            stop_checkpoints.set()
            await checkpoints
            sandbox.kill_group(process)
            await process.wait()
        if self.status == "running":
            if self.killed_by is not None:
                self.status = "killed"
            elif process.returncode != 0:
                self.status = "failed"
                self.error = self.error or f"the harness exited with {process.returncode}"
                self.emit({"type": "error", "message": self.error})
            else:
                self.status = "completed"

    async def _pump(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode(errors="replace").strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                event = None
            if not isinstance(event, dict) or not isinstance(event.get("type"), str):
                self.emit({"type": "log", "text": line[:4000]})
                continue
            await self._handle(process, event)

    async def _handle(self, process: asyncio.subprocess.Process, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "done":
            if isinstance(event.get("messages"), list):
                self.messages = event["messages"]
            if event.get("status") in ("completed", "paused", "failed"):
                self.status = str(event["status"])
            return
        if kind == "message":
            message = event.get("message") or {}
            if message.get("content"):
                self.output = str(message["content"])
        elif kind == "usage":
            for key, value in event.items():
                if isinstance(value, int):
                    self.usage[key] = self.usage.get(key, 0) + value
        elif kind == "interaction.request":
            event.setdefault("interaction_id", str(uuid.uuid4()))
            self.interaction = {k: v for k, v in event.items() if k != "type"}
        elif kind == "error" and not self.error:
            self.error = str(event.get("message"))
        self.emit(event)
        if kind == "tool.relay":
            await self._relay(process, event)

    async def _relay(self, process: asyncio.subprocess.Process, event: dict[str, Any]) -> None:
        callback = self.request.tool_callback
        call_id, name = str(event.get("tool_call_id") or ""), str(event.get("name") or "")
        if callback is None:
            content = f"error: no tool call-back for server-side tool {name!r}"
        else:
            content = await asyncio.to_thread(
                relay_tool_call,
                callback.url,
                project_id=self.request.project_id,
                session_id=self.request.session_id,
                tool_call_id=call_id,
                name=name,
                arguments=event.get("arguments") or {},
            )
        assert process.stdin is not None
        process.stdin.write(
            (json.dumps({"type": "tool.result", "tool_call_id": call_id, "content": content}) + "\n").encode()
        )
        with contextlib.suppress(ConnectionError):
            await process.stdin.drain()

    async def _checkpoints(self, workspace: Any, stop: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.config.checkpoint_interval_s)
            if stop.is_set():
                return
            try:
                self._file_events(await asyncio.to_thread(workspace.checkpoint))
            except Exception:
                logger.exception("checkpoint of turn %s failed; the next one retries", self.turn_id)

    async def _final_sync(self, workspace: Any) -> None:
        try:
            self._file_events(await asyncio.to_thread(workspace.checkpoint))
        except Exception as error:
            logger.exception("final sync of turn %s failed", self.turn_id)
            self.status = "failed"
            self.error = f"workspace sync failed: {error}"
            self.emit({"type": "error", "message": self.error})
        finally:
            await asyncio.to_thread(workspace.close)

    def _file_events(self, stats: Any) -> None:
        for path in stats.uploaded:
            self.emit({"type": "file", "path": path, "action": "uploaded"})
        for path in stats.deleted:
            self.emit({"type": "file", "path": path, "action": "deleted"})
        self.files["uploaded"] += len(stats.uploaded)
        self.files["deleted"] += len(stats.deleted)

    async def _flush_records(self) -> None:
        from runner.records import FLUSH_INTERVAL_S

        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            await self.records.flush()

    def _result(self) -> dict[str, Any]:
        return {
            "type": RESULT,
            "status": self.status,
            "session_id": str(self.request.session_id),
            "project_id": str(self.request.project_id),
            "turn_id": str(self.turn_id),
            "turn_index": self.request.turn_index,
            "output": self.output,
            "messages": self.messages,
            "usage": self.usage,
            "interaction": self.interaction,
            "files": self.files,
            "error": self.error,
            "killed_by": self.killed_by,
        }


class Turns:
    """The turns running on this runner: at most `max_runs`, one per session."""

    def __init__(self, config: RunnerConfig) -> None:
        self.config = config
        self.running: dict[uuid.UUID, Turn] = {}

    def admit(self, request: RunRequest) -> Turn:
        if request.session_id in self.running:
            raise AdmissionError(f"session {request.session_id} already has a turn running", 409)
        if len(self.running) >= self.config.max_runs:
            raise AdmissionError(
                f"the runner is busy ({self.config.max_runs} turns running); retry later", 429
            )
        turn = Turn(request, self.config)
        self.running[request.session_id] = turn
        turn.task = asyncio.create_task(self._run(turn))
        return turn

    async def _run(self, turn: Turn) -> None:
        try:
            await turn.execute()
        finally:
            self.running.pop(turn.request.session_id, None)

    def kill(self, session_id: uuid.UUID, reason: str = "kill") -> bool:
        turn = self.running.get(session_id)
        if turn is None:
            return False
        turn.kill(reason)
        return True

    def kill_all(self, reason: str) -> int:
        for turn in list(self.running.values()):
            turn.kill(reason)
        return len(self.running)
