"""``python -m bench.small_jobs``: a whole small job, start-up included, against the naive script.

A user with 16 or 96 images compares the wall time of ``rsclip index`` with that of
the few lines they would otherwise write (``bench/naive_script.py``: fp32, one image
per call). Both run as fresh processes on the same images, taking turns (A B A B) so
that a busy neighbour slows both alike; the figure is the ratio of their medians.

    .venv/bin/python -m bench.small_jobs                  # 16 and 96 images, 2 rounds (~10 min on 2 cores)
    .venv/bin/python -m bench.small_jobs --sizes 16 --rounds 3
    .venv/bin/python -m bench.small_jobs --rsclip-args="--compile on"   # the steady rate of a large job
                                                                      # (compiled from the first batch)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from bench.rsclip_runs import REPO, add_rsclip_args, child_env, extra_words, rsclip_command, rsclip_extra, warm_up


def naive_command(checkpoint: Path, folder: Path, out: Path) -> list[str]:
    return [sys.executable, str(REPO / "bench" / "naive_script.py"), str(checkpoint), str(folder), str(out)]


def time_size(checkpoint: Path, folder: Path, rounds: int, workdir: Path, extra: tuple[str, ...] = ()) -> dict[str, list]:
    """Whole-job runs of both tools on ``folder``, alternated."""
    from bench.common import run_child

    env = child_env()
    runs: dict[str, list] = {"naive script": [], "rsclip index": []}
    for number in range(rounds):
        runs["naive script"].append(run_child(naive_command(checkpoint, folder, workdir / "naive.npy"), env))
        runs["rsclip index"].append(run_child(rsclip_command(checkpoint, folder, workdir / f"index-{number}", *extra), env))
        print(
            f"   round {number + 1}: naive {runs['naive script'][-1].seconds:6.1f} s, "
            f"rsclip {runs['rsclip index'][-1].seconds:6.1f} s",
            flush=True,
        )
    return runs


def main(argv=None) -> int:
    from bench.common import large_checkpoint, load_average, section, steady_rate
    from bench.hardware import measure_hardware
    from bench.images import prepare_images

    parser = argparse.ArgumentParser(prog="python -m bench.small_jobs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 96], help="images per job (16 96)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each tool per size, alternated (2)")
    add_rsclip_args(parser, 'e.g. "--compile on": a large job\'s compiled steady rate (its compile time '
                    "cancels out of the steady rate like the start-up)")
    args = parser.parse_args(argv)
    extra = rsclip_extra(args)

    hardware = measure_hardware()
    print(hardware.describe(), flush=True)
    checkpoint = large_checkpoint()
    if extra:
        warm_up(checkpoint, min(args.sizes), extra)
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="rsclip-small-") as workdir:
            folder = Path(workdir) / "images"
            _, origin = prepare_images(folder, size)
            section(f"whole job, {size} images from {origin}")
            runs = time_size(checkpoint, folder, args.rounds, Path(workdir), extra)
        naive = statistics.median(run.seconds for run in runs["naive script"])
        ours = statistics.median(run.seconds for run in runs["rsclip index"])
        memory = {name: max(run.peak_rss_mb for run in kept) for name, kept in runs.items()}
        rows.append((size, naive, ours, memory))
    print(f"\n==== whole job, start-up included (medians of {args.rounds} alternated runs{extra_words(extra)})  "
          f"[{load_average()}]")
    print(f"   {hardware.describe()}")
    for size, naive, ours, memory in rows:
        print(
            f"   {size:4d} images: naive {naive:6.1f} s, rsclip {ours:6.1f} s -> rsclip/naive time {ours / naive:.2f} "
            f"({size / ours:.2f} img/s = {hardware.share_of_ceiling(size / ours):.2f} of the ceiling); "
            f"peak memory naive {memory['naive script']:.0f} MB, rsclip {memory['rsclip index']:.0f} MB"
        )
    if len(rows) >= 2:
        (small, naive_small, ours_small, _), (large, naive_large, ours_large, _) = rows[0], rows[-1]
        ours_rate = steady_rate(small, large, ours_small, ours_large)
        naive_rate = steady_rate(small, large, naive_small, naive_large)
        print(
            f"   steady rate ({large} - {small} images over the extra time; start-up cancels): "
            f"rsclip {ours_rate:.3f} img/s = {hardware.share_of_ceiling(ours_rate):.2f} of the ceiling, "
            f"naive {naive_rate:.3f} img/s = {hardware.share_of_ceiling(naive_rate):.2f}; rsclip/naive {ours_rate / naive_rate:.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
