"""What Ray costs on one machine, and what a cluster would take for a national archive.

    .venv/bin/python -m bench.ray_overhead [--images 200] [--model FOLDER | --tiny] [--actors 1,2]

Indexes the same images three ways into fresh stores, back to back on the same machine:
locally (threads, as ``rsclip index``), then with ``--ray`` and 1 and 2 encoder actors on a
local Ray instance started once before the timings (as ``--ray auto`` would; its start is
printed apart). Each Ray figure includes what a run pays: the Dataset plan, the actors'
model load, moving pixels through the object store. Prints images/s and the ratio to the
local run. Then a paper estimate for a 10M-chip archive on N nodes, from the measured
per-actor rate and stated assumptions for GPU nodes. Asserts nothing.

Default model: the SigLIP-L/16-256-shaped random checkpoint (bench/common.py), the real
model's cost per image; ``--tiny`` measures Ray's fixed overhead with a negligible model.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.common import load_average, section

ARCHIVE_CHIPS = 10_000_000
# Assumptions of the GPU estimate (stated in the output and in README).
SIGLIP_L_GFLOP = 162  # per 256 px image, forward pass of the image tower
GPU_PEAK_TFLOPS = {"A100 (bf16, 312 TF)": 312, "H100 SXM (bf16, 989 TF)": 989}
GPU_UTILISATION = 0.35  # of the dense peak, for a ViT-L forward at batch 64 to 256
DECODE_IMAGES_PER_CORE = 150  # 256 px JPEG/TIFF read + decode + preprocess, per core and second
CORES_PER_GPU_NODE = 32


def run_once(folder: Path, workdir: Path, encoder, executor=None) -> tuple[float, int]:
    """(seconds, images added) for one run into a fresh store."""
    from indexer import IndexRun
    from service.searcher import model_identity
    from storage import Store

    started = time.perf_counter()
    with Store(workdir, writable=True) as store:
        store.bind_model(model_identity(encoder))
        batch = executor.batch_size if executor else 8
        report = IndexRun(store, encoder, batch_size=batch, progress=False, executor=executor).run([folder])
    if report.failed:
        raise RuntimeError(f"{report.failed} benchmark image(s) failed: {report.failures[:3]}")
    return time.perf_counter() - started, report.added


def paper_estimate(per_actor_cpu: float) -> list[str]:
    lines = [
        f"10M chips on CPU nodes like this one (measured {per_actor_cpu:.2f} img/s per node):",
    ]
    for nodes in (1, 10, 100):
        days = ARCHIVE_CHIPS / (per_actor_cpu * nodes) / 86400
        lines.append(f"  {nodes:>4} node(s): {days:8.1f} days")
    decode_rate = DECODE_IMAGES_PER_CORE * CORES_PER_GPU_NODE
    lines.append(
        f"10M chips on GPU nodes (assumed: {SIGLIP_L_GFLOP} GFLOP/image, {GPU_UTILISATION:.0%} of dense peak, "
        f"decoding {DECODE_IMAGES_PER_CORE} img/s per core x {CORES_PER_GPU_NODE} cores = {decode_rate} img/s per node; "
        "one actor per GPU, inputs on a shared file system that keeps up):"
    )
    for gpu, tflops in GPU_PEAK_TFLOPS.items():
        model_rate = tflops * 1e12 * GPU_UTILISATION / (SIGLIP_L_GFLOP * 1e9)
        rate = min(model_rate, decode_rate)
        limit = "model" if model_rate <= decode_rate else "decoding"
        hours = [ARCHIVE_CHIPS / (rate * nodes) / 3600 for nodes in (1, 4, 16)]
        lines.append(
            f"  {gpu}: {rate:,.0f} img/s per node ({limit}-bound): "
            f"1 node {hours[0]:.1f} h, 4 nodes {hours[1]:.1f} h, 16 nodes {hours[2]:.2f} h"
        )
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ray_overhead", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--model", help="checkpoint folder (default: the SigLIP-L/16-256-shaped random one)")
    parser.add_argument("--tiny", action="store_true", help="a tiny random model: Ray's fixed cost alone")
    parser.add_argument("--actors", default="1,2", help="actor counts to run (1,2)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import ray

    from bench.common import large_checkpoint
    from bench.images import prepare_images, shared_data
    from encoder import choose_runtime, load_encoder
    from encoder.tiny_checkpoint import build_tiny_siglip
    from indexer.ray_executor import RayExecutor, RayOptions

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        if args.tiny:
            model = str(build_tiny_siglip(root / "tiny", hidden_size=64, image_size=32, patch_size=8))
        else:
            model = str(args.model or large_checkpoint())
        paths, origin = prepare_images(root / "images", args.images, shared_data())
        folder = paths[0].parent
        runtime = choose_runtime(precision="fp32")
        encoder = load_encoder(model, runtime=runtime)
        section(f"Ray overhead: {len(paths)} images ({origin}), {Path(model).name}, {runtime.describe()}; {load_average()}")

        started = time.perf_counter()
        ray.init(logging_level="WARNING", log_to_driver=False, include_dashboard=False)
        print(f"local Ray instance started in {time.perf_counter() - started:.1f} s (once; not in the figures)")
        try:
            seconds, added = run_once(folder, root / "local", encoder)
            local_rate = added / seconds
            print(f"local (threads)        : {seconds:7.1f} s  {local_rate:6.2f} img/s", flush=True)
            best_per_actor = 0.0
            for actors in [int(n) for n in args.actors.split(",")]:
                executor = RayExecutor(model, encoder.spec.image_size, RayOptions(actors=actors, batch_size=8),
                                       precision="fp32")
                seconds, added = run_once(folder, root / f"ray-{actors}", encoder, executor)
                rate = added / seconds
                best_per_actor = max(best_per_actor, rate)
                print(f"--ray, {actors} actor(s)     : {seconds:7.1f} s  {rate:6.2f} img/s  "
                      f"ratio to local {rate / local_rate:5.2f} (target >= 0.85)", flush=True)
            print(f"after the runs: {load_average()}")
        finally:
            ray.shutdown()
        section("paper estimate")
        for line in paper_estimate(best_per_actor):
            print(line)


if __name__ == "__main__":
    main()
