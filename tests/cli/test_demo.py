"""`rsclip demo` runs offline: tiny random checkpoint, generated scenes, a loud notice, then the page."""

from __future__ import annotations

import httpx

from rsclip.cli import main
from rsclip.demo import DEMO_QUERIES
from tests.cli.conftest import free_port, rsclip_server


def test_demo_without_the_real_model_uses_a_tiny_checkpoint_and_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main(["demo", "--data-dir", str(tmp_path / "demo"), "--no-serve"])
    captured = capsys.readouterr()
    assert code == 0
    assert "MEANINGLESS" in captured.err
    assert "Indexed 24 new image(s)" in captured.out
    assert (tmp_path / "demo" / "tiny-random-siglip" / "config.json").is_file()
    for query in DEMO_QUERIES:
        assert f"search: {query!r}" in captured.out
    assert "rsclip serve --data-dir" in captured.out  # says how to get the page later


def test_demo_uses_a_given_model_without_the_notice(tmp_path, capsys, tiny_checkpoint):
    code = main(["demo", "--data-dir", str(tmp_path / "demo"), "--model", str(tiny_checkpoint), "--no-serve"])
    captured = capsys.readouterr()
    assert code == 0
    assert "MEANINGLESS" not in captured.err
    assert not (tmp_path / "demo" / "tiny-random-siglip").exists()


def test_demo_serves_the_web_page_after_indexing_and_prints_its_url(tmp_path):
    data_dir = tmp_path / "demo"
    port = free_port()
    with rsclip_server(["demo", "--data-dir", str(data_dir), "--port", str(port)], port, cwd=tmp_path) as (
        url,
        process,
    ):
        assert httpx.get(f"{url}/health").json()["items"] == 24
        assert "<title>rsclip-search</title>" in httpx.get(f"{url}/").text
        hit = httpx.post(f"{url}/search/text", json={"query": "farmland", "k": 1}).json()["results"][0]
        assert httpx.get(f"{url}{hit['thumbnail_url']}").headers["content-type"] == "image/jpeg"
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert "search: 'a river winding through farmland'" in output
    assert f"http://127.0.0.1:{port}/" in output
    assert list((data_dir / "thumbnails").rglob("*.jpg")), "thumbnails are cached inside the data directory"
