"""Shared by the browser tests: Debian's Chromium through Playwright, and axe-core's verdict."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("FAMHP_CHROMIUM", "/usr/bin/chromium")
#: Playwright cannot download its own browser here; these flags keep Chromium off the closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
BROWSER = [
    pytest.mark.browser,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason=f"no Chromium at {CHROMIUM} (make test installs it)"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread while it lives; the ORM calls made here meanwhile
    # (test data, database flushes between tests) are still synchronous. Only for this module's lifetime.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, readable."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def staff_page_in(browser: Any, live_server: Any, client: Any) -> tuple[Any, Any, list[str]]:
    """A wide English browser context carrying ``client``'s session (a staff member past the second factor), its
    page, and the console's Content-Security-Policy refusals as they come."""
    from django.conf import settings

    context = browser.new_context(locale="en-GB", viewport={"width": 1400, "height": 1000})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    page = context.new_page()
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    return context, page, refused
