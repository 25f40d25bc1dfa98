"""The traces page in headless Chromium against `lamina up`: spans sent over OTLP, listed, filtered (in the URL),
opened as a tree, charted, and one span added to a new test set."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

import httpx

from tests.e2e.browser import screenshot, signed_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.e2e.stack_process import StackProcess

ERROR = 2
OK = 1


def otlp_span(
    trace_id: str,
    span_id: str,
    parent: str,
    name: str,
    offset_ms: int,
    attributes: dict[str, Any],
    status: int,
) -> dict[str, Any]:
    start = time.time_ns() - 60_000_000_000 + offset_ms * 1_000_000
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "parentSpanId": parent,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 250_000_000),
        "status": {"code": status, "message": "the model timed out" if status == ERROR else ""},
        "attributes": [
            {
                "key": key,
                "value": {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value},
            }
            for key, value in attributes.items()
        ],
    }


def agent_trace(name: str, question: str, status: int, offset_ms: int) -> tuple[str, list[dict[str, Any]]]:
    """An agent span (inputs, outputs) with a chat child (model, tokens), both with `status`."""
    trace_id, root, chat = uuid.uuid4().hex, uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
    agent_attributes = {
        "ag.data.inputs": json.dumps({"question": question}),
        "ag.data.outputs": json.dumps({"answer": question.upper()}),
    }
    chat_attributes = {
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 30,
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": question,
    }
    return trace_id, [
        otlp_span(trace_id, root, "", name, offset_ms, agent_attributes, status),
        otlp_span(trace_id, chat, root, "chat", offset_ms + 10, chat_attributes, status),
    ]


def send_and_wait(stack: StackProcess, spans: list[dict[str, Any]], roots: int, names: list[str]) -> None:
    """Export the spans over OTLP/JSON, then wait for the worker to store the `roots` root spans named `names`."""
    body = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    headers = {**stack.headers, "Content-Type": "application/json"}
    sent = httpx.post(
        f"{stack.api}/api/otlp/v1/traces", content=json.dumps(body), headers=headers, timeout=30
    )
    assert sent.status_code == 200, sent.text
    query = {"filtering": {"conditions": [{"field": "span_name", "operator": "in", "value": names}]}}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = httpx.post(
            f"{stack.api}/api/spans/query", json=query, headers=stack.headers, timeout=30
        ).json()
        if found["count"] == roots:
            return
        time.sleep(0.3)
    raise AssertionError("the worker did not store the spans within 60 s")


def test_list_filter_tree_charts_and_a_span_into_a_test_set(
    browser_page: Page, web_stack: StackProcess
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    run = uuid.uuid4().hex[:6]
    # GIVEN three traces sent over OTLP: two of agent "support-<run>" (one failed), one of "billing-<run>"
    support, billing = f"support-{run}", f"billing-{run}"
    good_id, good = agent_trace(support, "why is the sky blue", OK, 0)
    failed_id, failed = agent_trace(support, "what is light", ERROR, 1000)
    _, other = agent_trace(billing, "refund please", OK, 2000)
    send_and_wait(web_stack, [*good, *failed, *other], 3, [support, billing])

    # WHEN the list opens: one row per trace (root spans), newest first, with their columns
    signed_in(page, web_stack, "/traces")
    rows = page.get_by_test_id("trace-row")
    # The first visit loads the page's chunk too: on a loaded CI machine that may take more than 5 s.
    expect(rows.first).to_be_visible(timeout=20_000)
    expect(page.get_by_role("columnheader", name="Latency")).to_be_visible()
    screenshot(page, "traces-list")

    # AND it is filtered by name (Enter applies), then by status: the URL holds both, so a reload keeps them
    page.get_by_role("textbox", name="Name").fill(support)
    page.get_by_role("textbox", name="Name").press("Enter")
    expect(page).to_have_url(re.compile(f"name={support}"))
    expect(rows).to_have_count(2)
    page.get_by_text("Error", exact=True).click()
    expect(page).to_have_url(re.compile("status=error"))
    page.reload()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(support)
    expect(rows.first).to_contain_text("error")
    # AND the trace's row shows the tokens of its chat span (120 + 30), summed up to the root
    expect(rows.first).to_contain_text("150")
    screenshot(page, "traces-list-filtered")

    # WHEN the failed trace opens: its tree (agent → chat), the root's details, its error highlighted
    rows.first.get_by_role("link", name=support).click()
    expect(page).to_have_url(re.compile(f"/traces/{failed_id}"))
    nodes = page.get_by_test_id("span-node")
    expect(nodes).to_have_count(2)
    details = page.get_by_test_id("span-details")
    expect(details.get_by_text("This span failed")).to_be_visible()
    expect(details.get_by_text("the model timed out")).to_be_visible()
    expect(details.get_by_role("tabpanel", name="Inputs")).to_contain_text("what is light")
    # AND the tree collapses and expands
    page.get_by_role("button", name=f"Collapse {support}").click()
    expect(nodes).to_have_count(1)
    page.get_by_role("button", name=f"Expand {support}").click()
    expect(nodes).to_have_count(2)
    # AND the chat span shows its model, tokens and attributes
    nodes.filter(has_text="chat").click()
    expect(page).to_have_url(re.compile("span="))
    expect(details).to_contain_text("gpt-4o-mini")
    expect(details).to_contain_text("150")
    details.get_by_role("tab", name="Attributes").click()
    expect(details.get_by_role("tabpanel", name="Attributes")).to_contain_text("gen_ai")
    screenshot(page, "trace-tree")

    # WHEN a custom time range is chosen: it starts as the last 24 hours, with its bounds in the URL
    page.goto(f"{web_stack.api}/traces?name={support}")
    expect(rows).to_have_count(2)
    page.get_by_role("textbox", name="Time range").click()
    page.get_by_role("option", name="Custom range").click()
    expect(page).to_have_url(re.compile("from=20"))
    expect(page.get_by_text("To", exact=True)).to_be_visible()  # the date-time pickers (their own chunk)
    expect(rows).to_have_count(2)
    screenshot(page, "traces-custom-range")
    # AND a link to a range that ends before the traces lists none
    page.goto(f"{web_stack.api}/traces?name={support}&to=2020-01-01T00:00:00.000Z")
    expect(page.get_by_text("No traces match")).to_be_visible()
    expect(rows).to_have_count(0)

    # WHEN the charts open for the same filters (name only): volume, latency, cost and errors
    page.goto(f"{web_stack.api}/traces/analytics?range=1h&name={support}")
    charts = page.get_by_test_id("traces-charts")
    expect(charts).to_be_visible()
    for title in ("Volume (spans)", "Latency (ms)", "Cost ($)", "Errors"):
        expect(charts.get_by_role("heading", name=title)).to_be_visible()
    expect(charts.locator(".recharts-bar-rectangle").first).to_be_attached()
    screenshot(page, "traces-charts")

    # WHEN the successful trace's root span is selected in the list and added to a new test set
    page.goto(f"{web_stack.api}/traces?status=ok&name={support}")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("checkbox").check()
    page.get_by_role("button", name="Add to test set").click()
    testset_name = f"from traces {run}"
    page.get_by_role("textbox", name="Test set name").fill(testset_name)
    page.get_by_role("dialog").get_by_role("button", name="Add to test set").click()
    expect(page.get_by_text("Added to test set")).to_be_visible()
    screenshot(page, "traces-added-to-testset")
    # THEN the test set holds the span's inputs as columns and its outputs as the answer
    listed = httpx.post(
        f"{web_stack.api}/api/simple/testsets/query", json={}, headers=web_stack.headers, timeout=30
    ).json()["testsets"]
    created_id = next(item["id"] for item in listed if item["name"] == testset_name)
    created = web_stack.get(f"/api/simple/testsets/{created_id}").json()["testset"]
    cases = created["data"]["testcases"]
    assert [case["data"] for case in cases] == [
        {"question": "why is the sky blue", "correct_answer": {"answer": "WHY IS THE SKY BLUE"}}
    ], (good_id, cases)

    # AND in the dark theme (toggled once, kept across navigations): the list, a trace with its JSON views, the
    # charts and the test set it fed, screenshotted for a look at their contrast
    page.get_by_test_id("theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-mantine-color-scheme", "dark")
    expect(rows.first).to_be_visible()
    screenshot(page, "dark-traces-list")
    page.goto(f"{web_stack.api}/traces/{failed_id}")
    expect(page.get_by_test_id("span-details").get_by_text("This span failed")).to_be_visible()
    expect(page.locator(".cm-editor").first).to_be_visible()
    screenshot(page, "dark-trace-tree")
    page.goto(f"{web_stack.api}/traces/analytics?range=1h&name={support}")
    expect(page.get_by_test_id("traces-charts").locator(".recharts-bar-rectangle").first).to_be_attached()
    screenshot(page, "dark-traces-charts")
    page.goto(f"{web_stack.api}/testsets/{created_id}")
    expect(page.get_by_text(testset_name).first).to_be_visible()
    screenshot(page, "dark-testset")
