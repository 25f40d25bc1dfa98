"""The web UI in a real browser: Debian's Chromium driven by Playwright (its own browsers are never downloaded).

`tests/e2e/conftest.py` turns these into fixtures: `web_stack` (one `lamina up` serving web/dist, per session),
`browser_page` (a fresh page at 1280x800), and page tests call `signed_in(page, stack)` and `screenshot(page, name)`.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from tests.e2e.stack_process import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.e2e.stack_process import StackProcess

CHROMIUM = Path(os.environ.get("LAMINA_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
NAV_AREAS = ("Registry", "Playground", "Traces", "Test sets", "Evaluations", "Automation", "Settings")


def build_web() -> Path:
    """web/dist, built when web/ changed (scripts/build-web caches by hash, so this is quick otherwise)."""
    subprocess.run([str(ROOT / "scripts" / "build-web")], check=True, cwd=ROOT)
    return ROOT / "web" / "dist"


def signed_in(page: Page, stack: StackProcess, path: str = "/") -> Page:
    """Open `path` and sign in with the seeded user's API key, pasted into the sign-in form as a person would."""
    from playwright.sync_api import expect

    page.goto(f"{stack.api}{path}")
    page.get_by_role("tab", name="API key").click()
    page.get_by_role("textbox", name="API key").fill(stack.state["local_user"]["api_key"])
    page.get_by_role("button", name="Use API key").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    return page


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as test-artifacts/screenshots/<name>.png (gitignored; CI keeps the folder)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-zA-Z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
