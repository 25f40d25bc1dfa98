"""Browser fixtures for the web UI tests (see tests/e2e/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.e2e.browser import CHROMIUM, VIEWPORT, build_web
from tests.e2e.stack_process import StackProcess, scratch_state_dir

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture(scope="session")
def web_stack() -> Iterator[StackProcess]:
    """One `lamina up` (embedded Postgres, Redis, moto) serving the built UI at / beside /api, per session."""
    dist = build_web()
    if not (dist / "index.html").is_file():
        pytest.skip("the web UI is not built (npm missing?): scripts/build-web")
    stack = StackProcess(scratch_state_dir())
    stack.boot()
    try:
        yield stack
    finally:
        stack.stop()


# Per module, not per session: Playwright's sync API keeps an event loop running in this thread while it lives,
# and the next file on this worker may call asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set LAMINA_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[Page]:
    """A fresh page (own storage: signed out, light theme) at 1280x800; console errors fail the test."""
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
