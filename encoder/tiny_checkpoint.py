"""Build a tiny random SigLIP checkpoint that loads exactly like a real one.

Used by the tests and by ``rsclip demo`` on machines that cannot reach the model hub.
It has a real sentencepiece tokenizer and a SiglipImageProcessor, saved with
``save_pretrained``, so every loading and preprocessing path is the production one.
The weights are random: rankings it produces mean nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

_CORPUS = [
    "a river winding through farmland",
    "an airport with two runways and parked planes",
    "a dense residential area with many houses",
    "a forest next to a lake",
    "a harbor with many boats and piers",
    "green fields divided by roads",
    "a desert with sand dunes",
    "an industrial area with large buildings",
    "a baseball diamond near a parking lot",
    "snow covered mountains and glaciers",
    "a highway interchange with bridges",
    "the coast with beach and blue sea",
]


def _train_tokenizer(folder: Path, vocab_size: int) -> Path:
    import sentencepiece as spm

    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(_CORPUS * 4), encoding="utf-8")
    prefix = folder / "spiece"
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(prefix),
        vocab_size=vocab_size,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    corpus.unlink()
    return prefix.with_suffix(".model")


def build_tiny_siglip(
    out_dir: str | Path,
    *,
    hidden_size: int = 32,
    image_size: int = 32,
    patch_size: int = 8,
    text_length: int = 16,
    layers: int = 2,
    seed: int = 0,
    intermediate_size: int | None = None,
    heads: int | None = None,
) -> Path:
    """Write a random SigLIP checkpoint (model, tokenizer, processor) to ``out_dir``.

    ``intermediate_size`` (MLP width) defaults to twice ``hidden_size`` and ``heads`` to
    one per 16 channels: small and cheap for tests; the large shape passes SigLIP-L's own.
    """
    from encoder.loading import RANDOM_WEIGHTS_MARK, quiet_transformers

    quiet_transformers()  # before importing the classes: the import itself logs advice
    import torch
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipProcessor, SiglipTokenizer

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        tokenizer = SiglipTokenizer(
            vocab_file=str(_train_tokenizer(Path(scratch), vocab_size=120)),
            model_max_length=text_length,
        )
        heads = heads or max(1, hidden_size // 16)
        intermediate_size = intermediate_size or hidden_size * 2
        config = SiglipConfig(
            text_config=dict(
                vocab_size=len(tokenizer),
                hidden_size=hidden_size,
                intermediate_size=intermediate_size,
                num_hidden_layers=layers,
                num_attention_heads=heads,
                max_position_embeddings=text_length,
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
                bos_token_id=None,
            ),
            vision_config=dict(
                hidden_size=hidden_size,
                intermediate_size=intermediate_size,
                num_hidden_layers=layers,
                num_attention_heads=heads,
                image_size=image_size,
                patch_size=patch_size,
            ),
        )
        setattr(config, RANDOM_WEIGHTS_MARK, True)
        torch.manual_seed(seed)
        model = SiglipModel(config).eval()
        processor = SiglipProcessor(
            image_processor=SiglipImageProcessor(size={"height": image_size, "width": image_size}),
            tokenizer=tokenizer,
        )
        model.save_pretrained(out_dir)
        processor.save_pretrained(out_dir)
    return out_dir


def build_large_shaped_siglip(out_dir: str | Path, seed: int = 0) -> Path:
    """A random checkpoint with Git-RSCLIP's shape (SigLIP-L/16, 256 px, 1024-d) for benchmarks.

    Same compute per image as the real model (24 layers, 16 heads of 64, MLP 4096: about
    160 GFLOP per 256 px image); only the vocabulary is tiny.
    """
    return build_tiny_siglip(
        out_dir,
        hidden_size=1024,
        image_size=256,
        patch_size=16,
        text_length=64,
        layers=24,
        seed=seed,
        intermediate_size=4096,
        heads=16,
    )
