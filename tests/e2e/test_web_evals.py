"""Test sets, evaluations and automation in the browser, against a real `lamina up`: the second half of the
journey (upload a test set, run an evaluation with the `mock` model, read and annotate its results), and a
webhook subscription tested against a receiver on this machine."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.browser import screenshot, signed_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.e2e.stack_process import StackProcess

RUN_TIMEOUT_MS = 90_000
COLD_START_TIMEOUT_MS = 30_000  # the first request may wait for a function's cold start on a loaded machine
# question -> expected answer; `mock/echo` answers the question, so exact match holds where they are equal.
GOOD_CSV = "question,correct_answer\nhello,hello\nbye,ciao\nyes,no\n"
# Row 2 lacks a field, row 3 is fine, row 4 has one too many.
BAD_CSV = "question,correct_answer\nhello,hello\nonly one field\nyes,yes\na,b,c\n"


def _echo_application(stack: StackProcess) -> str:
    """An application whose revision asks `mock/echo` the test case's question (created through the API);
    the revision as the run form lists it."""
    slug = f"echo-{uuid.uuid4().hex[:8]}"
    data = {
        "parameters": {
            "prompt": {
                "messages": [{"role": "user", "content": "{{question}}"}],
                "template_format": "curly",
                "llm_config": {"model": "mock/echo"},
            }
        }
    }
    answer = httpx.post(
        f"{stack.api}/api/simple/applications/",
        json={"application": {"slug": slug, "name": slug, "data": data}},
        headers=stack.headers,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return f"{slug} v{answer.json()['application']['version']}"


def _upload(page: Page, name: str, content: str, testset_name: str = "") -> None:
    page.locator("input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content.encode()}]
    )
    page.get_by_role("textbox", name="Name").fill(testset_name)
    page.get_by_role("button", name="Upload", exact=True).click()


def _choose(page: Page, label: str, option: str) -> None:
    page.get_by_role("textbox", name=label).click()
    page.get_by_role("option", name=option).first.click()


def test_upload_a_test_set_run_an_evaluation_and_annotate_it(
    browser_page: Page, web_stack: StackProcess
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    app = _echo_application(web_stack)
    testset = f"greetings-{uuid.uuid4().hex[:6]}"
    evaluator = f"exact-{uuid.uuid4().hex[:6]}"
    signed_in(page, web_stack, "/testsets")

    # WHEN a malformed CSV is uploaded: the API's message on the row it names, and the other bad row too
    _upload(page, "bad.csv", BAD_CSV)
    errors = page.get_by_test_id("upload-row-errors")
    expect(errors.locator("[data-row='2']")).to_contain_text(
        "row 2 (line 3) has 1 fields; the header has 2", timeout=COLD_START_TIMEOUT_MS
    )
    expect(errors.locator("[data-row='4']")).to_contain_text("row 4 has 3 fields")
    expect(errors.locator("[data-row='3']")).to_have_count(0)
    screenshot(page, "testsets-upload-errors")

    # WHEN a good one is uploaded: its page, with the cases in the grid
    _upload(page, "greetings.csv", GOOD_CSV, testset)
    expect(page.get_by_role("heading", name=testset, level=2)).to_be_visible()
    cell = page.get_by_role("textbox", name="Row 2 correct_answer")
    expect(cell).to_have_value("ciao")
    # AND a cell edited in the grid is committed as revision 2
    cell.fill("bye")
    page.get_by_role("button", name="Commit revision").click()
    expect(page.get_by_text("v2", exact=True).first).to_be_visible()
    screenshot(page, "testsets-detail")
    page.get_by_role("tab", name="Revisions").click()
    expect(page.get_by_role("table", name="Revisions").get_by_role("row")).to_have_count(3)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Test sets").click()
    expect(page.get_by_role("link", name=testset)).to_be_visible()
    screenshot(page, "testsets-list")

    # WHEN an exact-match evaluator is made from its kind's schema, then a run over the test set
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Evaluations").click()
    page.get_by_role("button", name="New evaluator").click()
    _choose(page, "Kind", "Exact match")
    page.get_by_role("textbox", name="Name").fill(evaluator)
    expect(page.get_by_role("textbox", name="correct_answer_key")).to_have_value("correct_answer")
    page.get_by_role("button", name="Create evaluator").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.get_by_role("button", name="New evaluation").first.click()
    dialog = page.get_by_role("dialog", name="New evaluation")
    dialog.get_by_role("textbox", name="Name").fill(f"run of {testset}")
    _choose(page, "Test set", f"{testset} · v2")
    _choose(page, "Application revisions", app)
    _choose(page, "Evaluators", evaluator)
    dialog.get_by_role("textbox", name="Name").click()  # closes the open dropdown
    dialog.get_by_role("button", name="Start evaluation").click()

    # THEN its page polls until it finishes: 3 scenarios, 2 exact matches, a trace per output
    expect(page.get_by_test_id("run-status")).to_have_text("success", timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("run-progress-count")).to_have_text("3/3")
    rows = page.get_by_test_id("result-row")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="question: hello")).to_contain_text("success: true")
    expect(rows.filter(has_text="question: bye")).to_contain_text("success: true")  # edited in the grid
    mismatch = rows.filter(has_text="question: yes")
    expect(mismatch).to_contain_text("success: false")
    expect(rows.first.get_by_role("link", name="Trace of scenario 1")).to_have_attribute(
        "href", _trace_href()
    )
    metrics = page.get_by_role("table", name="Metrics")
    expect(metrics.get_by_role("row").filter(has_text=evaluator).filter(has_text="success")).to_contain_text(
        "0.667"
    )
    screenshot(page, "evaluations-run")

    # WHEN a person annotates the mismatch, it shows, and the run's metrics count it
    mismatch.get_by_role("button", name="Annotate").click()
    page.get_by_role("textbox", name="Score").fill("0.5")
    page.get_by_role("textbox", name="Note").fill("close enough")
    page.get_by_role("button", name="Save annotation").click()
    expect(mismatch).to_contain_text("score 0.5")
    expect(mismatch).to_contain_text("close enough")
    expect(metrics.get_by_role("row").filter(has_text="Human").filter(has_text="score")).to_contain_text(
        "0.500"
    )
    screenshot(page, "evaluations-annotated")

    # WHEN the same run is made again (through the API), the list shows both, and they compare side by side
    first = page.url.rsplit("/", 1)[1]
    _rerun_through_the_api(web_stack, first, f"again {testset}")
    page.get_by_role("link", name="Evaluations", exact=True).first.click()
    runs = page.get_by_role("table", name="Evaluation runs")
    expect(runs.get_by_role("row").filter(has_text=f"again {testset}")).to_contain_text(
        "success", timeout=RUN_TIMEOUT_MS
    )
    screenshot(page, "evaluations-list")
    runs.get_by_role("checkbox", name=f"Select run of {testset}").check()
    runs.get_by_role("checkbox", name=f"Select again {testset}").check()
    page.get_by_role("button", name="Compare (2)").click()
    deltas = page.get_by_role("table", name="Metric deltas")
    # The second run lacks the person's annotation: the human score is in the first run only
    expect(deltas.get_by_role("row").filter(has_text=evaluator).filter(has_text="success")).to_contain_text(
        "0.667"
    )
    expect(deltas.get_by_role("row").filter(has_text="Human").filter(has_text="score")).to_contain_text(
        "0.500"
    )
    expect(page.get_by_role("table", name="Scenarios side by side").get_by_role("row")).to_have_count(4)
    screenshot(page, "evaluations-compare")


def _rerun_through_the_api(stack: StackProcess, run_id: str, name: str) -> None:
    run = httpx.get(f"{stack.api}/api/evaluations/runs/{run_id}", headers=stack.headers, timeout=30)
    data = run.json()["run"]["data"]
    steps = ("testset_steps", "application_steps", "evaluator_steps")
    body = {"evaluation": {"name": name, "data": {step: data[step] for step in steps}}}
    created = httpx.post(f"{stack.api}/api/simple/evaluations/", json=body, headers=stack.headers, timeout=30)
    assert created.status_code == 200, created.text


def _trace_href() -> Any:
    import re

    return re.compile(r"^/traces/[0-9a-f]{32}$")


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.received.append({"headers": headers, "body": json.loads(body or b"{}")})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver on loopback: its URL and what it received."""
    received: list[dict[str, Any]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/lamina", received
    server.shutdown()
    server.server_close()


def test_a_webhook_subscription_is_tested_and_its_delivery_logged(
    browser_page: Page, web_stack: StackProcess, receiver: tuple[str, list[dict[str, Any]]]
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    url, received = receiver
    name = f"hook-{uuid.uuid4().hex[:6]}"
    signed_in(page, web_stack, "/automation")
    # WHEN a subscription is created with an event type and a header: its secret is shown once
    page.get_by_role("button", name="New subscription").click()
    dialog = page.get_by_role("dialog", name="New webhook subscription")
    dialog.get_by_role("textbox", name="Name").fill(name)
    dialog.get_by_role("textbox", name="URL").fill(url)
    dialog.get_by_role("textbox", name="Event types").fill("evaluations.run.finished")
    page.keyboard.press("Enter")
    dialog.get_by_role("textbox", name="Name").click()  # closes the suggestions
    dialog.get_by_role("button", name="Add header").click()
    dialog.get_by_role("textbox", name="Header 1 name").fill("X-Team")
    dialog.get_by_role("textbox", name="Header 1 value").fill("evals")
    dialog.get_by_role("button", name="Create subscription").click()
    secret = page.get_by_test_id("webhook-secret")
    expect(secret).to_be_visible()
    assert len(secret.inner_text().strip()) >= 16
    screenshot(page, "automation-secret")
    page.get_by_role("button", name="Done").click()

    # WHEN it is tested: the receiver gets the signed event, and the log shows the attempt
    row = page.get_by_role("row").filter(has_text=name)
    row.get_by_role("button", name="Test").click()
    delivery = page.get_by_test_id("delivery-row").first
    expect(delivery).to_contain_text("webhooks.subscriptions.tested")
    expect(delivery).to_contain_text("succeeded")
    expect(delivery).to_contain_text("204")
    (request,) = received
    assert request["headers"]["x-team"] == "evals"
    assert request["headers"]["x-lamina-signature"].startswith("t=")
    assert request["body"]
    screenshot(page, "automation-webhooks")

    # AND the schedules tab, a deep link of its own: a schedule is created for an application, then disabled
    app = _echo_application(web_stack)
    page.get_by_role("tab", name="Schedules").click()
    expect(page).to_have_url(f"{web_stack.api}/automation/schedules")
    page.get_by_role("button", name="New schedule").click()
    dialog = page.get_by_role("dialog", name="New schedule")
    dialog.get_by_role("textbox", name="Name").fill(f"nightly {name}")
    dialog.get_by_role("textbox", name="Cron").fill("30 2 * * *")
    _choose(page, "Application revision", app)
    dialog.get_by_role("button", name="Create schedule").click()
    schedule = page.get_by_role("row").filter(has_text=f"nightly {name}")
    expect(schedule).to_contain_text("30 2 * * *")
    enabled = schedule.get_by_role("switch")
    expect(enabled).to_be_checked()
    enabled.focus()
    page.keyboard.press("Space")  # by keyboard (Mantine's switch input is visually hidden under its track)
    expect(enabled).not_to_be_checked()
    screenshot(page, "automation-schedules")

    # AND the event triggers tab: a trigger runs the application when a test set is committed
    page.get_by_role("tab", name="Event triggers").click()
    expect(page).to_have_url(f"{web_stack.api}/automation/triggers")
    page.get_by_role("button", name="New event trigger").click()
    dialog = page.get_by_role("dialog", name="New event trigger")
    dialog.get_by_role("textbox", name="Name").fill(f"on commit {name}")
    dialog.get_by_role("textbox", name="Event").fill("testsets.revisions.committed")
    page.keyboard.press("Enter")
    dialog.get_by_role("textbox", name="Name").click()  # closes the suggestions
    _choose(page, "Application revision", app)
    # (tried first: no test set was committed in this stack, so no stored event matches it)
    dialog.get_by_role("button", name="Try on latest event").click()
    expect(dialog.get_by_test_id("trigger-try")).to_have_text("No stored event matches it yet.")
    dialog.get_by_role("button", name="Create trigger").click()
    trigger = page.get_by_role("row").filter(has_text=f"on commit {name}")
    expect(trigger).to_contain_text("testsets.revisions.committed")
    expect(trigger.get_by_role("switch")).to_be_checked()
    # AND edited: the form opens with what it holds, and saving keeps the rest
    trigger.get_by_role("button", name="Edit event trigger").click()
    dialog = page.get_by_role("dialog", name=f"Edit on commit {name}")
    dialog.get_by_role("textbox", name="Name").fill(f"on any commit {name}")
    dialog.get_by_role("button", name="Save trigger").click()
    trigger = page.get_by_role("row").filter(has_text=f"on any commit {name}")
    expect(trigger).to_contain_text("testsets.revisions.committed")
    # AND revoked, then refreshed: its validity shows apart from its on/off switch
    trigger.get_by_role("button", name="Revoke").click()
    expect(trigger).to_contain_text("revoked")
    expect(trigger.get_by_role("switch")).to_be_checked()
    screenshot(page, "automation-triggers")
    trigger.get_by_role("button", name="Refresh").click()
    expect(trigger.get_by_role("button", name="Revoke")).to_be_visible()
    expect(trigger).not_to_contain_text("revoked")
