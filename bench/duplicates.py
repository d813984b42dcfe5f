"""N identical archive members index in the time of N distinct cheap ones (issue 11, item 5).

    .venv/bin/python bench/duplicates.py [--members 100000] [--model FOLDER]

Writes two zips of N tiny PNG members: one where every member holds the same picture,
one where each holds its own. Indexes each into a fresh data directory and prints
seconds, members per second and the ratio identical / distinct. Copies are stored
once and only their locations are recorded, so the identical zip should be no slower
than the distinct one (which embeds every member). Before the fix, copies of content
waiting in an unfilled batch were sent to the catalog again at every write: 68 s at
10k members, 100k never finished. Uses a tiny random checkpoint unless --model is given.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere


def tiny_png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def write_zip(path: Path, members: int, identical: bool) -> Path:
    same = tiny_png(0)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for n in range(members):
            archive.writestr(f"chips/{n // 1000:03d}/{n:06d}.png", same if identical else tiny_png(n))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--model", help="checkpoint folder (default: a tiny random SigLIP)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bench.common import load_average
    from encoder import load_encoder
    from encoder.tiny_checkpoint import build_tiny_siglip
    from indexer import IndexRun
    from service.searcher import model_identity
    from storage import Store

    with tempfile.TemporaryDirectory(prefix="rsclip-bench-dup-") as scratch:
        root = Path(scratch)
        model = args.model or str(build_tiny_siglip(root / "tiny", hidden_size=64, image_size=32, patch_size=8))
        encoder = load_encoder(model)
        n = args.members
        print(f"{n:,} PNG members of 8x8 px per zip, model {model_identity(encoder).model_id}; {load_average()}")
        seconds = {}
        for kind in ("distinct", "identical"):
            archive = write_zip(root / f"{kind}.zip", n, identical=kind == "identical")
            with Store(root / f"data-{kind}", writable=True) as store:
                store.bind_model(model_identity(encoder))
                started = time.perf_counter()
                report = IndexRun(store, encoder, progress=False, batch_size=32).run([archive])
                seconds[kind] = time.perf_counter() - started
            print(f"{kind:<10} {seconds[kind]:8.1f} s  {n / seconds[kind]:8.0f} members/s  "
                  f"added={report.added:,} duplicates={report.duplicates:,} failed={report.failed}", flush=True)
        print(f"identical / distinct: {seconds['identical'] / seconds['distinct']:.2f}x  [{load_average()}]")


if __name__ == "__main__":
    main()
