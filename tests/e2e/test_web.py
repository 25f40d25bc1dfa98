"""The web UI against a real `lamina up`, in headless Chromium. Page tests: take `browser_page` and `web_stack`,
call `signed_in(page, web_stack, "/<area>")`, act, assert, `screenshot(page, "<area>-<state>")`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from tests.e2e.browser import NAV_AREAS, screenshot, signed_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from tests.e2e.stack_process import StackProcess


def test_sign_in_with_the_api_key_then_the_shell_and_every_area(
    browser_page: Page, web_stack: StackProcess
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    # GIVEN a deep link opened signed out: the sign-in form, at that URL
    page.goto(f"{web_stack.api}/traces")
    expect(page.get_by_role("heading", name="Sign in to Lamina")).to_be_visible()
    screenshot(page, "sign-in")
    # WHEN the seeded user's API key is pasted
    signed_in(page, web_stack, "/traces")
    # THEN the shell shows the deep-linked page and the seeded project in the switcher
    project = web_stack.get("/api/projects/current").json()["project"]["name"]
    expect(page.get_by_role("heading", name="Traces", level=2)).to_be_visible()
    expect(page.get_by_test_id("project-switcher")).to_have_value(project)
    # AND every area of the nav opens its page by client-side routing
    for area in NAV_AREAS:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=area).click()
        expect(page.get_by_role("heading", name=area, level=2)).to_be_visible()
        screenshot(page, f"area-{area.lower().replace(' ', '-')}")
    # WHEN the theme is switched to dark, it applies and survives a reload
    page.get_by_test_id("theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-mantine-color-scheme", "dark")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-mantine-color-scheme", "dark")
    expect(page.get_by_test_id("project-switcher")).to_have_value(project)
    screenshot(page, "shell-dark")
    # AND signing out clears the credential: the sign-in form again, also after a reload
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Lamina")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Sign in to Lamina")).to_be_visible()


def test_sign_in_with_the_seeded_cognito_user(browser_page: Page, web_stack: StackProcess) -> None:
    from playwright.sync_api import expect

    page = browser_page
    user = web_stack.state["local_user"]
    # GIVEN the sign-in form, whose Cognito pool and client come from the public /api/auth/config
    page.goto(f"{web_stack.api}/registry")
    # WHEN the seeded user signs in with email and password (InitiateAuth through /_local/cognito-idp/)
    page.get_by_role("textbox", name="Email").fill(user["email"])
    page.locator("input[autocomplete=current-password]").fill(user["password"])
    page.get_by_role("button", name="Sign in").click()
    # THEN the API accepts the Bearer token: the shell loads the user's projects
    expect(page.get_by_role("heading", name="Registry", level=2)).to_be_visible()
    project = web_stack.get("/api/projects/current").json()["project"]["name"]
    expect(page.get_by_test_id("project-switcher")).to_have_value(project)
    screenshot(page, "signed-in-cognito")


def test_the_gateway_serves_the_ui_beside_the_api(web_stack: StackProcess) -> None:
    # GIVEN lamina up serving web/dist on the API's origin
    index = httpx.get(f"{web_stack.api}/evaluations/some-run")
    # THEN a client-side route answers index.html, never cached
    assert index.status_code == 200 and '<div id="root">' in index.text
    assert index.headers["cache-control"] == "no-cache"
    # AND the hashed assets it references are cached for a year
    asset = index.text.split('src="', 1)[1].split('"', 1)[0]
    served = httpx.get(f"{web_stack.api}{asset}")
    assert served.status_code == 200 and "javascript" in served.headers["content-type"]
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    # AND /api stays the API's: its own 404, and the public sign-in configuration
    assert httpx.get(f"{web_stack.api}/api/no-such-route").json()["message"]
    config = httpx.get(f"{web_stack.api}/api/auth/config").json()
    assert config["user_pool_id"] == web_stack.state["local_user"]["user_pool_id"]
    assert config["cognito_endpoint"] == "/_local/cognito-idp/"
