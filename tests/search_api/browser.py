"""Driving the web page in Debian's headless Chromium with Playwright: shared by the page tests.

Chromium is never downloaded: the tests use /usr/bin/chromium (scripts/install.sh --dev
installs it with apt-get when missing) and are skipped, saying why, only where it is absent.
One browser serves the whole session (conftest's ``browser`` fixture); each test gets a
fresh context. Screenshots go to ``test-artifacts/page/`` (git-ignored; RSCLIP_TEST_ARTIFACTS
moves it) for a person to look at.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("RSCLIP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("RSCLIP_TEST_ARTIFACTS", REPO / "test-artifacts")) / "page"
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: install Debian's (apt-get install chromium)"
)


def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


@contextmanager
def offline_page(browser, server, *, width: int = 1100, height: int = 760, locale: str = "en-US", path: str = "/"):
    """A fresh page on ``server`` that fails the test if it fetches from anywhere else."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(20_000)
    outside = []
    # Every request goes to the page's own server (or stays in the browser: blob: and data: URLs).
    local = (server.url + "/", "blob:", "data:")
    page.on("request", lambda request: None if request.url.startswith(local) else outside.append(request.url))
    page.goto(server.url + path)
    yield page
    context.close()
    assert outside == [], f"the page fetched from elsewhere: {outside}"


def screenshot(page, name: str, **options) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), **options)
    return path


def serious_accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    report = page.evaluate("async () => JSON.stringify(await axe.run(document, {resultTypes: ['violations']}))")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[node['target'] for node in v['nodes']][:3]}"
        for v in json.loads(report)["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def result_ids(page) -> list[int]:
    return [int(value) for value in page.locator(".result").evaluate_all("cards => cards.map(c => c.dataset.id)")]


def wait_for_thumbnails(page) -> None:
    page.wait_for_function(
        "() => { const imgs = [...document.querySelectorAll('.result img')];"
        " return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); }"
    )


def wait_for_status(page, selector: str, text: str) -> None:
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector).textContent.includes(text)", arg=[selector, text]
    )


def search_text(page, query: str) -> None:
    page.fill("#query", query)
    page.press("#query", "Enter")
    page.wait_for_function("() => !document.querySelector('#status').textContent.endsWith('…')")
