"""A running ``rsclip serve`` takes up new items and a new generation (another model, another
dimension) that another process puts in service, with no restart and no failed request."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx

from encoder.tiny_checkpoint import build_tiny_siglip
from rsclip.cli import main
from tests.cli.conftest import free_port, rsclip_server
from tests.conftest import noise_image
from tests.search_api.conftest import build_index


class Clients:
    """Threads that query the server without pause and count every outcome."""

    def __init__(self, url: str, threads: int = 4):
        self.url = url
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self.during_writes = 0
        self.writing = False
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as http:
            while not self._stop.is_set():
                for kind, request in (("text", lambda: http.post("/search/text", json={"query": "harbor", "k": 3})),
                                      ("stats", lambda: http.get("/stats")),
                                      ("similar", lambda: http.get("/search/similar/1", params={"k": 2}))):
                    try:
                        response = request()
                        ok = response.status_code == 200 and (kind == "stats" or len(response.json()["results"]) > 0)
                        problem = None if ok else f"{kind}: {response.status_code} {response.text[:200]}"
                    except httpx.HTTPError as exc:
                        problem = f"{kind}: {exc!r}"
                    with self._lock:
                        self.outcomes["failed" if problem else "ok"] += 1
                        self.during_writes += self.writing
                        if problem:
                            self.failures.append(problem)

    def __enter__(self) -> "Clients":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)


def wait_for(url: str, condition, timeout: float = 90) -> dict:
    """Poll /stats until ``condition`` holds (bounded wait; the assert is on the state, not the time)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = httpx.get(f"{url}/stats", timeout=60).json()
        if condition(stats) or time.monotonic() > deadline:
            return stats
        time.sleep(0.1)


def test_serve_picks_up_new_items_and_a_new_generation_under_load_without_a_failed_request(
    tmp_path, capsys, encoder, tiny_checkpoint
):
    data = build_index(tmp_path, encoder)  # 9 images, 64-d
    more = tmp_path / "more"
    more.mkdir()
    for seed in range(100, 106):
        noise_image(seed).save(more / f"new_{seed}.png")
    other_model = build_tiny_siglip(tmp_path / "tiny-32", hidden_size=32, seed=3)
    port = free_port()
    args = ["serve", "--data-dir", str(data.data_dir), "--port", str(port)]
    with rsclip_server(args, port, cwd=tmp_path) as (url, _process), Clients(url) as clients:
        clients.writing = True  # this test process is the other writer
        assert main(["index", str(more), "--data-dir", str(data.data_dir), "--quiet"]) == 0
        clients.writing = False
        assert wait_for(url, lambda s: s["vectors"] == 15)["items"] == 15
        clients.writing = True
        assert main(["reindex", "--data-dir", str(data.data_dir), "--model", str(other_model), "--quiet"]) == 0
        clients.writing = False
        stats = wait_for(url, lambda s: s["dimension"] == 32)
        assert (stats["dimension"], stats["vectors"], stats["model"]) == (32, 15, str(other_model.resolve()))
        response = httpx.post(f"{url}/search/text", json={"query": "a harbor", "k": 15}, timeout=60)
        assert len(response.json()["results"]) == 15
    capsys.readouterr()
    assert clients.failures == []
    assert clients.outcomes["ok"] > 30 and clients.during_writes > 0
