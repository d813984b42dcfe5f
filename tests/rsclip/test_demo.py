"""rsclip demo: index the sample scenes, run the example searches, then serve the page."""

from __future__ import annotations

import httpx
import pytest

from rsclip.demo import DEMO_QUERIES
from rsclip.samples import SCENE_KINDS
from tests.rsclip.conftest import free_port, rsclip_server


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("demo") / "rsdata"


def test_demo_no_serve_indexes_the_samples_and_runs_the_example_searches(demo_dir, run_cli):
    status, out, err = run_cli("demo", "--data-dir", demo_dir, "--no-serve")
    assert status == 0
    assert "MEANINGLESS" in err  # no model hub here: the tiny random checkpoint, said loudly
    assert f"Indexed {len(SCENE_KINDS) * 4} new image(s)" in out
    for query in DEMO_QUERIES:
        assert f"search: {query!r}" in out
    assert "rsclip serve --data-dir" in out
    assert not (demo_dir / "thumbnails").exists()  # nothing served, nothing cached


def test_demo_serves_the_web_page_and_prints_its_url(demo_dir):
    port = free_port()
    with rsclip_server(["demo", "--data-dir", str(demo_dir), "--port", str(port)], port, cwd=demo_dir.parent) as (url, process):
        assert httpx.get(f"{url}/health").json()["items"] == len(SCENE_KINDS) * 4
        assert "<title>rsclip-search</title>" in httpx.get(f"{url}/").text
        hit = httpx.post(f"{url}/search/text", json={"query": "farmland", "k": 1}).json()["results"][0]
        assert httpx.get(f"{url}{hit['thumbnail_url']}").headers["content-type"] == "image/jpeg"
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert f"http://127.0.0.1:{port}/" in output
    assert list((demo_dir / "thumbnails").rglob("*.jpg")), "thumbnails are cached inside the data directory"
