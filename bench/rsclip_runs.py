"""Timing ``rsclip index`` as a child process, shared by ``bench.small_jobs`` and ``bench.peers``:
its command line, its environment, the ``--rsclip-args`` flag both benches take, and one
untimed warm-up run that fills what the timed runs then find cached (compiled kernels)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rsclip_command(checkpoint: Path, folder: Path, data_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "rsclip", "index", str(folder), "--data-dir", str(data_dir),
        "--model", str(checkpoint), "--quiet", *extra,
    ]


def child_env() -> dict[str, str]:
    """The environment a timed child runs in: this one, with this checkout importable."""
    return {**os.environ, "PYTHONPATH": str(REPO)}


def add_rsclip_args(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument("--rsclip-args", default="", metavar="ARGS", help=f"more flags for `rsclip index`, {example}")


def rsclip_extra(args) -> tuple[str, ...]:
    """``--rsclip-args`` as argv words."""
    return tuple(shlex.split(args.rsclip_args))


def extra_words(extra: tuple[str, ...]) -> str:
    """How a summary line names the extra flags ("" for none)."""
    return f", rsclip {' '.join(extra)}" if extra else ""


def warm_up(checkpoint: Path, count: int, extra: tuple[str, ...]) -> None:
    """One untimed ``rsclip index`` with ``extra`` first: what it caches (compiled kernels) every
    timed run then finds alike, so a cold cache does not count against the first size only."""
    from bench.common import run_child
    from bench.images import prepare_images

    with tempfile.TemporaryDirectory(prefix="rsclip-warm-") as workdir:
        folder = Path(workdir) / "images"
        prepare_images(folder, count, lossless_suffix=".png")
        warm = run_child(rsclip_command(checkpoint, folder, Path(workdir) / "index", *extra), child_env())
        print(f"   warm-up run (untimed in the figures): {warm.seconds:.1f} s", flush=True)
