"""Every built-in evaluator kind on a small table of cases, the settings schemas, and the custom code sandbox
(no network, no secrets, killed at its CPU, memory and wall-clock limits, stdout captured)."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from lamina.errors import ValidationFailedError
from lamina.evaluators.catalog import KINDS, catalog_view, check_settings, kind_of
from lamina.evaluators.runtime import evaluate

ANSWER = {"correct_answer": "Paris"}

# (kind, settings, outputs, testcase, expected outputs (a subset))
CASES: list[tuple[str, dict[str, Any], Any, dict[str, Any], dict[str, Any]]] = [
    ("exact_match", {}, "Paris", ANSWER, {"success": True}),
    ("auto_exact_match", {}, "paris", ANSWER, {"success": False}),
    ("exact_match", {"correct_answer_key": "city"}, {"a": 1}, {"city": {"a": 1}}, {"success": True}),
    ("regex", {"regex_pattern": r"^\d{3}-\d{4}$"}, "555-1234", {}, {"success": True}),
    (
        "regex",
        {"regex_pattern": "secret", "regex_should_match": False},
        "no secrets here",
        {},
        {"success": False},
    ),
    ("starts_with", {"prefix": "The answer"}, "The answer is 4", {}, {"success": True}),
    ("starts_with", {"prefix": "the", "case_sensitive": False}, "The answer", {}, {"success": True}),
    ("ends_with", {"suffix": "."}, "Done.", {}, {"success": True}),
    ("ends_with", {"suffix": "!"}, "Done.", {}, {"success": False}),
    ("contains", {"substring": "Paris"}, "I think Paris.", {}, {"success": True}),
    ("contains_any", {"substrings": "London, Paris"}, "It is Paris", {}, {"success": True}),
    ("contains_any", {"substrings": ["Rome", "Oslo"]}, "It is Paris", {}, {"success": False}),
    ("contains_all", {"substrings": ["Paris", "France"]}, "Paris, France", {}, {"success": True}),
    (
        "contains_all",
        {"substrings": ["Paris", "Texas"], "case_sensitive": False},
        "paris, france",
        {},
        {"success": False},
    ),
    ("contains_json", {}, 'Here: {"a": [1, 2]} done', {}, {"success": True}),
    ("contains_json", {}, "Here: {not json}", {}, {"success": False}),
    ("contains_json", {}, {"already": "structured"}, {}, {"success": True}),
    (
        "json_field_match",
        {"json_field": "city.name"},
        '{"city": {"name": "Paris"}}',
        ANSWER,
        {"success": True},
    ),
    ("field_match_test", {"json_field": "city"}, {"city": "Lyon"}, ANSWER, {"success": False}),
    (
        "json_diff",
        {},
        {"name": "Ada", "age": 36, "extra": True},
        {"correct_answer": json.dumps({"name": "Ada", "age": 37})},
        {"score": 0.5, "success": True},
    ),
    (
        "json_diff",
        {"compare_schema_only": True, "predict_keys": True},
        {"name": "Bob", "age": 1, "extra": 1},
        {"correct_answer": {"name": "Ada", "age": 37}},
        {"score": round(2 / 3, 6)},
    ),
    (
        "levenshtein",
        {"threshold": 0.8},
        "kitten",
        {"correct_answer": "sitting"},
        {"distance": 3, "success": False},
    ),
    ("levenshtein", {}, "Paris", ANSWER, {"score": 1.0, "success": True}),
    ("similarity", {"similarity_threshold": 0.9}, "Pariss", ANSWER, {"success": True}),
    ("similarity", {"similarity_threshold": 0.9}, "Berlin", ANSWER, {"success": False}),
    (
        "semantic_similarity",
        {},
        "The capital city of France is Paris",
        {"correct_answer": "Paris is the capital of France"},
        {"success": True},
    ),
    (
        "semantic_similarity",
        {},
        "bananas are yellow",
        {"correct_answer": "Paris is in France"},
        {"success": False},
    ),
    (
        "llm_judge",
        {
            "model": "mock/judge",
            "prompt_template": [{"role": "user", "content": "Grade {{outputs}} vs {{ground_truth}}"}],
        },
        "Paris",
        ANSWER,
        {"score": 0.0, "success": False, "reason": "Grade Paris vs Paris", "model": "mock/judge"},
    ),
    (
        "custom_code",
        {
            "code": "def evaluate(inputs, outputs, testcase):\n    return float(outputs == testcase['correct_answer'])"
        },
        "Paris",
        ANSWER,
        {"score": 1.0},
    ),
    (
        "auto_custom_code_run",
        {
            "code": "def evaluate(app_params, inputs, output, correct_answer):\n    print('seen', output)\n    return {'score': 0.25, 'success': False}"
        },
        "Lyon",
        ANSWER,
        {"score": 0.25, "success": False, "stdout": "seen Lyon\n"},
    ),
]


@pytest.mark.parametrize(("kind", "settings", "outputs", "testcase", "expected"), CASES)
def test_each_kind_on_a_table_of_cases(
    kind: str, settings: dict[str, Any], outputs: Any, testcase: dict[str, Any], expected: dict[str, Any]
) -> None:
    # GIVEN a kind's settings valid against its schema
    check_settings(kind_of(kind), settings)
    # WHEN it evaluates one case
    outcome = evaluate(kind, settings, inputs={"country": "France"}, outputs=outputs, testcase=testcase)
    # THEN it answers the expected outputs and no error
    assert outcome.error is None
    assert {key: outcome.outputs.get(key) for key in expected} == expected


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.received.append(body)
        answer = json.dumps({"score": 0.9 if body["outputs"] == body["correct_answer"] else 0.1}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


@pytest.fixture
def receiver() -> Iterator[str]:
    from tests.support import configure_library

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    configure_library({"LAMINA_OUTBOUND_ALLOW_LOOPBACK": "true"})
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/grade"
    finally:
        from lamina.state import configure

        configure(None)
        server.shutdown()
        server.server_close()


def test_the_webhook_kind_posts_the_case_through_the_outbound_guard(receiver: str) -> None:
    # GIVEN a receiver that grades the case
    # WHEN a webhook evaluator runs against it, and against the metadata service's address
    outcome = evaluate(
        "webhook", {"webhook_url": receiver}, inputs={"q": "?"}, outputs="Paris", testcase=ANSWER
    )
    refused = evaluate(
        "webhook", {"webhook_url": "http://169.254.169.254/latest"}, inputs={}, outputs="x", testcase=ANSWER
    )
    # THEN the receiver's score comes back, and the SSRF guard refused the other (an error, not an exception)
    assert outcome.error is None and outcome.outputs == {"score": 0.9, "success": True}
    assert _Receiver.received[-1] == {
        "inputs": {"q": "?"},
        "outputs": "Paris",
        "testcase": ANSWER,
        "correct_answer": "Paris",
    }
    assert refused.error is not None and "refused" in refused.error


def test_a_failing_evaluator_is_an_outcome_with_an_error_not_an_exception() -> None:
    bad_regex = evaluate("regex", {"regex_pattern": "("}, inputs={}, outputs="x", testcase={})
    no_answer = evaluate("exact_match", {}, inputs={}, outputs="x", testcase={})
    raising = evaluate(
        "custom_code",
        {"code": "def evaluate(i, o, t):\n    raise ValueError('boom')"},
        inputs={},
        outputs="x",
        testcase={},
    )
    unknown = evaluate("no_such_kind", {}, inputs={}, outputs="x", testcase={})
    assert bad_regex.error is not None and "does not compile" in bad_regex.error
    assert no_answer.error == "the test case has no 'correct_answer' column (correct_answer_key)"
    assert raising.error == "ValueError: boom" and raising.outputs == {}
    assert unknown.error == "unknown evaluator kind 'no_such_kind'"


def test_every_kind_publishes_a_settings_schema_that_refuses_bad_settings() -> None:
    catalog = {entry["key"]: entry for entry in catalog_view()}
    assert set(catalog) == {kind.key for kind in KINDS} and len(catalog) == 16
    assert catalog["auto_regex_test"]["data"]["schemas"]["parameters"]["required"] == ["regex_pattern"]
    with pytest.raises(ValidationFailedError, match="similarity_threshold"):
        check_settings(kind_of("similarity"), {"similarity_threshold": 2})


# ---------------------------------------------------------------- the code sandbox


def _code(body: str) -> dict[str, Any]:
    return {
        "code": "def evaluate(inputs, outputs, testcase):\n"
        + "\n".join(f"    {line}" for line in body.splitlines())
    }


def test_the_sandbox_refuses_network_even_to_a_loopback_listener() -> None:
    # GIVEN a listener on loopback that would accept a connection
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        # WHEN evaluator code tries to connect to it (and to import a socket another way)
        connect = evaluate(
            "custom_code",
            _code(
                f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\nreturn 1.0"
            ),
            inputs={},
            outputs="x",
            testcase={},
        )
        raw = evaluate(
            "custom_code",
            _code("import _socket\n_socket.socket()\nreturn 1.0"),
            inputs={},
            outputs="x",
            testcase={},
        )
        # THEN both fail inside the sandbox, and nothing reached the listener
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert connect.error is not None and "network access is disabled" in connect.error
    assert raw.error is not None and "network access is disabled" in raw.error


def test_the_sandbox_sees_no_secrets_and_cannot_start_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    env = evaluate(
        "custom_code",
        _code("import os\nreturn {'keys': sorted(os.environ)}"),
        inputs={},
        outputs="",
        testcase={},
    )
    spawn = evaluate(
        "custom_code", _code("import os\nos.system('true')\nreturn 1"), inputs={}, outputs="", testcase={}
    )
    assert env.error is None and "OPENAI_API_KEY" not in env.outputs["keys"]
    assert not [key for key in env.outputs["keys"] if "KEY" in key or "SECRET" in key or "DATABASE" in key]
    assert spawn.error is not None and "starting processes is disabled" in spawn.error
    assert os.environ["OPENAI_API_KEY"] == "sk-should-not-leak"  # the parent's environment is untouched


@pytest.mark.parametrize(
    ("body", "settings", "reason", "max_s"),
    [
        ("while True:\n    pass", {"timeout_s": 30}, "CPU time limit", 8.0),
        ("data = bytearray(2 * 1024 ** 3)\nreturn 1", {}, "memory limit", 8.0),
        ("import time\ntime.sleep(30)\nreturn 1", {"timeout_s": 1}, "wall-clock limit of 1 s", 5.0),
    ],
    ids=["cpu", "memory", "wall-clock"],
)
def test_the_sandbox_is_killed_at_its_limits(
    body: str, settings: dict[str, Any], reason: str, max_s: float
) -> None:
    from lamina.evaluators import sandbox

    # GIVEN code that spins, allocates 2 GiB, or sleeps, under a 2 s CPU limit for the spinning one
    started = time.monotonic()
    if "while True" in body:
        with pytest.raises(sandbox.EvaluatorInputError, match=reason):
            sandbox.run_python(
                _code(body)["code"], {"inputs": {}, "outputs": "", "testcase": {}}, timeout_s=30, cpu_s=2
            )
    else:
        # WHEN it runs as an evaluator
        outcome = evaluate("custom_code", {**_code(body), **settings}, inputs={}, outputs="", testcase={})
        # THEN it fails with the limit it hit
        assert outcome.error is not None and reason in outcome.error, outcome.error
    assert time.monotonic() - started < max_s
