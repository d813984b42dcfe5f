"""The vector index at archive scale under a memory budget: N x 1024 clustered vectors, streamed.

Nothing here holds every vector in RAM: the vectors are generated block by block into a
vector file (float16 on disk, the store's own format), and each step runs in its own
process so that its peak RSS is its own:

1. fill     -- write the vectors (the "images") to the vector file;
2. truth    -- exact top-10 of fresh image-like and text-like queries (not the probe
               queries the build calibrates on), streamed over the file;
3. build    -- what the store's policy picks for N and the budget, trained on a sample,
               filled block by block, calibrated (nprobe, re-rank depth) to recall@10 >= 0.96,
               each kind of query apart (``--recalibrate`` with ``--reuse``: the index an
               earlier run built, only calibrated again: 10 minutes at 10M instead of 30);
4. serve    -- load the index, answer single queries (as a user's arrive, each searched as
               deep as its kind needs), measure p50/p95 at k=10, recall@10 of both kinds,
               and RSS (anonymous and file-backed); ``--cold``: after emptying the page
               cache first (root only), so re-ranking reads start from disk, as after a reboot.

Beside it, in the same run: ``IVF,SQfp16`` with no budget (today's index, where it fits
in RAM) and the index autofaiss picks for the same N and budget (when autofaiss runs in
the interpreter named by ``--autofaiss-python``), both built, calibrated and served the
same way (without exact re-ranking: neither does it).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.common import Latency, section, settle, time_calls
from bench.synthetic import ClusteredVectors

SEED = 2
MODEL_GAP_SEED = 7
# Typical text queries the "model" hands the store for calibration. The indexer hands 24 of a
# real model's; 200 here make the calibration as tight as the 200 fresh queries it is judged on.
MODEL_TEXT_QUERIES = 200
QUERIES_VERSION = 2  # 2: text-like queries share the model's gap (1: each set its own): truth made before differs
BYTES_PER_VECTOR_BUDGET = 300  # the bench's default budget: 3 GB at 10M, leaving room under a 4 GB RSS target


def _peak_rss() -> dict:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    kib = lambda key: int(status.get(key, "0 kB").split()[0]) * 1024  # noqa: E731
    return {"peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "rss_anon": kib("RssAnon"),
            "rss_file": kib("RssFile"), "vm_hwm": kib("VmHWM")}


def _file(workdir: Path, count: int, dimension: int):
    from storage.vector_file import VectorFile

    return VectorFile(workdir, 1, dimension, count)


def fill(workdir: Path, count: int, dimension: int) -> dict:
    from storage.vector_file import VectorFile

    started = time.perf_counter()
    file = VectorFile(workdir, 1, dimension, 0)
    start = 0
    for chunk in ClusteredVectors(dimension, seed=SEED).chunks(count, chunk=10_000):
        _, end = file.write(np.arange(start, start + len(chunk)), chunk)
        file.commit(end)
        start = end
    return {"seconds": time.perf_counter() - started, "disk_bytes": file.disk_bytes(), **_peak_rss()}


def model_gap(dimension: int) -> np.ndarray:
    """The direction the bench's "model" puts every text vector along (its modality gap)."""
    gap = np.random.default_rng(MODEL_GAP_SEED).standard_normal(dimension).astype(np.float32)
    return gap / np.linalg.norm(gap)


def _text_like(dimension: int, count: int, anchors_seed: int, seed: int) -> np.ndarray:
    """Text-like queries along the model's gap, from stored-like anchors of ``anchors_seed``."""
    from storage.index_policy import probe_queries

    anchors = ClusteredVectors(dimension, seed=SEED).sample(count, seed=anchors_seed)
    return probe_queries(anchors, seed=seed, gap=model_gap(dimension)).text_like


def queries_of(dimension: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Fresh queries (not the calibration's): image-like, and text-like along the model's gap."""
    image_like = ClusteredVectors(dimension, seed=SEED).sample(count, seed=10**9)
    return image_like, _text_like(dimension, count, 10**9 + 1, seed=12345)


def model_text_vectors(dimension: int, count: int = MODEL_TEXT_QUERIES) -> np.ndarray:
    """What the indexer hands the store as the model's vectors of typical text queries: other
    text-like queries of the same model (same gap; other anchors and noise than the fresh ones)."""
    return _text_like(dimension, count, 10**9 + 2, seed=54321)


def truth(workdir: Path, count: int, dimension: int, queries: int) -> dict:
    from storage.index_policy import exact_neighbours

    started = time.perf_counter()
    both = np.vstack(queries_of(dimension, queries))
    _, ids = exact_neighbours(both, _file(workdir, count, dimension).chunks(np.arange(count)), 10)
    np.save(workdir / "truth.npy", ids)
    return {"seconds": time.perf_counter() - started, **_peak_rss()}


def build(workdir: Path, count: int, dimension: int, label: str, budget: int, index_type: str | None) -> dict:
    from storage.index_policy import IndexPolicy
    from storage.vectors import VectorIndex

    policy = IndexPolicy(memory_budget=budget)
    chosen = index_type or policy.index_type_for(count, dimension)
    started = time.perf_counter()
    text = functools.partial(model_text_vectors, dimension)
    index, made = VectorIndex.build(chosen, np.arange(count), _file(workdir, count, dimension), policy, text, progress=True)
    index.save(workdir / f"{label}.faiss")
    return _built(workdir, label, made, time.perf_counter() - started)


def calibrate(workdir: Path, count: int, dimension: int, label: str, budget: int, _index_type: str | None) -> dict:
    """The index an earlier run built and saved, calibrated again (the store's own calibration;
    a PQ index saved without a text axis gets one first, and is saved again with it)."""
    from storage.index_policy import IndexPolicy
    from storage.vectors import VectorIndex

    index = VectorIndex.load(workdir / f"{label}.faiss")
    index.source = _file(workdir, count, dimension)
    started = time.perf_counter()
    had_axis = index.text_axis is not None
    made = index.calibrate(np.arange(count), IndexPolicy(memory_budget=budget), functools.partial(model_text_vectors, dimension))
    if index.text_axis is not None and not had_axis:  # what it gained goes in its file
        index.save(workdir / f"{label}.faiss")
    return {**_built(workdir, label, made, time.perf_counter() - started), "calibrated_only": True}


def _built(workdir: Path, label: str, made, seconds: float) -> dict:
    (workdir / f"{label}.build.json").write_text(json.dumps(dataclasses.asdict(made)))  # for the serve step
    return {"index_type": made.index_type, "seconds": seconds, "nprobe": made.nprobe, "rerank": made.rerank,
            "text_nprobe": made.text_nprobe, "text_rerank": made.text_rerank,
            "candidates": made.candidates, "text_candidates": made.text_candidates,
            "build_recall": [made.recall_at_10, made.text_recall_at_10],
            "index_file_bytes": (workdir / f"{label}.faiss").stat().st_size, **_peak_rss()}


def serve(workdir: Path, count: int, dimension: int, label: str, rerank: int | None, queries: int, cold: bool) -> dict:
    """Each kind searched at the depth its build calibrated (``rerank``: one re-rank depth for both instead)."""
    from storage.index_policy import recall_at_k
    from storage.records import IndexBuild
    from storage.vectors import VectorIndex

    index = VectorIndex.load(workdir / f"{label}.faiss")
    index.source = _file(workdir, count, dimension)
    made = IndexBuild(**json.loads((workdir / f"{label}.build.json").read_text()))
    if rerank:
        made = dataclasses.replace(made, rerank=rerank, text_rerank=rerank)
    index.tune(made)
    image_like, text_like = queries_of(dimension, queries)
    truth_ids = np.load(workdir / "truth.npy")
    emptied = _empty_page_cache() if cold else None
    settle()
    latency, recall = {}, []
    for kind, batch, truth_of_kind in (("image", image_like, truth_ids[:queries]), ("text", text_like, truth_ids[queries:])):
        latency[kind] = time_calls(lambda i: index.search(batch[i % queries], 10, kind=kind), queries, warmup=5).seconds
        recall.append(recall_at_k(np.vstack([index.search(q, 10, kind=kind)[1] for q in batch]), truth_of_kind))
    return {"latency": latency, "recall": recall, "page_cache_emptied": emptied, **_peak_rss()}


def _empty_page_cache() -> bool:
    """Drop the clean pages of the page cache (root only): the vector file is read from disk again."""
    import os

    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
        return True
    except OSError as error:
        print(f"could not empty the page cache ({error}); serving on whatever it holds", flush=True)
        return False


def autofaiss_choice(python: str, count: int, dimension: int, budget: int) -> str | None:
    """The index autofaiss picks for this many vectors and this budget (it runs in its own venv)."""
    code = ("from autofaiss.external.optimize import get_optimal_index_keys_v2 as keys;"
            f"print(keys({count}, {dimension}, '{budget // 2**20}MB', make_direct_map=False)[0])")
    done = subprocess.run([python, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"autofaiss did not run: {done.stderr.strip().splitlines()[-1:]}", flush=True)
        return None
    return done.stdout.strip().splitlines()[-1]


def _phase(*argv) -> dict:
    """Run one step in a fresh process (its own peak RSS) and return what it printed last, as JSON."""
    done = subprocess.run([sys.executable, "-m", "bench.vector_scale", *map(str, argv)], stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"bench step {argv[0]} failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass
class ScaleResult:
    vectors: int
    dimension: int
    budget: int
    steps: dict = field(default_factory=dict)  # label -> {"build": ..., "serve": ...}
    fill: dict = field(default_factory=dict)
    truth: dict = field(default_factory=dict)
    autofaiss_key: str | None = None

    def report(self) -> list[str]:
        gib = lambda b: f"{b / 2**30:.2f} GiB"  # noqa: E731
        lines = [
            f"{self.vectors:,} x {self.dimension} clustered synthetic vectors, budget {gib(self.budget)}",
            f"fill (fp16 vector file)  : {self.fill['seconds']:.0f} s, disk {gib(self.fill['disk_bytes'])}, "
            f"peak RSS {gib(self.fill['peak_rss'])}",
            f"exact truth (streamed)   : {self.truth['seconds']:.0f} s, peak RSS {gib(self.truth['peak_rss'])}",
        ]
        if self.autofaiss_key:
            lines.append(f"autofaiss's choice for this size and budget: {self.autofaiss_key}")
        for label, step in self.steps.items():
            built, served = step["build"], step["serve"]
            image, text = Latency(served["latency"]["image"]), Latency(served["latency"]["text"])
            how = "an earlier run's index, calibrated again in" if built.get("calibrated_only") else "built in"
            of = lambda key: f" of {built[key]} candidates" if built.get(key) else ""  # noqa: E731
            lines += [
                f"[{label}] {built['index_type']}: image-like queries nprobe {built['nprobe']} rerank {built['rerank']}"
                f"{of('candidates')}, text-like nprobe {built.get('text_nprobe')} rerank {built.get('text_rerank')}"
                f"{of('text_candidates')}",
                f"    {how} {built['seconds']:.0f} s, peak RSS {gib(built['peak_rss'])}, "
                f"index file {gib(built['index_file_bytes'])}",
                f"    image-like queries {image}; text-like {text}",
                f"    recall@10 vs exact: image-like {served['recall'][0]:.3f}, text-like {served['recall'][1]:.3f} "
                f"(at build {built['build_recall']})",
                f"    serving RSS peak {gib(served['vm_hwm'])} (anonymous {gib(served['rss_anon'])}, "
                f"file-backed {gib(served['rss_file'])} at the end)"
                + {True: "; page cache emptied first", False: "; page cache could not be emptied"}.get(
                    served.get("page_cache_emptied"), ""),
            ]
        return lines


def run_vector_scale(
    count: int, dimension: int = 1024, queries: int = 200, budget: int | None = None,
    workdir: Path = Path("/tmp/rsclip-bench/vectors"), autofaiss_python: str | None = None, baseline: bool = True,
    reuse: bool = False, only_data: bool = False, recalibrate: bool = False, cold: bool = False,
) -> ScaleResult:
    budget = budget or count * BYTES_PER_VECTOR_BUDGET
    workdir.mkdir(parents=True, exist_ok=True)
    section(f"vector index under a memory budget: {count:,} x {dimension}, budget {budget / 2**30:.2f} GiB")
    result = ScaleResult(count, dimension, budget)
    common = (workdir, count, dimension)
    result.fill, result.truth = _made_data(workdir, reuse, (count, dimension, queries))
    print(f"filled: {result.fill}\ntruth: {result.truth}", flush=True)
    if only_data:
        return result
    plans = [("policy", budget, "")]
    if baseline and count * dimension * 2 < 0.6 * _available_ram():
        from storage.index_policy import SQ, IndexPolicy, ivf_type

        plans.append(("IVF,SQfp16 unbudgeted", 1 << 60, ivf_type(IndexPolicy().cells_for(count, SQ))))
    if autofaiss_python:  # its choice is reported; building it is a separate, much longer run (see README)
        result.autofaiss_key = autofaiss_choice(autofaiss_python, count, dimension, budget)
        print(f"autofaiss picks {result.autofaiss_key} for {count:,} x {dimension} within {budget / 2**20:.0f} MB",
              flush=True)
    for label, plan_budget, key in plans:
        name = f"index{len(result.steps)}"
        again = recalibrate and reuse and (workdir / f"{name}.faiss").exists()
        built = _phase("calibrate" if again else "build", *common, name, plan_budget, key or "-")
        print(f"built {label}: {built}", flush=True)
        served = _phase("serve", *common, name, 0, queries, int(cold))
        result.steps[label] = {"build": built, "serve": served}
        print("\n".join(result.report()[-5:]), flush=True)
    return result


def _made_data(workdir: Path, reuse: bool, shape: tuple[int, int, int]) -> tuple[dict, dict]:
    """The fill and truth steps' results: run now, or, with ``reuse``, those of an earlier run
    of the same shape (the vectors and queries are seeded, so they are the same vectors).
    At 10M the two take about 15 minutes that need not be spent again for each index tried;
    where only the queries changed (another QUERIES_VERSION), the vectors and the indexes
    built on them stay and only the truth (3 minutes) is made again."""
    made = workdir / "made.json"
    earlier = json.loads(made.read_text()) if reuse and made.exists() else None
    same_vectors = earlier is not None and tuple(earlier["shape"][:2]) == shape[:2]
    if same_vectors and tuple(earlier["shape"]) == shape and earlier.get("queries") == QUERIES_VERSION:
        print(f"reusing the vectors and truth of an earlier run ({made})", flush=True)
        return earlier["fill"], earlier["truth"]
    count, dimension, queries = shape
    if same_vectors:
        print(f"reusing the vectors of an earlier run ({made}); the truth of today's queries is made again", flush=True)
        filled = earlier["fill"]
    else:
        for old in workdir.glob("*"):  # indexes of other vectors too: --recalibrate must not find them
            old.unlink()
        filled = _phase("fill", workdir, count, dimension)
    found = _phase("truth", workdir, count, dimension, queries)
    made.write_text(json.dumps({"shape": shape, "queries": QUERIES_VERSION, "fill": filled, "truth": found}))
    return filled, found


def _available_ram() -> int:
    import os

    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    steps = {"fill": fill, "truth": truth, "build": build, "calibrate": calibrate, "serve": serve}
    if argv and argv[0] in steps:  # one step, in its own process
        name, workdir, count, dimension, *rest = argv
        args = [Path(workdir), int(count), int(dimension)]
        if name == "truth":
            args.append(int(rest[0]))
        elif name in ("build", "calibrate"):
            args += [rest[0], int(rest[1]), None if rest[2] == "-" else rest[2]]
        elif name == "serve":
            args += [rest[0], int(rest[1]) or None, int(rest[2]), bool(int(rest[3])) if len(rest) > 3 else False]
        print(json.dumps(steps[name](*args)), flush=True)
        return
    parser = argparse.ArgumentParser(prog="python -m bench.vector_scale", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="vectors (10000000 for the full figure)")
    parser.add_argument("--dimension", type=int, default=1024)
    parser.add_argument("--queries", type=int, default=200, help="per kind")
    parser.add_argument("--memory-budget", help=f"e.g. 3G; default {BYTES_PER_VECTOR_BUDGET} bytes a vector")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/rsclip-bench/vectors"))
    parser.add_argument("--autofaiss-python", help="a Python with autofaiss installed, for its index choice")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unbudgeted IVF,SQfp16")
    parser.add_argument("--reuse", action="store_true", help="keep the vectors and truth of an earlier run of this shape")
    parser.add_argument("--only-data", action="store_true", help="make the vectors and truth, then stop")
    parser.add_argument("--recalibrate", action="store_true",
                        help="with --reuse: calibrate the indexes an earlier run built again instead of building them")
    parser.add_argument("--cold", action="store_true", help="empty the page cache before serving (root only)")
    args = parser.parse_args(argv)
    from service.settings import parse_size

    result = run_vector_scale(
        args.n, args.dimension, args.queries, parse_size(args.memory_budget) if args.memory_budget else None,
        args.workdir, args.autofaiss_python, not args.no_baseline, args.reuse, args.only_data, args.recalibrate, args.cold,
    )
    print("\n".join(result.report()))


if __name__ == "__main__":
    main()
