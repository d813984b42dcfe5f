"""The web page in a real headless Chromium (Debian's), driven by Playwright, against a live server.

The index here holds plain pictures (no footprints); the maps are in test_page_map.py.
"""

from __future__ import annotations

import pytest

from tests.conftest import noise_image
from tests.search_api.browser import (
    needs_chromium,
    offline_page,
    result_ids,
    screenshot,
    search_text,
    serious_accessibility_violations,
    wait_for_status,
    wait_for_thumbnails,
)

pytestmark = [needs_chromium, pytest.mark.sqlite_only]  # the page, not the catalog: one engine is enough


@pytest.fixture
def page(browser, live_server):
    with offline_page(browser, live_server) as page:
        yield page


def test_page_shows_what_the_index_holds(page, indexed):
    wait_for_status(page, "#stats", "images")
    assert page.locator("#stats").inner_text().startswith(f"{len(indexed.ids)} images")
    assert page.locator("#random-weights").is_visible()  # the tests' checkpoint has random weights


def test_typing_a_query_shows_results_with_thumbnails_and_scores(page, indexed):
    search_text(page, "a river winding through farmland")
    wait_for_thumbnails(page)
    assert len(result_ids(page)) == len(indexed.ids)
    assert "results for" in page.locator("#status").inner_text()
    scores = [float(text) for text in page.locator(".result .score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    assert not page.locator("#results-map-box").is_visible()  # plain pictures have no footprints
    screenshot(page, "search-results", full_page=True)


def test_uploading_a_photo_shows_that_photo_first(page, indexed):
    page.set_input_files("#photo", str(indexed.inputs / "scenes" / "scene_2.png"))
    page.wait_for_selector(".result")
    wait_for_thumbnails(page)
    assert result_ids(page)[0] == indexed.ids["scenes/scene_2.png"]
    assert "images like scene_2.png" in page.locator("#status").inner_text()


def test_a_chosen_tiff_shows_the_servers_rendering_and_a_refused_file_clears_it(page, indexed, tmp_path):
    tiff = tmp_path / "query.tif"
    noise_image(11, (80, 60)).save(tiff)  # browsers cannot draw TIFF
    page.set_input_files("#photo", str(tiff))
    page.wait_for_function("() => { const p = document.querySelector('#photo-preview');"
                           " return !p.hidden && p.complete && p.naturalWidth === 80; }")
    assert page.locator("#photo-preview").get_attribute("src").startswith("blob:")
    wait_for_status(page, "#status", "results for")
    screenshot(page, "upload-tiff-preview")
    broken = tmp_path / "broken.png"
    broken.write_text("not a picture")
    page.set_input_files("#photo", str(broken))
    wait_for_status(page, "#status", "cannot be read")
    assert page.locator("#photo-preview").is_hidden()


def test_more_like_this_searches_from_the_clicked_result(page, indexed):
    search_text(page, "forest")
    clicked = result_ids(page)[0]
    page.locator(".result").first.click()
    page.wait_for_selector("#detail[open]")
    assert page.locator("#detail-title").inner_text().startswith(f"#{clicked} ")
    page.wait_for_function("document.querySelector('#detail-image').naturalWidth > 0")
    page.click("#more-like-this")
    wait_for_status(page, "#status", f"more like #{clicked}")
    wait_for_status(page, "#status", "results")
    ids = result_ids(page)
    assert ids and clicked not in ids
    assert len(ids) == len(indexed.ids) - 1


def test_classify_shows_a_probability_per_label_and_the_image_scored(page, indexed, tmp_path):
    page.click("#tab-classify")
    page.set_input_files("#classify-form [name=file]", str(indexed.inputs / "scenes" / "scene_1.png"))
    image_id = indexed.ids["scenes/scene_0.png"]
    page.fill("#classify-form [name=image_id]", str(image_id))  # typed after the file: the id counts
    page.fill("#classify-form [name=labels]", "forest\nriver\nharbor")
    page.click("#classify-form button[type=submit]")
    wait_for_status(page, "#panel-classify .status", f"Image #{image_id}")
    assert sorted(page.locator("#classify-results .bar-label").all_inner_texts()) == ["forest", "harbor", "river"]
    page.wait_for_function("document.querySelector('#panel-classify img.scored').naturalWidth > 0")
    assert page.locator("#panel-classify img.scored").get_attribute("src") == f"/images/{image_id}/thumbnail"


def test_an_error_from_the_api_is_shown_in_the_pages_words(page):
    page.click("#tab-similarity")
    page.fill("#similarity-form [name=image_id]", "987654")
    page.click("#similarity-form button[type=submit]")
    wait_for_status(page, "#panel-similarity .status", "There is no indexed image #987654.")
    page.click("#tab-search")
    page.fill("#query", "x" * 2001)
    page.press("#query", "Enter")
    wait_for_status(page, "#status", "The query is too long (at most 2000 characters).")


def test_chinese_page_from_the_browser_language_and_a_remembered_switch(browser, live_server, indexed):
    with offline_page(browser, live_server, locale="zh-CN") as page:
        wait_for_status(page, "#stats", "张影像")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.locator("#tab-search").inner_text() == "检索"
        assert page.locator("#english-note").is_visible()  # the model reads English captions
        with page.expect_request("**/search/text") as request:
            search_text(page, "河流 农田")
        assert request.value.post_data_json["query"] == "河流 农田"  # passed as typed
        assert "个结果" in page.locator("#status").inner_text()
        page.click("#tab-similarity")
        page.fill("#similarity-form [name=image_id]", "987654")
        page.click("#similarity-form button[type=submit]")
        wait_for_status(page, "#panel-similarity .status", "没有编号为 #987654 的已索引影像。")
        screenshot(page, "chinese-similarity-error")
        page.click("#language")  # to English, remembered across a reload
        assert page.locator("#panel-similarity .status").inner_text() == "There is no indexed image #987654."
        page.reload()
        wait_for_status(page, "#stats", "images")
        assert page.locator("#tab-search").inner_text() == "Search"


PHONE = {"width": 390, "height": 844}


def _assert_no_sideways_scroll(page, where: str) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]")
    assert max(widths[:2]) <= widths[2] == PHONE["width"], f"{where}: scrolls sideways {widths}"


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_phone_width_nothing_scrolls_sideways_and_bars_show(browser, live_server, indexed, locale):
    with offline_page(browser, live_server, locale=locale, **PHONE) as page:
        wait_for_status(page, "#stats", "·")
        search_text(page, "farmland")
        _assert_no_sideways_scroll(page, "search")
        header = page.locator("header").bounding_box()
        tabs = [page.locator(f"#tab-{name}").bounding_box() for name in ("search", "classify", "similarity", "map")]
        assert header["width"] == PHONE["width"] and all(tab["x"] + tab["width"] <= PHONE["width"] for tab in tabs)
        screenshot(page, f"phone-search-{locale}", full_page=True)
        for name, form in (("classify", "classify-form"), ("similarity", "similarity-form")):
            page.click(f"#tab-{name}")
            page.fill(f"#{form} [name=image_id]", str(indexed.ids["scenes/scene_3.png"]))
            page.click(f"#{form} button[type=submit]")
            page.wait_for_selector(f"#panel-{name} .bars li")
            _assert_no_sideways_scroll(page, name)
            for bar in page.locator(f"#panel-{name} .bar").all():
                box = bar.bounding_box()
                assert box["width"] > 150 and box["x"] + box["width"] <= PHONE["width"]
            screenshot(page, f"phone-{name}-{locale}", full_page=True)


def test_keyboard_only_tabs_follow_the_aria_pattern_and_the_file_input_shows_focus(page, indexed):
    wait_for_status(page, "#stats", "images")
    page.focus("#tab-search")
    for key, expected in (("ArrowRight", "classify"), ("ArrowRight", "similarity"), ("End", "map"),
                          ("ArrowRight", "search"), ("ArrowLeft", "map"), ("Home", "search")):
        page.keyboard.press(key)
        assert page.evaluate("document.activeElement.id") == f"tab-{expected}"
        assert page.locator(f"#panel-{expected}").is_visible()
        assert page.locator("[role=tab][tabindex='0']").count() == 1  # one tab stop for the tab list
    page.keyboard.press("Tab")  # into the panel, then on through the search form
    stops = []
    for _ in range(8):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
        if stops[-1] == "photo":
            break
    assert stops[:2] == ["query", "BUTTON"] and stops[-1] == "photo", stops
    ring = page.evaluate("getComputedStyle(document.querySelector('#drop-zone')).outlineStyle")
    assert ring == "solid"  # the visually hidden file input shows its focus on the drop zone
    screenshot(page, "keyboard-file-input-focus")
    page.focus("#query")
    page.keyboard.type("farmland")
    page.keyboard.press("Enter")
    wait_for_status(page, "#status", "results for")
    page.focus(".result")
    page.keyboard.press("Enter")
    page.wait_for_selector("#detail[open]")
    page.keyboard.press("Escape")
    page.wait_for_selector("#detail:not([open])", state="attached")


def test_axe_finds_no_serious_accessibility_violations(browser, live_server, indexed):
    for locale in ("en-US", "zh-CN"):
        with offline_page(browser, live_server, locale=locale) as page:
            search_text(page, "farmland")
            wait_for_thumbnails(page)
            page.click("#filters summary")
            assert serious_accessibility_violations(page) == [], f"search, {locale}"
            page.click("#tab-classify")
            page.fill("#classify-form [name=image_id]", str(indexed.ids["scenes/scene_0.png"]))
            page.click("#classify-form button[type=submit]")
            page.wait_for_selector("#classify-results li")
            assert serious_accessibility_violations(page) == [], f"classify, {locale}"
            page.click("#tab-map")
            page.wait_for_selector("#emap path.leaflet-interactive")
            assert serious_accessibility_violations(page) == [], f"embedding map, {locale}"


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".opblock-summary"), ("/redoc", "[role=menuitem]")])
def test_api_reference_pages_work_offline(browser, live_server, path, ready):
    with offline_page(browser, live_server, path=path) as page:  # fails on any request that leaves
        page.wait_for_selector(ready)
        assert "/search/text" in page.content()
        screenshot(page, f"api-reference-{path.strip('/')}")


def test_header_count_follows_items_the_server_picks_up(browser, encoder, tmp_path):
    from search_api import ApiSettings, create_app
    from tests.conftest import noise_image
    from tests.rasters import index_into
    from tests.search_api.conftest import serving

    first, later = tmp_path / "first", tmp_path / "later"
    for folder, seeds in ((first, (1, 2)), (later, (3,))):
        folder.mkdir()
        for seed in seeds:
            noise_image(seed).save(folder / f"photo_{seed}.png")
    index_into(tmp_path / "data", encoder, [first])
    app = create_app(ApiSettings(data_dir=tmp_path / "data", reload_seconds=0.2), encoder=encoder)
    with serving(app) as server, offline_page(browser, server) as page:
        wait_for_status(page, "#stats", "2 images")
        index_into(tmp_path / "data", encoder, [later])  # another process's indexer, as far as the server knows
        search_text(page, "photo")  # the server follows by itself; the page asks again after each search
        wait_for_status(page, "#stats", "3 images")
        assert "3 results" in page.locator("#status").inner_text()
