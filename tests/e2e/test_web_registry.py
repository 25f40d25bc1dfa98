"""The registry, playground and settings pages in headless Chromium against a real `lamina up`: the first half
of the product's journey (create an application, run it with the mock model, commit, deploy, diff), and an API
key shown once."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

import httpx

from tests.e2e.browser import screenshot, signed_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.e2e.stack_process import StackProcess

# The trace (with the tokens) is ingested through the local queue a moment after the run answers.
TRACE_WAIT_MS = 30_000
# A route's first call in a fresh `lamina up` imports its module; on a loaded machine that takes seconds.
FIRST_LOAD_MS = 20_000
# `lamina up` gives concurrent invokes their own function instance, like Lambda: its init took 21 s here.
COLD_START_MS = 60_000


def test_create_run_commit_deploy_and_diff_an_application(
    browser_page: Page, web_stack: StackProcess
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    slug = f"webreg-{uuid.uuid4().hex[:8]}"
    # GIVEN a signed-in user in the registry
    signed_in(page, web_stack, "/registry")
    # WHEN they create an application
    page.get_by_role("button", name="New application").click()
    page.get_by_role("textbox", name="Slug").fill(slug)
    page.get_by_role("textbox", name="Name").fill("Support answers")
    page.get_by_role("button", name="Create", exact=True).click()
    # THEN its page (a deep link) shows the first revision of its variant
    expect(page).to_have_url(re.compile(r"/registry/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", name="Support answers", level=2)).to_be_visible(timeout=FIRST_LOAD_MS)
    expect(page.get_by_test_id("revision-log")).to_contain_text("initial prompt", timeout=FIRST_LOAD_MS)
    screenshot(page, "registry-application")

    # WHEN it is opened in the playground and run with the mock model
    page.get_by_role("link", name="Open in playground").click()
    expect(page).to_have_url(re.compile(r"/playground/[0-9a-f-]{36}/[0-9a-f-]{36}$"))
    page.get_by_role("textbox", name="question").fill("What is Lamina?")
    page.get_by_role("button", name="Run", exact=True).click()
    # THEN the output (mock echoes the rendered user message), its tokens and a link to its trace show
    expect(page.get_by_test_id("run-output")).to_contain_text(
        "Answer briefly: What is Lamina?", timeout=FIRST_LOAD_MS
    )
    expect(page.get_by_test_id("run-tokens")).to_contain_text(
        re.compile(r"\d+ tokens"), timeout=TRACE_WAIT_MS
    )
    expect(page.get_by_test_id("run-metrics").get_by_role("link", name="Trace")).to_have_attribute(
        "href", re.compile(r"^/traces/[0-9a-f]{32}$")
    )
    screenshot(page, "playground-run")

    # WHEN the prompt is edited and committed as a new revision, then deployed to production from the banner
    page.get_by_role("textbox", name="Message 2 content").fill("Reply in one line: {{question}}")
    page.get_by_role("button", name="Commit", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="Message").fill("one-line answers")
    dialog.get_by_role("button", name="Commit").click()
    banner = page.get_by_test_id("committed-banner")
    expect(banner).to_contain_text("Committed v2 · one-line answers")
    banner.get_by_role("button", name="Deploy v2").click()
    page.get_by_role("menuitem", name="production").click()
    expect(page.get_by_text("v2 deployed to production")).to_be_visible(timeout=FIRST_LOAD_MS)
    screenshot(page, "playground-committed")
    # AND compared with v1 on the same inputs, one Run runs both
    page.get_by_role("textbox", name="Compare with revision").click()
    page.get_by_role("option", name="v1 · initial prompt").click()
    page.get_by_role("textbox", name="question").fill("Why?")
    page.get_by_role("button", name="Run", exact=True).click()
    columns = page.get_by_test_id("compare-columns")
    expect(columns.get_by_test_id("run-output").first).to_contain_text("Reply in one line: Why?")
    # (the two invokes run concurrently: the second starts a second, cold, instance of the services function)
    expect(columns.get_by_test_id("run-output").last).to_contain_text(
        "Answer briefly: Why?", timeout=COLD_START_MS
    )
    screenshot(page, "playground-compare")

    # THEN the registry shows production's history serving v2, and the diff of v1 and v2
    banner.get_by_role("link", name="Registry").click()
    history = page.get_by_test_id("environment-history-production")
    expect(history.get_by_role("row").nth(1)).to_contain_text("v2live")
    # AND deploying v1 then rolling back to v2 adds to the history, v2 live again
    page.get_by_role("button", name="Deploy v1").click()
    page.get_by_role("menuitem", name="production").click()
    expect(history.get_by_role("row").nth(1)).to_contain_text("v1live")
    history.get_by_role("row").nth(2).get_by_role("button", name="Roll back").click()
    expect(history.get_by_role("row").nth(1)).to_contain_text("v2live")
    expect(history.get_by_role("row")).to_have_count(4)
    expect(history.get_by_role("row").nth(1)).to_contain_text("rollback to v2")
    diff = page.get_by_test_id("revision-diff")
    expect(diff.locator("tr[data-kind=changed]")).to_contain_text("Reply in one line: {{question}}")
    expect(diff.locator("tr[data-kind=changed]")).to_contain_text("Answer briefly: {{question}}")
    screenshot(page, "registry-history-and-diff")


def test_an_api_key_is_shown_once_and_works(browser_page: Page, web_stack: StackProcess) -> None:
    from playwright.sync_api import expect

    page = browser_page
    name = f"webreg-ci-{uuid.uuid4().hex[:6]}"
    # GIVEN the settings page, opened by its deep link
    signed_in(page, web_stack, "/settings")
    expect(page).to_have_url(re.compile(r"/settings/api-keys$"))
    # WHEN an API key is created
    page.get_by_role("button", name="New API key").click()
    page.get_by_role("textbox", name="Name").fill(name)
    page.get_by_role("button", name="Create key").click()
    # THEN its secret is shown once, and it authenticates against the API
    key = page.get_by_test_id("created-api-key").inner_text().strip()
    assert re.fullmatch(r"[^.\s]+\.\S+", key), key
    screenshot(page, "settings-api-key-created")
    answer = httpx.get(f"{web_stack.api}/api/projects/current", headers={"Authorization": f"ApiKey {key}"})
    assert answer.status_code == 200, answer.text
    # AND once closed, the list shows it by prefix only, never the secret again
    page.get_by_role("button", name="Done").click()
    row = page.get_by_test_id("api-keys").get_by_role("row", name=re.compile(name))
    expect(row).to_contain_text(key.split(".", 1)[0])
    expect(page.get_by_text(key)).to_have_count(0)
    page.get_by_role("tab", name="Members").click()
    expect(page.get_by_test_id("members")).to_contain_text(web_stack.state["local_user"]["email"])
    page.get_by_role("tab", name="Provider keys").click()
    expect(page.get_by_role("button", name="Add provider key")).to_be_visible()
    screenshot(page, "settings-provider-keys")
