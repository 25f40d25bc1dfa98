"""A local OpenAI-compatible server for tests and benchmarks: `POST /v1/chat/completions` on a loopback port.

What it answers depends on the request, so one server covers every case:
- model `...-401`: 401 with OpenAI's error body; model `...-429`: 429 (rate limited); model `...-500`: 500;
- `stream: true`: server-sent event chunks (a word each), a last one with the finish reason, `data: [DONE]`;
  model `...-gated`: after the first chunk the server waits for the test to open `stream_gate` (so a test
  proves its client saw that chunk before the stream ended) and records in `gate_opened` whether it was;
- Azure's path (`/openai/deployments/<name>/chat/completions?api-version=...`) answers like OpenAI's;
- Bedrock's Converse API (`POST /model/<id>/converse`): the same answer in Converse's shape;
- tools and a tool_choice other than "none"/"auto": a call of the first (or chosen) tool;
- response_format json_object / json_schema: a JSON object as the content;
- a last user message containing `POISON`: 400 (a request the provider refuses, never retried);
- otherwise: `fake says: <last user message>`.
Modes a test or benchmark switches on: `latency_s` (every answer waits that long) and `rate_limit_for(s)`
(or `requests=n`: every completion answers 429 for a while, a provider that throttles).
Every request is recorded (path, headers, body) for the test to inspect.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

AUTH_ERROR_MESSAGE = "Incorrect API key provided: sk-bad***. You can find your API key at the fake dashboard."
RATE_LIMIT_MESSAGE = "Rate limit reached for fake-model in organization org-fake on requests per min."
GATE_TIMEOUT_S = 10.0
POISON = "POISON"
_lock = threading.Lock()
POISON_MESSAGE = "This request was refused: the input is poison."


@dataclass
class FakeOpenAI:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    stream_gate: threading.Event = field(default_factory=threading.Event)
    gate_opened: list[bool] = field(default_factory=list)
    latency_s: float = 0.0
    rate_limited_until: float = 0.0
    rate_limited_answers: int = 0
    rate_limited_requests: int = 0

    @property
    def api_base(self) -> str:
        return f"{self.url}/v1"

    def rate_limit_for(self, seconds: float = 0.0, *, requests: int = 0) -> None:
        """Answer every completion with a 429 for the next `seconds`, or the next `requests` completions."""
        self.rate_limited_until = time.monotonic() + seconds
        self.rate_limited_requests = requests

    def _throttles(self) -> bool:
        with _lock:
            if time.monotonic() < self.rate_limited_until or self.rate_limited_requests > 0:
                self.rate_limited_requests = max(0, self.rate_limited_requests - 1)
                self.rate_limited_answers += 1
                return True
        return False


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, str):
            return content
        if message.get("role") == "user" and isinstance(content, list):  # Converse's content blocks
            return " ".join(str(block.get("text")) for block in content if block.get("text"))
    return ""


def _converse(body: dict[str, Any]) -> dict[str, Any]:
    text = _last_user_text(body.get("messages") or [])
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": f"fake says: {text}"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 11, "outputTokens": 7, "totalTokens": 18},
        "metrics": {"latencyMs": 1},
    }


def _completion(body: dict[str, Any]) -> dict[str, Any]:
    text = _last_user_text(body.get("messages") or [])
    message: dict[str, Any] = {"role": "assistant", "content": f"fake says: {text}"}
    finish = "stop"
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    response_format = (body.get("response_format") or {}).get("type")
    if tools and choice not in (None, "none", "auto"):
        name = tools[0]["function"]["name"]
        if isinstance(choice, dict):
            name = choice["function"]["name"]
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_fake_1",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps({"city": text})},
                }
            ],
        }
        finish = "tool_calls"
    elif response_format in ("json_object", "json_schema"):
        message["content"] = json.dumps({"answer": text, "confidence": 0.9})
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": body.get("model"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def _error(status: int, message: str, kind: str, code: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Keep-alive, as providers answer: a client's pooled connection is reused instead of a TCP handshake per
    # call (which a concurrency benchmark would otherwise count against the client).
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        if status == 429:
            self.send_header("retry-after", "0")
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(self, completion: dict[str, Any], gated: bool = False) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        # No length up front: the end of the stream is the end of the connection.
        self.send_header("connection", "close")
        self.close_connection = True
        self.end_headers()
        content = completion["choices"][0]["message"].get("content") or ""
        for index, word in enumerate(content.split(" ")):
            piece = word if index == 0 else f" {word}"
            chunk = {
                "id": completion["id"],
                "object": "chat.completion.chunk",
                "created": completion["created"],
                "model": completion["model"],
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            if gated and index == 0:
                self.wfile.flush()
                self.server.fake.gate_opened.append(self.server.fake.stream_gate.wait(GATE_TIMEOUT_S))
        finish = {
            "id": completion["id"],
            "object": "chat.completion.chunk",
            "created": completion["created"],
            "model": completion["model"],
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
        self.wfile.write(f"data: {json.dumps(finish)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.server.fake.requests.append(
            {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        )
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        if path.startswith("/model/") and path.endswith("/converse"):
            self._send_json(200, _converse(body))
            return
        if not path.endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        # Azure names the deployment in the path, not in the body.
        deployment = path.split("/deployments/", 1)[1].split("/", 1)[0] if "/deployments/" in path else ""
        model = str(body.get("model") or deployment)
        if self.server.fake.latency_s:
            time.sleep(self.server.fake.latency_s)
        if self.server.fake._throttles():
            self._send_json(*_error(429, RATE_LIMIT_MESSAGE, "requests", "rate_limit_exceeded"))
        elif POISON in _last_user_text(body.get("messages") or []):
            self._send_json(*_error(400, POISON_MESSAGE, "invalid_request_error", "invalid_request"))
        elif model.endswith("-401"):
            self._send_json(*_error(401, AUTH_ERROR_MESSAGE, "invalid_request_error", "invalid_api_key"))
        elif model.endswith("-429"):
            self._send_json(*_error(429, RATE_LIMIT_MESSAGE, "requests", "rate_limit_exceeded"))
        elif model.endswith("-500"):
            self._send_json(*_error(500, "The fake server had an error.", "server_error", "server_error"))
        elif body.get("stream"):
            self._send_stream(_completion(body), gated=model.endswith("-gated"))
        else:
            self._send_json(200, _completion(body))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a burst of concurrent clients (each retried a
    # second later): the fake must not be the bottleneck of a concurrency benchmark.
    request_queue_size = 256
    fake: FakeOpenAI


@contextmanager
def fake_openai_server() -> Iterator[FakeOpenAI]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.fake = FakeOpenAI(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, name="fake-openai", daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
