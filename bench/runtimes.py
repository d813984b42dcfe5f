"""``python -m bench.runtimes``: torch and ONNX Runtime, fp32 and int8, side by side on the same images.

Both towers of the SigLIP-L/16-256-shaped random checkpoint are exported with
``torch.onnx.export`` (cached beside the checkpoint) and quantized with ONNX Runtime's
dynamic int8 (per-channel weights, like torch's). Every variant runs the same
preprocessed real images, taking turns batch by batch (round robin) so that a busy
neighbour slows all alike; each reports its median images/s, the share of this CPU's
ceiling, the worst image cosine to torch fp32, and the share of top-10 neighbours kept
for image and text queries. Text queries: the median time of one query through the
text tower (what a search pays).

    .venv/bin/python -m bench.runtimes                    # ~10 min on 2 quiet cores, once exported
    .venv/bin/python -m bench.runtimes --no-onnx          # torch only
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

Runner = Callable[[np.ndarray], np.ndarray]


def _unit(rows) -> np.ndarray:
    rows = np.asarray(getattr(rows, "pooler_output", rows), dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True).clip(1e-12)


class _Tower(torch.nn.Module):
    """One tower as a plain module of tensors in, pooled features out (what ONNX exports)."""

    def __init__(self, model, kind: str):
        super().__init__()
        self.model, self.kind = model, kind

    def forward(self, inputs):
        if self.kind == "image":
            output = self.model.get_image_features(pixel_values=inputs)
        else:
            output = self.model.get_text_features(input_ids=inputs)
        return getattr(output, "pooler_output", output)


def export_onnx(model, kind: str, example: torch.Tensor, folder: Path) -> tuple[Path, Path]:
    """fp32 and int8 ONNX files of one tower, exported once into ``folder``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder.mkdir(parents=True, exist_ok=True)
    fp32, int8 = folder / f"{kind}-fp32.onnx", folder / f"{kind}-int8.onnx"
    if not fp32.is_file():
        started = time.perf_counter()
        torch.onnx.export(
            _Tower(model, kind), (example,), str(fp32), input_names=["inputs"], output_names=["features"],
            dynamic_axes={"inputs": {0: "batch"}, "features": {0: "batch"}}, opset_version=17, dynamo=False,
        )
        print(f"   exported the {kind} tower to ONNX in {time.perf_counter() - started:.0f} s", flush=True)
    if not int8.is_file():
        from encoder.runtime import cpu_flags

        # Without VNNI, ORT's u8 x s8 kernels (VPMADDUBSW) can saturate: 7-bit weights avoid it.
        vnni = bool({"avx512_vnni", "avx_vnni", "amx_int8"} & cpu_flags())
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True, reduce_range=not vnni)
    return fp32, int8


def ort_runner(path: Path, threads: int) -> Runner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda inputs: _unit(session.run(None, {"inputs": inputs})[0])


def torch_runners(model, kind: str) -> dict[str, Runner]:
    from encoder.encoder import quantized_int8

    int8 = quantized_int8(model)

    def run(chosen):
        def call(inputs):
            tensor = torch.from_numpy(inputs)
            with torch.inference_mode():
                return _unit(_Tower(chosen, kind)(tensor))

        return call

    return {"torch fp32": run(model), "torch int8 (dynamic, per-channel)": run(int8)}


def main(argv=None) -> int:
    from transformers import AutoModel

    from bench.common import large_checkpoint, load_average
    from bench.hardware import measure_hardware
    from bench.images import prepare_images
    from encoder import load_encoder
    from encoder.loading import quiet_transformers
    from evaluation.fidelity import neighbour_overlap, row_cosines
    from indexer.decode import decode_image
    from indexer.probes import PROBE_QUERIES

    parser = argparse.ArgumentParser(prog="python -m bench.runtimes", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=32, help="real images per round (32)")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds of every variant (2)")
    parser.add_argument("--batch", type=int, default=8, help="images per call (8)")
    parser.add_argument("--no-onnx", action="store_true", help="torch only")
    args = parser.parse_args(argv)

    quiet_transformers()
    hardware = measure_hardware()
    print(hardware.describe(), flush=True)
    checkpoint = large_checkpoint()
    encoder = load_encoder(str(checkpoint))  # its preprocess and tokenizer are the checkpoint's own
    with tempfile.TemporaryDirectory() as folder:
        paths, origin = prepare_images(Path(folder), args.images)
        pixels = np.stack([encoder.preprocess(decode_image(p.read_bytes()).image) for p in paths])
    tokens = encoder.tokenize(list(PROBE_QUERIES))["input_ids"].numpy()
    del encoder
    print(f"{len(paths)} images from {origin}; {load_average()}", flush=True)
    model = AutoModel.from_pretrained(checkpoint).eval()
    variants = {kind: torch_runners(model, kind) for kind in ("image", "text")}
    if not args.no_onnx:
        threads = torch.get_num_threads()
        for kind, example in (("image", torch.from_numpy(pixels[:1])), ("text", torch.from_numpy(tokens[:1]))):
            fp32, int8 = export_onnx(model, kind, example, checkpoint.parent / "onnx")
            variants[kind]["onnxruntime fp32"] = ort_runner(fp32, threads)
            variants[kind]["onnxruntime int8 (dynamic, per-channel)"] = ort_runner(int8, threads)
    batches = [pixels[i : i + args.batch] for i in range(0, len(pixels), args.batch)]
    image_rates = {name: [] for name in variants["image"]}
    text_ms = {name: [] for name in variants["text"]}
    vectors: dict[str, np.ndarray] = {}
    texts: dict[str, np.ndarray] = {}
    for number in range(args.rounds + 1):  # round 0 warms up and keeps the vectors for fidelity
        for name, run in variants["image"].items():
            started = time.perf_counter()
            out = np.concatenate([run(batch) for batch in batches])
            image_rates[name].append(len(pixels) / (time.perf_counter() - started))
            vectors.setdefault(name, out)
        for name, run in variants["text"].items():
            if number == 0:
                texts[name] = np.concatenate([run(tokens[i : i + 1]) for i in range(len(tokens))])
            else:
                for i in range(4):
                    started = time.perf_counter()
                    run(tokens[i : i + 1])
                    text_ms[name].append((time.perf_counter() - started) * 1000)
        print(f"round {number} done; {load_average()}", flush=True)
    reference, reference_text = vectors["torch fp32"], texts["torch fp32"]
    baseline = statistics.median(image_rates["torch fp32"][1:])
    print(f"\n==== image tower, batch {args.batch}, {len(pixels)} real images, medians of {args.rounds} rounds  [{load_average()}]")
    print(f"   {hardware.describe()}")
    print(f"{'variant':<42}{'img/s':>7}{'vs fp32':>8}{'ceiling':>8}{'min cos':>9}{'img top10':>10}{'text top10':>11}{'text ms':>9}")
    for name in variants["image"]:
        rate = statistics.median(image_rates[name][1:])
        cos = row_cosines(reference, vectors[name]).min()
        image_kept = neighbour_overlap((reference, reference), (vectors[name], vectors[name]), exclude_self=True).mean()
        text_kept = neighbour_overlap((reference_text, reference), (texts[name], vectors[name])).mean()
        text_cos = row_cosines(reference_text, texts[name]).min()
        print(
            f"{name:<42}{rate:7.3f}{rate / baseline:7.2f}x{hardware.share_of_ceiling(rate):8.2f}{cos:9.5f}"
            f"{image_kept:10.3f}{text_kept:11.3f}{statistics.median(text_ms[name]):9.0f}   (text cos {text_cos:.5f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
