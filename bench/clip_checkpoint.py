"""A random CLIP-ViT-L/14-shaped checkpoint (transformers ``CLIPModel``) that any CLIP tool loads.

Same shapes and FLOPs as openai/clip-vit-large-patch14 (24 image layers of width 1024,
patch 14 at 224 px: 257 tokens, about the SigLIP-L/16-256 cost per image), random
weights, and a minimal byte-level BPE tokenizer written here (no hub). Used by
``bench.peers`` so that rsclip and clip-retrieval embed with one set of weights.
"""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT_PATH = Path("/tmp/rsclip-bench/clip-vit-l14-random")


def _byte_symbols() -> list[str]:
    """GPT-2/CLIP's printable stand-in for each of the 256 bytes."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes, extra = printable[:], 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def _write_tokenizer_files(folder: Path) -> None:
    symbols = _byte_symbols()
    vocab = {symbol: i for i, symbol in enumerate(symbols)}
    vocab.update({symbol + "</w>": len(symbols) + i for i, symbol in enumerate(symbols)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")


def build_clip_l14(path: Path = DEFAULT_PATH, seed: int = 0) -> Path:
    """Write the checkpoint once (1.7 GB); return its folder."""
    if (path / "config.json").is_file():
        return path
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    path.mkdir(parents=True, exist_ok=True)
    print(f"building the CLIP-ViT-L/14-shaped random checkpoint in {path} (once)", flush=True)
    torch.manual_seed(seed)
    config = CLIPConfig(
        text_config=dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12,
                         max_position_embeddings=77, vocab_size=49408),
        vision_config=dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=24,
                           image_size=224, patch_size=14),
        projection_dim=768,
    )
    CLIPModel(config).eval().save_pretrained(path)
    _write_tokenizer_files(path)
    tokenizer = CLIPTokenizer(str(path / "vocab.json"), str(path / "merges.txt"))
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}, do_center_crop=True,
    )
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(path)
    return path
