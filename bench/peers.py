"""``python -m bench.peers``: rsclip side by side with clip-retrieval (rom1504's LAION tool).

Both embed the same real images with one random CLIP-ViT-L/14-shaped checkpoint
(``bench.clip_checkpoint``; clip-retrieval loads it as ``hf_clip:FOLDER``), each as a
fresh process, taking turns (A B A B) so a busy neighbour slows both alike:

- whole job: wall time from start-up to the last vector written, at two job sizes;
- steady rate: the extra images of the larger job over its extra time (start-up cancels);
- peak memory of the tool's own process (``wait4``; clip-retrieval's decode workers
  are separate processes and not counted);
- the cosine between the two tools' vectors of each image.

Preprocessing is the same on both sides: clip-retrieval's ``hf_clip`` loader and rsclip
both use the checkpoint's ``CLIPImageProcessor`` (shortest side to 224 bicubic, centre
crop, CLIP mean/std). What differs is decoding: rsclip decodes with its own reader
(EXIF orientation, 16-bit and palette images made 8-bit RGB), clip-retrieval with
``PIL.Image.open(...).convert("RGB")``; on plain 8-bit RGB files both give the same pixels.

clip-retrieval lives in its own virtual environment (its pins do not fit rsclip's):

    .venv/bin/python -m bench.peers --install        # create /tmp/rsclip-bench/peers-venv (CPU torch first)
    .venv/bin/python -m bench.peers                  # 32 and 96 images, 2 rounds (~20 min on 2 cores)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.rsclip_runs import add_rsclip_args, child_env, extra_words, rsclip_command, rsclip_extra, warm_up

DEFAULT_VENV = Path("/tmp/rsclip-bench/peers-venv")
BATCH = 8
WORKERS = 2


def install(venv: Path, python: str = "python3.11") -> None:
    """clip-retrieval in its own venv, on CPU builds of this torch and its torchvision.

    torch and torchvision go in first, from PyTorch's CPU index, and are then held by
    constraints: left alone, the resolver takes PyPI's torchvision, a CUDA build that
    asks for a newer CUDA torch (gigabytes of libraries) or, held to the CPU torch,
    fails at import ("operator torchvision::nms does not exist"). clip-anytorch still
    imports ``pkg_resources``, gone from setuptools 81: held below it.
    """
    import torch

    version = torch.__version__.split("+")[0]
    vision = {"2.13": "0.28", "2.14": "0.29"}.get(version.rsplit(".", 1)[0])
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install"]
    pinned = [f"torch=={version}"] + ([f"torchvision=={vision}.*"] if vision else ["torchvision"])
    subprocess.run([*pip, *pinned, "--extra-index-url", "https://download.pytorch.org/whl/cpu"], check=True)
    check = [str(venv / "bin" / "python"), "-c", "import torch, torchvision; print(torch.__version__, torchvision.__version__)"]
    if subprocess.run(check, capture_output=True).returncode != 0:
        # No PyTorch CPU index (an offline mirror): the registry's torchvision is a CUDA build that
        # needs its own torch. Take the registry's newest matching pair (it runs on the CPU); its
        # torch version can then differ from rsclip's, and the bench prints both.
        print("torchvision does not import beside this torch (no CPU index?): taking the registry's pair", file=sys.stderr)
        subprocess.run([*pip, "--upgrade", "torch", "torchvision"], check=True)
    held = subprocess.run(check, check=True, capture_output=True, text=True).stdout.split()
    constraints = venv / "constraints.txt"
    # Without the local label (+cpu, +cu130): "==2.14.1" admits the installed build and stays
    # compatible with a registry cap such as "torch<=2.14.1", which "==2.14.1+cu130" is not.
    release = [version.split("+")[0] for version in held]
    constraints.write_text(f"torch=={release[0]}\ntorchvision=={release[1]}\nsetuptools<81\n")
    subprocess.run([*pip, "setuptools<81", "clip-retrieval", "-c", str(constraints)], check=True)


def _torch_version(python: Path) -> str:
    """The torch a tool runs on (the peer's venv can hold another release: see ``install``)."""
    return subprocess.run([str(python), "-c", "import torch; print(torch.__version__)"],
                          capture_output=True, text=True).stdout.strip() or "unknown"


def clip_retrieval_command(venv: Path, checkpoint: Path, folder: Path, out: Path) -> list[str]:
    return [
        str(venv / "bin" / "clip-retrieval"), "inference",
        "--input_dataset", str(folder), "--output_folder", str(out), "--input_format", "files",
        "--clip_model", f"hf_clip:{checkpoint}", "--enable_text", "False", "--enable_metadata", "False",
        "--batch_size", str(BATCH), "--num_prepro_workers", str(WORKERS), "--use_jit", "False",
    ]


def clip_retrieval_vectors(venv: Path, out: Path) -> dict[str, np.ndarray]:
    """file name -> vector, read with the peer's own pandas (its metadata is parquet)."""
    script = (
        "import json, sys, pandas as pd, glob; "
        "frames = [pd.read_parquet(p) for p in sorted(glob.glob(sys.argv[1] + '/metadata/*.parquet'))]; "
        "print(json.dumps([p for f in frames for p in f['image_path']]))"
    )
    names = json.loads(subprocess.run(
        [str(venv / "bin" / "python"), "-c", script, str(out)], check=True, capture_output=True, text=True
    ).stdout)
    vectors = np.concatenate([np.load(p) for p in sorted((out / "img_emb").glob("*.npy"))])
    return {Path(name).name: vector / np.linalg.norm(vector) for name, vector in zip(names, vectors)}


def rsclip_vectors(data_dir: Path) -> dict[str, np.ndarray]:
    from storage import Store

    with Store(data_dir) as store:
        ids, vectors = zip(*store.iter_vectors()) if store.count() else ((), ())
        ids, vectors = np.concatenate(ids), np.concatenate(vectors)
        records = store.get_many(ids.tolist())
    return {Path(records[int(i)].member).name: vector for i, vector in zip(ids, vectors)}


def time_both(venv: Path, checkpoint: Path, folder: Path, rounds: int, workdir: Path, extra: tuple[str, ...] = ()):
    from bench.common import run_child

    env = child_env()
    runs: dict[str, list] = {"rsclip": [], "clip-retrieval": []}
    for number in range(rounds):
        data_dir, out = workdir / f"rsclip-{number}", workdir / f"clip-retrieval-{number}"
        runs["rsclip"].append(run_child(
            rsclip_command(checkpoint, folder, data_dir, "--batch-size", str(BATCH), "--workers", str(WORKERS), *extra), env
        ))
        runs["clip-retrieval"].append(run_child(clip_retrieval_command(venv, checkpoint, folder, out)))
        print(
            f"   round {number + 1}: rsclip {runs['rsclip'][-1].seconds:6.1f} s, "
            f"clip-retrieval {runs['clip-retrieval'][-1].seconds:6.1f} s",
            flush=True,
        )
    ours, theirs = rsclip_vectors(workdir / "rsclip-0"), clip_retrieval_vectors(venv, workdir / "clip-retrieval-0")
    expected = sum(1 for _ in folder.iterdir())
    print(f"   vectors written: rsclip {len(ours)}, clip-retrieval {len(theirs)}, of {expected} images", flush=True)
    if not len(ours) == len(theirs) == expected:
        raise SystemExit("the tools did not embed the same images: their times are not comparable")
    cosines = np.array([float(ours[name] @ theirs[name]) for name in sorted(ours)])
    return runs, cosines


def main(argv=None) -> int:
    from bench.clip_checkpoint import build_clip_l14
    from bench.common import load_average, section, steady_rate
    from bench.hardware import measure_hardware
    from bench.images import prepare_images

    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.split("\n\n")[0])
    parser.add_argument("--install", action="store_true", help="create the peers' virtual environment first")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help=f"clip-retrieval's venv ({DEFAULT_VENV})")
    parser.add_argument("--sizes", type=int, nargs=2, default=[32, 96], metavar=("SMALL", "LARGE"), help="images per job (32 96)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each tool per size, alternated (2)")
    add_rsclip_args(parser, 'e.g. "--compile on" (after one untimed warm-up run that fills its caches)')
    args = parser.parse_args(argv)
    extra = rsclip_extra(args)

    if args.install:
        install(args.venv)
    if not (args.venv / "bin" / "clip-retrieval").is_file():
        print(f"no clip-retrieval in {args.venv}: run with --install first", file=sys.stderr)
        return 2
    hardware = measure_hardware()
    print(hardware.describe(), flush=True)
    print(f"   torch: rsclip {_torch_version(Path(sys.executable))}, clip-retrieval {_torch_version(args.venv / 'bin' / 'python')}")
    checkpoint = build_clip_l14()
    if extra:
        warm_up(checkpoint, min(args.sizes), extra)
    medians, memory, cosines = {}, {}, None
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="rsclip-peers-") as workdir:
            folder = Path(workdir) / "images"
            # PNG for the TIFF samples: clip-retrieval's folder reader takes only JPEG, PNG and WebP
            # and would skip them silently, embedding fewer images than rsclip.
            _, origin = prepare_images(folder, size, lossless_suffix=".png")
            section(f"{size} images from {origin}, batch {BATCH}, {WORKERS} decode workers, fp32 both")
            runs, size_cosines = time_both(args.venv, checkpoint, folder, args.rounds, Path(workdir), extra)
        cosines = size_cosines if cosines is None else np.concatenate([cosines, size_cosines])
        for tool, kept in runs.items():
            medians[tool, size] = statistics.median(run.seconds for run in kept)
            memory[tool] = max(memory.get(tool, 0.0), *(run.peak_rss_mb for run in kept))
    small, large = args.sizes
    print(f"\n==== rsclip vs clip-retrieval, medians of {args.rounds} alternated runs{extra_words(extra)}  "
          f"[{load_average()}]")
    print(f"   {hardware.describe()}")
    steady = {}
    for tool in ("rsclip", "clip-retrieval"):
        steady[tool] = steady_rate(small, large, medians[tool, small], medians[tool, large])
        print(
            f"   {tool:<15}: whole job {small} images {medians[tool, small]:6.1f} s, {large} images "
            f"{medians[tool, large]:6.1f} s; steady {steady[tool]:.3f} img/s "
            f"({hardware.share_of_ceiling(steady[tool]):.2f} of the ceiling); peak memory {memory[tool]:.0f} MB"
        )
    print(
        f"   rsclip faster by: whole {large}-image job {medians['clip-retrieval', large] / medians['rsclip', large]:.2f}x, "
        f"steady {steady['rsclip'] / steady['clip-retrieval']:.2f}x"
    )
    print(
        f"   cosine between the tools' vectors: min {cosines.min():.5f}, median {np.median(cosines):.5f} "
        f"({len(cosines)} images)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
