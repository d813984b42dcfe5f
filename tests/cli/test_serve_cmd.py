"""rsclip serve: a real process binds where it is told and serves the API and the page."""

from __future__ import annotations

import httpx

from tests.cli.conftest import free_port, rsclip_server
from tests.search_api.conftest import build_index


def test_serve_binds_the_given_host_and_port_and_serves_api_and_page(tmp_path, encoder, tiny_checkpoint):
    data = build_index(tmp_path, encoder)
    port = free_port()
    args = ["serve", "--data-dir", data.data_dir, "--model", tiny_checkpoint, "--host", "127.0.0.1", "--port", port]
    with rsclip_server([str(a) for a in args], port, cwd=tmp_path) as (url, _process):
        assert httpx.get(f"{url}/health").json()["items"] == 9
        assert "<title>rsclip-search</title>" in httpx.get(f"{url}/").text
        response = httpx.post(f"{url}/search/text", json={"query": "forest", "k": 2})
        assert len(response.json()["results"]) == 2


def test_serve_without_an_index_says_so_in_one_line(cli_run, tmp_path):
    status, _out, err = cli_run("serve", "--data-dir", tmp_path / "nothing-here")
    assert status == 1
    assert err.startswith("rsclip: error: No index at") and err.count("\n") == 1


def test_serve_defaults_to_localhost_port_7860():
    from rsclip.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 7860)
