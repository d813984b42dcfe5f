"""``python -m bench``: indexing throughput, query latency and vector-index scale, in one run.

    .venv/bin/python -m bench                      # everything, a few minutes on 2 cores
    .venv/bin/python -m bench --images 32 --items 20000 --vectors 200000   # quicker
    .venv/bin/python -m bench --only indexing      # one section

Uses a SigLIP-L/16-256-shaped random checkpoint (built once, cached outside the repo,
see bench/common.py) and real images from shared/data when it is beside the repo.
Prints figures and the machine's load; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

SECTIONS = ("indexing", "queries", "vectors")


def parse_args(argv=None) -> argparse.Namespace:
    from bench.common import DEFAULT_CHECKPOINT

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=64, help="images the indexer indexes (64)")
    parser.add_argument("--naive-images", type=int, default=12, help="images for the slow naive baseline (12)")
    parser.add_argument("--items", type=int, default=100_000, help="index size for query latency (100000)")
    parser.add_argument("--calls", type=int, default=30, help="timed queries per kind (30)")
    parser.add_argument("--vectors", type=int, default=1_000_000, help="vectors for the index-scale section (1000000)")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only this section (repeatable)")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="where the random checkpoint is cached")
    parser.add_argument("--real-images", type=Path, help="folder of sample images (default: shared/data beside the repo)")
    parser.add_argument("--device", help="encoder device (default: this machine's best)")
    parser.add_argument("--precision", choices=("fp32", "bf16", "fp16", "int8"), help="encoder precision (default: this machine's best)")
    parser.add_argument("--batch-size", type=int, help="encoder batch size (default: the runtime's)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0,
        metavar="S",
        help="before each timed part, wait up to S seconds for other jobs to leave the CPUs idle (0)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from bench.common import QUIET_WAIT, large_checkpoint, load_average
    from bench.images import prepare_images
    from encoder import choose_runtime, load_encoder
    from encoder.loading import quiet_transformers

    quiet_transformers()
    QUIET_WAIT["seconds"] = args.quiet_wait
    sections = args.only or list(SECTIONS)
    runtime = choose_runtime(args.device, args.precision, args.batch_size)
    print(f"rsclip bench: runtime {runtime.describe()}; {load_average()}", flush=True)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="rsclip-bench-images-") as folder:
        if {"indexing", "queries"} & set(sections):
            paths, origin = prepare_images(Path(folder), args.images, args.real_images)
            print(f"{len(paths)} benchmark images from {origin}", flush=True)
            checkpoint = large_checkpoint(args.checkpoint)
        if "indexing" in sections:
            from bench.indexing import run_indexing

            results["indexing"] = run_indexing(checkpoint, paths, min(args.naive_images, len(paths)), runtime)
        if "queries" in sections:
            from bench.queries import run_queries

            encoder = load_encoder(str(checkpoint), runtime=runtime)
            results["queries"] = run_queries(encoder, args.items, paths[:16], args.calls)
            del encoder
    if "vectors" in sections:
        from bench.vector_scale import run_vector_scale

        results["vectors"] = run_vector_scale(args.vectors)

    print(f"\n==== summary  [{load_average()}]")
    for name, result in results.items():
        print(f"-- {name}")
        for line in result.report():
            print(f"   {line}")
    if args.json:
        args.json.write_text(json.dumps({name: asdict(result) for name, result in results.items()}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
