"""Several API replicas on one PostgreSQL catalog and one data directory, as real processes on
127.0.0.1: they answer alike, and both serve what an index run in a third process adds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import ExitStack

import httpx

from tests.cli.conftest import free_port, rsclip_server
from tests.conftest import REPO_ROOT, noise_image
from tests.search_api.conftest import build_index

FOLLOW_SECONDS = 60  # a bound for the wait, not a speed target: replicas look once a second


def _answers(urls: list[str], path: str, body: dict) -> list[list[dict]]:
    return [httpx.post(f"{url}{path}", json=body, timeout=30).json()["results"] for url in urls]


def _wait_for_items(urls: list[str], items: int) -> list[int]:
    """What each replica reports once all report ``items``, or when the bound is reached."""
    deadline = time.monotonic() + FOLLOW_SECONDS
    while True:
        seen = [httpx.get(f"{url}/health", timeout=30).json()["items"] for url in urls]
        if all(count == items for count in seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.5)


def test_two_replicas_answer_alike_and_serve_what_a_third_process_indexes(tmp_path, encoder, tiny_checkpoint, postgres_url):
    data = build_index(tmp_path, encoder, postgres_url)
    catalog = ["--data-dir", str(data.data_dir), "--database-url", postgres_url]
    with ExitStack() as replicas:
        urls = []
        for _ in range(2):
            port = free_port()
            args = ["serve", *catalog, "--model", str(tiny_checkpoint), "--host", "127.0.0.1", "--port", str(port)]
            urls.append(replicas.enter_context(rsclip_server(args, port, cwd=tmp_path))[0])
        first, second = _answers(urls, "/search/text", {"query": "a river through farmland", "k": 5})
        assert first == second and len(first) == 5

        more = tmp_path / "more"
        more.mkdir()
        for seed in range(100, 104):
            noise_image(seed).save(more / f"new_{seed}.png")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT)}
        indexing = subprocess.run(
            [sys.executable, "-m", "rsclip", "index", str(more), *catalog, "--quiet"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )
        assert indexing.returncode == 0, indexing.stderr

        assert _wait_for_items(urls, 13) == [13, 13]
        first, second = _answers(urls, "/search/text", {"query": "a river through farmland", "k": 13})
        assert first == second
        assert sum(hit["member"].startswith("new_") for hit in first) == 4
