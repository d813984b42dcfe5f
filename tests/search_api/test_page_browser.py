"""The web page in a real headless Chromium (Debian's), driven by Playwright, against a live server.

Chromium is never downloaded: the test uses /usr/bin/chromium (scripts/install.sh --dev
installs it with apt-get when missing) and is skipped, saying why, only where it is absent.
"""

from __future__ import annotations

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

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}: install Debian's (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def offline_page(browser, server, height: int = 760):
    """A fresh page on ``server``'s web page that fails the test if it fetches from elsewhere."""
    context = browser.new_context(viewport={"width": 1100, "height": height})
    page = context.new_page()
    page.set_default_timeout(20_000)
    outside = []
    # The page must work offline: every request it makes goes to its own server
    # (or stays in the browser: the preview of a chosen photo is a blob: URL).
    local = (server.url + "/", "blob:", "data:")
    page.on("request", lambda request: None if request.url.startswith(local) else outside.append(request.url))
    page.goto(server.url + "/")
    yield page
    context.close()
    assert outside == [], f"the page fetched from elsewhere: {outside}"


@pytest.fixture
def page(browser, live_server):
    with offline_page(browser, live_server) as page:
        yield page


def _result_ids(page) -> list[int]:
    return [int(value) for value in page.locator(".result").evaluate_all("cards => cards.map(c => c.dataset.id)")]


def _wait_for_thumbnails(page) -> None:
    page.wait_for_function(
        "() => { const imgs = [...document.querySelectorAll('.result img')];"
        " return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); }"
    )


def test_page_shows_what_the_index_holds(page, indexed):
    page.wait_for_function("document.querySelector('#stats').textContent.includes('images')")
    assert page.locator("#stats").inner_text().startswith(f"{len(indexed.ids)} images")
    assert page.locator("#random-weights").is_visible()  # the tests' checkpoint has random weights


def test_typing_a_query_shows_results_with_thumbnails_and_scores(page, indexed):
    page.fill("#query", "a river winding through farmland")
    page.press("#query", "Enter")
    page.wait_for_selector(".result")
    _wait_for_thumbnails(page)
    assert len(_result_ids(page)) == len(indexed.ids)
    assert "results for" in page.locator("#status").inner_text()
    scores = [float(text) for text in page.locator(".result .score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)


def test_uploading_a_photo_shows_that_photo_first(page, indexed):
    page.set_input_files("#photo", str(indexed.inputs / "scenes" / "scene_2.png"))
    page.wait_for_selector(".result")
    _wait_for_thumbnails(page)
    assert _result_ids(page)[0] == indexed.ids["scenes/scene_2.png"]
    assert "images like scene_2.png" in page.locator("#status").inner_text()


def test_more_like_this_searches_from_the_clicked_result(page, indexed):
    page.fill("#query", "forest")
    page.press("#query", "Enter")
    page.wait_for_selector(".result")
    clicked = _result_ids(page)[0]
    page.locator(".result").first.click()
    page.wait_for_selector("#detail[open]")
    assert page.locator("#detail-title").inner_text().startswith(f"#{clicked} ")
    page.wait_for_function("document.querySelector('#detail-image').naturalWidth > 0")
    page.click("#more-like-this")
    page.wait_for_function(f"document.querySelector('#status').textContent.includes('more like #{clicked}')")
    page.wait_for_function("document.querySelector('#status').textContent.includes('results')")
    ids = _result_ids(page)
    assert ids and clicked not in ids
    assert len(ids) == len(indexed.ids) - 1


def test_classify_panel_shows_a_probability_per_label(page, indexed):
    page.click("#tab-classify")
    page.fill("#classify-form [name=image_id]", str(indexed.ids["scenes/scene_0.png"]))
    page.fill("#classify-form [name=labels]", "forest\nriver\nharbor")
    page.click("#classify-form button[type=submit]")
    page.wait_for_selector("#classify-results li")
    assert sorted(page.locator("#classify-results .bar-label").all_inner_texts()) == ["forest", "harbor", "river"]


def test_an_error_from_the_api_is_shown_to_the_user(page):
    page.click("#tab-similarity")
    page.fill("#similarity-form [name=image_id]", "987654")
    page.click("#similarity-form button[type=submit]")
    status = page.locator("#panel-similarity .status")
    page.wait_for_function("document.querySelector('#panel-similarity .status').textContent.includes('404')")
    assert "no indexed image has id 987654" in status.inner_text()
