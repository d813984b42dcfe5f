"""``python -m bench.encoder_variants``: what else could make the image tower faster, measured.

Every variant runs the SigLIP-L/16-256-shaped random checkpoint's image tower on the
same preprocessed real images; variants take turns batch by batch (round robin), so a
busy neighbour slows them alike, and each reports the median images/s over its rounds
and the worst cosine to the fp32 vectors of the same images. What rsclip uses is the
"bf16 weights" row at its default batch size; the rest are the alternatives tried.

    .venv/bin/python -m bench.encoder_variants                  # ~5 minutes on 2 cores
    .venv/bin/python -m bench.encoder_variants --compile        # adds torch.compile (+1-2 min to compile)
    .venv/bin/python -m bench.encoder_variants --fp32           # the fp32 alternatives (CPUs without bf16)
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch


def _unit(features) -> np.ndarray:
    if isinstance(features, dict):  # a traced model's output
        features = features["pooler_output"]
    elif isinstance(features, tuple):
        features = features[1]
    features = getattr(features, "pooler_output", features).float()
    return torch.nn.functional.normalize(features, dim=-1).numpy()


def build_variants(tower, batch: int, with_compile: bool) -> dict[str, tuple[int, Callable[[torch.Tensor], np.ndarray]]]:
    """name -> (batch size, pixels -> unit vectors). ``tower`` is the fp32 image tower."""
    bf16 = copy.deepcopy(tower).to(torch.bfloat16)

    def fp32(pixels):
        return _unit(tower(pixel_values=pixels))

    def bf16_weights(pixels):
        return _unit(bf16(pixel_values=pixels.to(torch.bfloat16)))

    def autocast(pixels):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return _unit(tower(pixel_values=pixels))

    def eager_attention(pixels):
        bf16.config._attn_implementation = "eager"
        try:
            return bf16_weights(pixels)
        finally:
            bf16.config._attn_implementation = "sdpa"

    channels_last = copy.deepcopy(bf16).to(memory_format=torch.channels_last)

    def bf16_channels_last(pixels):
        pixels = pixels.to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
        return _unit(channels_last(pixel_values=pixels))

    int8 = torch.ao.quantization.quantize_dynamic(copy.deepcopy(tower), {torch.nn.Linear}, dtype=torch.qint8)

    def int8_dynamic(pixels):
        return _unit(int8(pixel_values=pixels))

    variants = {
        "fp32, 1 image per call": (1, fp32),
        f"fp32, batch {batch}": (batch, fp32),
        "bf16 weights, batch 1": (1, bf16_weights),
        "bf16 weights, batch 4": (4, bf16_weights),
        f"bf16 weights, batch {batch} (rsclip)": (batch, bf16_weights),
        f"bf16 weights, batch {batch * 2}": (batch * 2, bf16_weights),
        f"bf16 autocast, fp32 weights, batch {batch}": (batch, autocast),
        f"bf16, eager attention (not SDPA), batch {batch}": (batch, eager_attention),
        f"bf16, channels-last, batch {batch}": (batch, bf16_channels_last),
        f"int8 dynamic quantization, batch {batch}": (batch, int8_dynamic),
    }
    if with_compile:
        started = time.perf_counter()
        compiled = torch.compile(bf16)
        with torch.inference_mode():
            compiled(pixel_values=torch.zeros(batch, 3, 256, 256, dtype=torch.bfloat16))
        print(f"torch.compile: {time.perf_counter() - started:.0f} s to compile", flush=True)

        def bf16_compiled(pixels):
            return _unit(compiled(pixel_values=pixels.to(torch.bfloat16)))

        variants[f"bf16 + torch.compile, batch {batch}"] = (batch, bf16_compiled)
    return variants


def fp32_variants(tower, batch: int) -> dict[str, tuple[int, Callable[[torch.Tensor], np.ndarray]]]:
    """The fp32 image tower run the ways a CPU without bf16 could run it (what rsclip uses there:
    plain SDPA, compiled with frozen weights once a job is past the payback)."""
    size = tower.config.image_size
    example = torch.zeros(batch, 3, size, size)

    def sdpa(pixels):
        return _unit(tower(pixel_values=pixels))

    def eager_attention(pixels):
        tower.config._attn_implementation = "eager"
        try:
            return _unit(tower(pixel_values=pixels))
        finally:
            tower.config._attn_implementation = "sdpa"

    with torch.inference_mode(False), torch.no_grad():  # TorchScript traces outside inference mode
        traced = torch.jit.trace(tower, example_kwarg_inputs={"pixel_values": example}, strict=False)
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))

    def jit_frozen(pixels):
        return _unit(frozen(pixel_values=pixels))

    started = time.perf_counter()
    compiled = torch.compile(tower, options={"freezing": True}, dynamic=False)
    with torch.inference_mode():
        compiled(pixel_values=example)
    print(f"torch.compile (frozen weights, fp32): {time.perf_counter() - started:.0f} s to compile", flush=True)

    def compiled_frozen(pixels):
        return _unit(compiled(pixel_values=pixels))

    return {
        f"fp32 SDPA, batch {batch} (plain rsclip)": (batch, sdpa),
        f"fp32 eager attention, batch {batch}": (batch, eager_attention),
        f"fp32 TorchScript trace+freeze+optimize, batch {batch}": (batch, jit_frozen),
        f"fp32 torch.compile frozen, batch {batch} (rsclip past payback)": (batch, compiled_frozen),
        f"fp32 SDPA, batch {batch * 2}": (batch * 2, sdpa),
    }


def main(argv=None) -> int:
    from transformers import AutoModel

    from bench.common import large_checkpoint, load_average
    from bench.hardware import measure_hardware
    from bench.images import prepare_images
    from encoder import load_encoder
    from encoder.loading import quiet_transformers
    from indexer.decode import decode_image

    parser = argparse.ArgumentParser(prog="python -m bench.encoder_variants", description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=16, help="images per variant per round (16)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every variant (3)")
    parser.add_argument("--batch", type=int, default=8, help="rsclip's batch size (8)")
    parser.add_argument("--compile", action="store_true", help="also try torch.compile")
    parser.add_argument("--fp32", action="store_true", help="the fp32 alternatives instead (CPUs without bf16)")
    args = parser.parse_args(argv)

    quiet_transformers()
    checkpoint = large_checkpoint()
    with tempfile.TemporaryDirectory() as folder:
        paths, origin = prepare_images(Path(folder), args.images)
        processor_encoder = load_encoder(str(checkpoint))  # its preprocess is the checkpoint's processor
        pixels = torch.from_numpy(
            np.stack([processor_encoder.preprocess(decode_image(p.read_bytes()).image) for p in paths])
        )
        del processor_encoder
    print(f"{len(paths)} images from {origin}; {load_average()}", flush=True)
    model = AutoModel.from_pretrained(checkpoint).eval()
    tower = model.vision_model
    del model.text_model
    with torch.inference_mode():
        reference = np.concatenate([_unit(tower(pixel_values=pixels[i : i + 8])) for i in range(0, len(pixels), 8)])
        variants = fp32_variants(tower, args.batch) if args.fp32 else build_variants(tower, args.batch, args.compile)
        hardware = measure_hardware()
        rates: dict[str, list[float]] = {name: [] for name in variants}
        cosines: dict[str, float] = {}
        for number in range(args.rounds + 1):  # round 0 warms up and checks fidelity
            for name, (batch, run) in variants.items():
                started = time.perf_counter()
                vectors = np.concatenate([run(pixels[i : i + batch]) for i in range(0, len(pixels), batch)])
                if number == 0:
                    cosines[name] = float((vectors * reference).sum(axis=1).min())
                else:
                    rates[name].append(len(pixels) / (time.perf_counter() - started))
            print(f"round {number} done; {load_average()}", flush=True)
    first = next(iter(variants))
    baseline = statistics.median(rates[first])
    print(f"\n{hardware.describe()}")
    print(f"{'variant':<64} {'img/s':>7} {'vs first':>9} {'of ceiling':>10} {'min cos':>9}")
    for name in variants:
        rate = statistics.median(rates[name])
        print(f"{name:<64} {rate:7.3f} {rate / baseline:8.2f}x {hardware.share_of_ceiling(rate):10.2f} {cosines[name]:9.5f}")
    print(f"[{load_average()}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
