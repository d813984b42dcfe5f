"""The web page's place/time filters and footprint map, in Debian's headless Chromium."""

from __future__ import annotations

import pytest

from tests.search_api.browser import needs_chromium, offline_page, result_ids, screenshot, search_text
from tests.search_api.conftest import serving

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def geo_server(geo_app):
    with serving(geo_app) as server:
        yield server


@pytest.fixture
def geo_page(browser, geo_server):
    with offline_page(browser, geo_server, height=800) as page:  # no request may leave: no tile server
        yield page


def test_bbox_filter_and_the_footprint_map(geo_page, geo_indexed):
    page = geo_page
    page.click("#filters summary")
    page.fill("#filter-bbox", "14.9, 44.8, 15.2, 45.1")
    page.fill("#query", "fields")
    page.press("#query", "Enter")
    page.wait_for_function("document.querySelector('#status').textContent.includes('results for')")
    west = {r.id for r in geo_indexed.records if r.member == "west_20140720.tif"}
    assert set(result_ids(page)) == west
    page.locator(".result").first.click()
    page.wait_for_selector("#detail[open]")
    page.wait_for_selector("#detail-map path.footprint-shown")
    assert page.locator("#detail-map").is_visible()
    assert page.locator("#detail-map path.footprint-other").count() == len(west) - 1
    assert "2014-07-20" in page.locator("#detail-meta").inner_text()


def test_a_plain_picture_has_no_map(geo_page, geo_indexed):
    page = geo_page
    page.click("#filters summary")
    page.fill("#filter-source", geo_indexed.records[0].source + "/photo_")
    page.fill("#query", "fields")
    page.press("#query", "Enter")
    page.wait_for_function("document.querySelector('#status').textContent.includes('2 results')")
    page.locator(".result").first.click()
    page.wait_for_selector("#detail[open]")
    assert not page.locator("#detail-map").is_visible()
