"""Load test: many clients query a real ``rsclip serve`` while an indexer adds items in another process.

    .venv/bin/python bench/load.py                      # 30 s, 16 clients, tiny random model
    .venv/bin/python bench/load.py --duration 60 --clients 32 --model /path/to/Git-RSCLIP

Everything runs on this machine and talks over 127.0.0.1 only; the server, the indexer
and the data live in a temporary folder that is removed afterwards. The run is bounded
by --duration and --max-requests and stops by itself. It then checks that nothing was
lost or duplicated: the catalog holds every distinct image once, the server (after
``POST /admin/reload``) serves exactly those vectors, and every image the indexer added
is found first when searched by its own picture.

``--upload-memory`` measures something else instead: the peak resident memory of an
idle server while 8 clients upload 40 MP photos at once (float32 TIFFs and JPEGs, see
bench/upload_memory.py), above the idle figure.

Figures printed: requests/s, p50/p99 latency per query kind, status counts, and the
server's resident memory at start, after warm-up and at the end. Exit status 0 means:
zero 5xx, nothing lost, nothing duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

LOOPBACK = "127.0.0.1"
MAX_DURATION, MAX_CLIENTS = 600, 256
QUERIES = [
    "a river winding through farmland", "dense forest", "a harbor with boats", "desert dunes",
    "an airport runway", "residential buildings", "雪に覆われた山", "🛰️ coastline 🌊", "green fields  ",
    "a road crossing a bridge over water",
]


# -- setting up ------------------------------------------------------------------------------
def _png(seed: int, size: int = 96) -> bytes:
    from rsclip.samples import SCENE_KINDS, make_scene

    buffer = io.BytesIO()
    make_scene(SCENE_KINDS[seed % len(SCENE_KINDS)], seed=seed, size=size).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_corpus(folder: Path, seeds: range, duplicates_every: int = 0) -> int:
    """PNG scenes named by seed; every ``duplicates_every``-th is written twice. Returns distinct count."""
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        data = _png(seed)
        (folder / f"scene-{seed}.png").write_bytes(data)
        if duplicates_every and seed % duplicates_every == 0:
            (folder / f"copy-of-{seed}.png").write_bytes(data)
    return len(seeds)


def _rsclip(*args, env=None, **popen) -> subprocess.Popen:
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "rsclip", *map(str, args)], env=environment, **popen)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux /proc); 0 where unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _wait_for_health(url: str, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise SystemExit("the server did not answer /health in time")


# -- the indexer process -----------------------------------------------------------------------
def indexer_main(data_dir: str, model: str, chunks: list[str], pause: float) -> None:
    """Add each chunk folder with its own run, pausing between, holding the write lock throughout."""
    from encoder import load_encoder
    from indexer import IndexRun
    from service.searcher import model_identity
    from storage import Store

    encoder = load_encoder(model)
    with Store(data_dir, writable=True) as store:
        store.bind_model(model_identity(encoder))
        for chunk in chunks:
            report = IndexRun(store, encoder, progress=False, batch_size=8).run([chunk])
            print(json.dumps({"chunk": chunk, "added": report.added, "duplicates": report.duplicates,
                              "failed": report.failed}), flush=True)
            time.sleep(pause)


# -- the clients ---------------------------------------------------------------------------------
class Tally:
    def __init__(self):
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter = Counter()
        self.errors: Counter = Counter()  # transport errors by type
        self.duplicate_ids_in_results = 0
        self.busy_with_retry_after = 0
        self.requests = 0


async def _one_request(client: httpx.AsyncClient, rng: random.Random, pictures: list[bytes], ids: list[int]):
    roll = rng.random()
    if roll < 0.5:
        kind = "text"
        call = client.post("/search/text", json={"query": rng.choice(QUERIES), "k": 10})
    elif roll < 0.8:
        kind = "image"
        call = client.post("/search/image", files={"file": ("q.png", rng.choice(pictures), "image/png")}, data={"k": "10"})
    else:
        kind = "similar"
        call = client.get(f"/search/similar/{rng.choice(ids)}", params={"k": 10})
    return kind, await call


async def _client_loop(number, url, deadline, budget, tally, pictures, ids, timeout):
    rng = random.Random(number)
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:
        while time.monotonic() < deadline and tally.requests < budget:
            tally.requests += 1
            started = time.perf_counter()
            try:
                kind, response = await _one_request(client, rng, pictures, ids)
            except httpx.HTTPError as exc:
                tally.errors[type(exc).__name__] += 1
                continue
            tally.latencies[kind].append(time.perf_counter() - started)
            tally.statuses[response.status_code] += 1
            if response.status_code == 200:
                result_ids = [result["id"] for result in response.json()["results"]]
                tally.duplicate_ids_in_results += len(result_ids) != len(set(result_ids))
            elif response.status_code == 503 and "retry-after" in response.headers:
                tally.busy_with_retry_after += 1  # the admission's answer to more clients than slots + queue
                await asyncio.sleep(float(response.headers["retry-after"]))


async def _drive(url, clients, duration, budget, pictures, ids, timeout, sample_memory):
    """Run the clients until the deadline or the request budget; sample the server's memory meanwhile."""
    tally = Tally()
    started = time.monotonic()
    deadline = started + duration
    workers = [asyncio.create_task(_client_loop(n, url, deadline, budget, tally, pictures, ids, timeout))
               for n in range(clients)]
    done = asyncio.ensure_future(asyncio.gather(*workers))
    while not done.done():
        sample_memory(time.monotonic() - started)
        await asyncio.wait([done], timeout=max(duration / 20, 0.5))
    await done
    return tally, time.monotonic() - started


# -- checking nothing was lost -----------------------------------------------------------------------
FP16_TIE = 2e-3  # vectors are stored as fp16 (3 significant digits): scores closer than this are a tie


def _found_first(results: list[dict] | None, sha256: str) -> bool:
    """Whether the picture's own item ranks first, counting a tie at fp16 precision as first.

    On the tiny random test model different pictures can embed within fp16 rounding of each
    other, so the exact order of such a tie is noise; a lost item is absent or clearly behind.
    """
    if not results:
        return False
    own = [result["score"] for result in results if result["sha256"] == sha256]
    return bool(own) and own[0] >= results[0]["score"] - FP16_TIE


def _verify(url: str, key: str, data_dir: Path, expected_items: int, added_pictures: list[bytes]) -> dict:
    from storage import Store

    reloaded = httpx.post(f"{url}/admin/reload", headers={"X-API-Key": key}, timeout=120).json()
    with Store(data_dir) as store:
        catalog = store.count()
        distinct = len({hit.image.sha256 for hit in store.search(np.ones(store.model.dimension), k=catalog + 10)[0]})
    lost = 0
    for picture in added_pictures:
        response = httpx.post(f"{url}/search/image", files={"file": ("q.png", picture, "image/png")},
                              data={"k": "5"}, timeout=60)
        results = response.json().get("results") if response.status_code == 200 else None
        lost += not _found_first(results, hashlib.sha256(picture).hexdigest())
    return {
        "expected_items": expected_items,
        "catalog_items": catalog,
        "distinct_in_index": distinct,
        "served_items": reloaded["items"],
        "served_vectors": reloaded["vectors"],
        "added_images_not_found_first": lost,
        "lost": max(expected_items - catalog, 0) + lost,
        "duplicated": max(catalog - expected_items, 0) + (catalog - distinct),
    }


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else 0.0


def _summary(tally: Tally, seconds: float, memory: dict, verify: dict, settings: dict) -> dict:
    every = [v for values in tally.latencies.values() for v in values]
    answered = sum(tally.statuses.values())
    return {
        "settings": settings,
        "seconds": round(seconds, 1),
        "requests": answered,
        "requests_per_second": round(answered / seconds, 1) if seconds else 0.0,
        "latency_ms": {
            kind: {"count": len(values), "p50": round(_percentile(values, 50), 1), "p99": round(_percentile(values, 99), 1)}
            for kind, values in sorted({**tally.latencies, "all": every}.items())
        },
        "statuses": {str(code): count for code, count in sorted(tally.statuses.items())},
        "server_errors_5xx": sum(count for code, count in tally.statuses.items() if code >= 500),
        "busy_503_with_retry_after": tally.busy_with_retry_after,
        "transport_errors": dict(tally.errors),
        "duplicate_ids_in_a_result_list": tally.duplicate_ids_in_results,
        "server_rss_mib": {name: round(value / 2**20, 1) for name, value in memory.items()},
        "items": verify,
    }


def _print(summary: dict) -> None:
    print(f"\n{summary['requests']} requests in {summary['seconds']} s = {summary['requests_per_second']} req/s "
          f"({summary['settings']['clients']} clients)")
    for kind, figures in summary["latency_ms"].items():
        print(f"  {kind:8} n={figures['count']:6}  p50 {figures['p50']:8.1f} ms  p99 {figures['p99']:8.1f} ms")
    print(f"  statuses {summary['statuses']}; 5xx: {summary['server_errors_5xx']} "
          f"({summary['busy_503_with_retry_after']} of them 503 + Retry-After: busy); "
          f"transport errors: {summary['transport_errors'] or 0}")
    memory = summary["server_rss_mib"]
    print(f"  server RSS: start {memory['start']} MiB, after warm-up {memory['warm']} MiB, end {memory['end']} MiB "
          f"(after warm-up between {memory['min_after_warm_up']} and {memory['max_after_warm_up']} MiB)")
    items = summary["items"]
    print(f"  items: expected {items['expected_items']}, catalog {items['catalog_items']}, served "
          f"{items['served_vectors']} vectors; lost {items['lost']}, duplicated {items['duplicated']}")


# -- the whole run -----------------------------------------------------------------------------------
def run(args) -> dict:
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="rsclip-load-"))
    work.mkdir(parents=True, exist_ok=True)
    data_dir, key, port = work / "data", secrets.token_urlsafe(24), _free_port()
    url = f"http://{LOOPBACK}:{port}"
    server = indexer = None
    try:
        model = args.model or _tiny_model(work)
        initial = _write_corpus(work / "initial", range(args.initial))
        first = _rsclip("index", work / "initial", "--data-dir", data_dir, "--model", model, "--quiet")
        if first.wait(timeout=1800) != 0:
            raise SystemExit("indexing the initial corpus failed")
        chunks, added_seeds = [], range(10_000, 10_000 + args.added)
        for number, start in enumerate(range(0, args.added, max(args.added // 8, 1))):
            seeds = added_seeds[start : start + max(args.added // 8, 1)]
            _write_corpus(work / "added" / f"chunk-{number}", seeds, duplicates_every=7)
            chunks.append(str(work / "added" / f"chunk-{number}"))

        server = _rsclip("serve", "--data-dir", data_dir, "--model", model, "--host", LOOPBACK, "--port", port,
                         env={"RSCLIP_API_KEY": key}, stdout=subprocess.DEVNULL)
        _wait_for_health(url, server)
        memory = {"start": _rss_bytes(server.pid)}
        samples: list[tuple[float, int]] = []
        pause = max(args.duration * 0.6 / max(len(chunks), 1), 0.1)
        indexer = subprocess.Popen(
            [sys.executable, __file__, "_indexer", str(data_dir), model, str(pause), *chunks],
            env={**os.environ, "HF_HUB_OFFLINE": "1"}, stdout=subprocess.PIPE, text=True,
        )
        pictures = [_png(seed) for seed in range(0, args.initial, max(args.initial // 20, 1))]
        ids = list(range(1, initial + 1))

        def sample_memory(elapsed: float) -> None:
            samples.append((elapsed, _rss_bytes(server.pid)))

        tally, seconds = asyncio.run(
            _drive(url, args.clients, args.duration, args.max_requests, pictures, ids, args.timeout, sample_memory)
        )
        memory["end"] = _rss_bytes(server.pid)
        warm_up = min(seconds * 0.25, 10)  # allocator and caches fill during the first requests
        after_warm_up = [rss for elapsed, rss in samples if elapsed >= warm_up] or [memory["end"]]
        memory["warm"], memory["peak"] = after_warm_up[0], max([rss for _, rss in samples] + [memory["end"]])
        memory["min_after_warm_up"], memory["max_after_warm_up"] = min(after_warm_up), max(after_warm_up)
        indexer.wait(timeout=max(args.duration, 60))
        runs = [json.loads(line) for line in indexer.stdout.read().splitlines() if line.startswith("{")]
        added_pictures = [_png(seed) for seed in added_seeds]
        verify = _verify(url, key, data_dir, initial + args.added, added_pictures)
        verify["indexer_runs"] = len(runs)
        verify["indexer_added"] = sum(run["added"] for run in runs)
        verify["indexer_duplicates_skipped"] = sum(run["duplicates"] for run in runs)
        settings = {"clients": args.clients, "duration_s": args.duration, "max_requests": args.max_requests,
                    "initial_items": initial, "added_items": args.added, "model": "tiny random" if not args.model else model}
        return _summary(tally, seconds, memory, verify, settings)
    finally:
        for process in (indexer, server):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        if not args.keep and not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)


def run_upload_memory(args) -> dict:
    """Serve a small index; fire the 40 MP uploads at once; report peak RSS above idle."""
    from bench.upload_memory import peak_during_uploads, uploads

    work = Path(args.work_dir or tempfile.mkdtemp(prefix="rsclip-uploads-"))
    work.mkdir(parents=True, exist_ok=True)
    port, server = _free_port(), None
    try:
        model = args.model or _tiny_model(work)
        _write_corpus(work / "initial", range(12))
        if _rsclip("index", work / "initial", "--data-dir", work / "data", "--model", model, "--quiet").wait(1800):
            raise SystemExit("indexing the corpus failed")
        files = uploads(args.clients)
        server = _rsclip("serve", "--data-dir", work / "data", "--model", model, "--host", LOOPBACK, "--port", port,
                         "--queue-seconds", 600, stdout=subprocess.DEVNULL)  # every upload waits its turn
        url = f"http://{LOOPBACK}:{port}"
        _wait_for_health(url, server, seconds=900)
        httpx.post(f"{url}/search/text", json={"query": "warm up", "k": 1}, timeout=60)
        return peak_during_uploads(url, lambda: _rss_bytes(server.pid), files, timeout=args.timeout * 10)
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=20)
        if not args.keep and not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)


def _tiny_model(work: Path) -> str:
    from encoder.tiny_checkpoint import build_tiny_siglip

    return str(build_tiny_siglip(work / "tiny-siglip", hidden_size=64, image_size=32, patch_size=8))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_indexer"]:
        data_dir, model, pause, *chunks = argv[1:]
        indexer_main(data_dir, model, chunks, float(pause))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30, help=f"seconds of load (30; at most {MAX_DURATION})")
    parser.add_argument("--clients", type=int, default=16, help=f"concurrent clients (16; at most {MAX_CLIENTS})")
    parser.add_argument("--max-requests", type=int, default=50_000, help="stop after this many requests (50000)")
    parser.add_argument("--initial", type=int, default=200, help="images indexed before the load starts (200)")
    parser.add_argument("--added", type=int, default=120, help="images the indexer adds during the load (120)")
    parser.add_argument("--timeout", type=float, default=60, help="per-request client timeout in seconds (60)")
    parser.add_argument("--model", help="checkpoint folder (default: a tiny random SigLIP built on the spot)")
    parser.add_argument("--work-dir", help="keep the data here instead of a temporary folder")
    parser.add_argument("--keep", action="store_true", help="do not delete the temporary folder")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--upload-memory", action="store_true",
                        help="instead: peak server memory under --clients (use 8) concurrent 40 MP uploads")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= MAX_DURATION or not 0 < args.clients <= MAX_CLIENTS or args.max_requests < 1:
        parser.error(f"--duration must be in (0, {MAX_DURATION}], --clients in [1, {MAX_CLIENTS}], --max-requests >= 1")
    if args.upload_memory:
        figures = run_upload_memory(args)
        print(f"{figures['uploads']} concurrent uploads of {figures['megapixels_each']} MP (float32 TIFF and JPEG): "
              f"server RSS idle {figures['idle_rss_mb']} MB, peak {figures['peak_rss_mb']} MB, "
              f"peak above idle {figures['peak_above_idle_mb']} MB; statuses {figures['statuses']}")
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2))
        return 0 if all(status == 200 for status in figures["statuses"]) else 1
    summary = run(args)
    _print(summary)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    items = summary["items"]
    ok = summary["server_errors_5xx"] == 0 and items["lost"] == 0 and items["duplicated"] == 0
    print("PASS" if ok else "FAIL: 5xx, lost or duplicated items above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
