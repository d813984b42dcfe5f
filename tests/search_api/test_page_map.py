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
    search_text(page, "fields")
    assert "4 results for" in page.locator("#status").inner_text()
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


def _map_ready(page, count: int) -> None:
    page.wait_for_function(
        "n => { const imgs = [...document.querySelectorAll('#results-map img.chip-overlay')];"
        " return imgs.length === n && imgs.every(i => i.complete && i.naturalWidth > 0); }",
        arg=count,
    )


def test_results_map_draws_each_chip_on_its_footprint_linked_with_the_grid(geo_page, geo_indexed):
    page = geo_page
    search_text(page, "fields")
    chips = [r for r in geo_indexed.records if r.geo is not None]
    _map_ready(page, len(chips))
    assert page.locator("#results-map path.footprint-result").count() == len(chips)
    assert "8 of 10 results on the map" in page.locator("#results-map-note").inner_text()
    first_chip = next(i for i in result_ids(page) if i in {r.id for r in chips})
    page.hover(f'.result[data-id="{first_chip}"]')  # grid -> map
    assert page.locator("#results-map path.footprint-result.linked").count() == 1
    page.mouse.move(0, 0)
    assert page.locator("#results-map path.linked").count() == 0
    box = page.locator("#results-map path.footprint-result").nth(3).bounding_box()
    centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*centre)  # map -> grid
    assert page.locator(".result.linked").count() == 1
    linked = page.locator(".result.linked").get_attribute("data-id")
    page.mouse.click(*centre)
    assert page.evaluate("document.activeElement.dataset.id") == linked
    screenshot(page, "results-map", full_page=True)


def test_drawing_a_box_on_the_map_sets_the_place_filter(geo_page, geo_indexed):
    page = geo_page
    search_text(page, "fields")
    _map_ready(page, 8)
    page.click("#draw-box")
    west = [r for r in geo_indexed.records if r.member == "west_20140720.tif"]
    # Drag around the west scene's chips: from above-left of its first chip to below-right of its last.
    corners = page.evaluate(
        """([north, west, south, east]) => {
             const map = resultsMap.map, box = map.getContainer().getBoundingClientRect();
             const a = map.latLngToContainerPoint([north, west]), b = map.latLngToContainerPoint([south, east]);
             return [box.left + a.x - 6, box.top + a.y - 6, box.left + b.x + 6, box.top + b.y + 6];
           }""",
        [45.0, 15.0, 45.0 - 0.128, 15.0 + 0.128],
    )
    page.mouse.move(corners[0], corners[1])
    page.mouse.down()
    page.mouse.move((corners[0] + corners[2]) / 2, (corners[1] + corners[3]) / 2, steps=3)
    page.mouse.move(corners[2], corners[3], steps=3)
    page.mouse.up()
    page.wait_for_function("document.querySelector('#filter-bbox').value !== ''")
    page.wait_for_function("document.querySelector('#status').textContent.includes('4 results')")
    assert set(result_ids(page)) == {r.id for r in west}
    west_edge, south, east_edge, north = map(float, page.input_value("#filter-bbox").split(","))
    assert west_edge < 15.0 < 15.128 < east_edge < 15.5 and south < 44.872 < 45.0 < north
    assert page.locator("#filters").get_attribute("open") is not None
    assert page.locator("#results-map path.filter-box").count() == 1
    screenshot(page, "results-map-box-drawn", full_page=True)


def test_embedding_map_shows_points_pictures_and_colours_by_label_or_source(geo_page, geo_indexed):
    page = geo_page
    page.click("#tab-map")
    page.wait_for_selector("#emap img.emap-thumb")
    points = page.locator("#emap path.leaflet-interactive")
    assert points.count() == len(geo_indexed.records)
    page.wait_for_function("[...document.querySelectorAll('#emap img.emap-thumb')].every(i => i.naturalWidth > 0)")
    assert "made by the server" in page.locator("#emap-status").inner_text()
    assert page.locator("#emap-legend li").all_inner_texts() == ["inputs (10)"]  # one folder: one label
    screenshot(page, "embedding-map")
    page.select_option("#emap-colour", "source")
    assert page.locator("#emap-legend li").count() == 1
    points.first.click(force=True)
    page.wait_for_selector("#detail[open]")
    assert page.locator("#detail-title").inner_text().startswith("#")


def test_detail_view_shows_a_large_chip_without_a_tall_black_box(geo_page, geo_indexed):
    page = geo_page
    search_text(page, "fields")
    chip = next(r for r in geo_indexed.records if r.geo is not None)
    page.click(f'.result[data-id="{chip.id}"]')
    page.wait_for_function("document.querySelector('#detail-image').naturalWidth > 0")
    page.wait_for_selector("#detail-map img")  # the chip itself drawn on its footprint
    box = page.locator("#detail-image").bounding_box()
    assert box["width"] >= 400 and abs(box["height"] - box["width"]) < 2  # a 64 px chip shown large, square
    screenshot(page, "detail-view")
