"""How long a re-run takes when nothing (or little) changed, against the first run.

    .venv/bin/python bench/incremental.py [--files 2000] [--model FOLDER]

Writes N small PNGs, indexes them (first run), re-runs with nothing changed (every
file skipped by path + size + mtime), re-runs with --rehash (every file read and
hashed, nothing embedded), changes 1% of the files and re-runs, deletes 1% and
re-runs with --prune. Prints seconds and files per second for each. Uses a tiny
random checkpoint unless --model is given, so the first run's time is mostly I/O and
decoding, not the model: with Git-RSCLIP on a CPU the first run is far slower and
the skip-only re-run the same.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def write_files(folder: Path, count: int) -> None:
    for i in range(count):
        subfolder = folder / f"{i // 500:03d}"  # 500 files per folder, like a tiled archive
        subfolder.mkdir(parents=True, exist_ok=True)
        pixels = np.random.default_rng(i).integers(0, 256, (32, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(subfolder / f"{i:06d}.png")


def timed(label: str, files: int, run) -> None:
    started = time.perf_counter()
    report = run()
    seconds = time.perf_counter() - started
    print(f"{label:<34} {seconds:8.2f} s  {files / seconds:9.0f} files/s  "
          f"added={report.added} unchanged={report.unchanged} replaced={report.replaced} pruned={report.pruned}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--model", help="checkpoint folder (default: a tiny random SigLIP)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from encoder import load_encoder
    from encoder.tiny_checkpoint import build_tiny_siglip
    from indexer import IndexRun
    from service.searcher import model_identity
    from storage import Store

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        model = args.model or str(build_tiny_siglip(root / "tiny", hidden_size=64, image_size=32, patch_size=8))
        encoder = load_encoder(model)
        folder = root / "scenes"
        write_files(folder, args.files)

        def run(**options):
            with Store(root / "data", writable=True) as store:
                store.bind_model(model_identity(encoder))
                return IndexRun(store, encoder, progress=False, batch_size=32, **options).run([folder])

        n = args.files
        print(f"{n} PNG files of 32x32 px, model {model_identity(encoder).model_id} ({encoder.spec.dimension}-d)")
        timed("first run (embed everything)", n, run)
        timed("re-run, nothing changed", n, run)
        timed("re-run --rehash (read + hash all)", n, lambda: run(rehash=True))
        changed = sorted(folder.rglob("*.png"))[:: 100]
        for i, path in enumerate(changed):
            Image.fromarray(np.full((32, 32, 3), i % 256, dtype=np.uint8)).save(path)
            os.utime(path, (2e9, 2e9))
        timed(f"re-run, {len(changed)} changed", n, run)
        for path in sorted(folder.rglob("*.png"))[1::100]:
            path.unlink()
        timed("re-run --prune, 1% deleted", n, lambda: run(prune=True))


if __name__ == "__main__":
    main()
