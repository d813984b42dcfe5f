"""Find a checkpoint (local folder or Hugging Face id) and load it through the Auto classes.

Nothing here is specific to one checkpoint: the embedding dimension, the input size
and the text length are read from what the checkpoint ships.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_MODEL = "lcybuaa/Git-RSCLIP"

# Set in config.json by encoder.tiny_checkpoint, so every surface can warn that results are noise.
RANDOM_WEIGHTS_MARK = "rsclip_random_weights"

# Text towers that pool the last position (SigLIP) are only correct when every
# query is padded to the length the model was trained with.
_LAST_TOKEN_POOLING = {"siglip", "siglip2"}
_SUPPORTED = {"siglip", "siglip2", "clip"}

log = logging.getLogger(__name__)


class ModelNotFoundError(RuntimeError):
    """The model could not be loaded; the message says how to get it."""


@dataclass(frozen=True)
class ModelSpec:
    """What the rest of the system needs to know about a loaded checkpoint."""

    model_id: str  # as the user named it: a hub id or an absolute folder path
    family: str  # transformers model_type: "siglip" or "clip"
    dimension: int
    image_size: int
    text_max_length: int
    fingerprint: str  # identifies the weights, whatever name they were loaded under
    random_weights: bool = False  # a checkpoint built by encoder.tiny_checkpoint: rankings mean nothing

    @property
    def pads_text_to_max_length(self) -> bool:
        return self.family in _LAST_TOKEN_POOLING


def _not_found_message(model: str, reason: str) -> str:
    hub_id = model if _looks_like_hub_id(model) else DEFAULT_MODEL
    return (
        f"Model '{model}' could not be loaded ({reason}). Either pass a local checkpoint "
        f"folder with --model /path/to/folder (or RSCLIP_MODEL), or download it on a machine "
        f"with internet access, e.g. `hf download {hub_id} "
        f"--local-dir ./models/Git-RSCLIP`, and copy that folder here."
    )


def _looks_like_hub_id(model: str) -> bool:
    return not model.startswith((".", "/", "~")) and model.count("/") <= 1 and not Path(model).suffix


def resolve_model_source(model: str) -> tuple[str, bool]:
    """Return (what to pass to from_pretrained, whether it is a local folder)."""
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(_not_found_message(model, "the folder has no config.json"))
        return str(path.resolve()), True
    if not _looks_like_hub_id(model):
        raise ModelNotFoundError(_not_found_message(model, "no such folder"))
    return model, False


def quiet_transformers() -> None:
    """transformers and the hub log advice meant for model authors; users need only our errors."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)


def hub_reachable(timeout: float = 3.0) -> bool:
    """One quick TCP connect, so a machine without internet fails in seconds, not after retries."""
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _from_pretrained(loader, source: str, local: bool):
    """Try the local folder or cache first, then the hub only if it can be reached."""
    try:
        return loader.from_pretrained(source, local_files_only=True)
    except OSError:
        if local or not hub_reachable():
            raise
    return loader.from_pretrained(source)


def _text_max_length(tokenizer, config) -> int:
    positions = getattr(config.text_config, "max_position_embeddings", None)
    declared = getattr(tokenizer, "model_max_length", None)
    if declared is not None and declared < 100_000:
        return min(declared, positions) if positions else declared
    if positions:
        return positions
    raise ModelNotFoundError("The checkpoint declares no text length (model_max_length or max_position_embeddings).")


def _embedding_dimension(config) -> int:
    if config.model_type == "clip":
        return int(config.projection_dim)
    text_dim = getattr(config.text_config, "projection_size", None) or config.text_config.hidden_size
    if text_dim != config.vision_config.hidden_size:
        raise ModelNotFoundError(
            f"Text ({text_dim}) and image ({config.vision_config.hidden_size}) embeddings differ in size."
        )
    return int(text_dim)


def weights_fingerprint(model) -> str:
    """A short hash of a sample of the weights: same weights, same fingerprint, under any name."""
    digest = hashlib.sha256()
    params = list(model.state_dict().items())
    for name, tensor in params[:3] + params[-3:]:
        digest.update(name.encode())
        digest.update(tensor.detach().flatten()[:4096].float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def load_preprocessor(model: str):
    """Only the image preprocessing of ``model`` (no weights): a picture -> the model's
    (3, H, W) input, as :meth:`encoder.Encoder.preprocess` makes it."""
    from functools import partial

    from transformers import AutoProcessor

    from encoder.encoder import preprocess_image

    quiet_transformers()
    source, local = resolve_model_source(model)
    try:
        processor = _from_pretrained(AutoProcessor, source, local)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(_not_found_message(model, str(exc).strip().splitlines()[0][:200])) from None
    return partial(preprocess_image, processor.image_processor)


def load_encoder(model: str = DEFAULT_MODEL, *, device: str = "cpu", precision: str = "fp32", runtime=None):
    """Load ``model`` (hub id or folder) and wrap it in an :class:`Encoder`.

    ``runtime`` (an :class:`encoder.runtime.Runtime`, e.g. from ``choose_runtime()``)
    replaces ``device`` and ``precision`` and sets the model's thread count; without it
    the model runs in fp32 on the CPU, the reference every fast path is checked against.

    Raises :class:`ModelNotFoundError` with a one-sentence remedy for anything that
    prevents loading; never a raw transformers traceback.
    """
    from transformers import AutoConfig, AutoModel, AutoProcessor

    from encoder.encoder import Encoder

    quiet_transformers()
    source, local = resolve_model_source(model)
    try:
        config = _from_pretrained(AutoConfig, source, local)
        if config.model_type not in _SUPPORTED:
            raise ModelNotFoundError(
                f"Model '{model}' is a '{config.model_type}' checkpoint; rsclip-search needs a "
                f"SigLIP or CLIP image-text model such as {DEFAULT_MODEL}."
            )
        processor = _from_pretrained(AutoProcessor, source, local)
        torch_model = _from_pretrained(AutoModel, source, local)
    except ModelNotFoundError:
        raise
    except (OSError, ValueError, EnvironmentError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelNotFoundError(_not_found_message(model, first_line[:200])) from None

    spec = ModelSpec(
        model_id=source if local else model,
        family=config.model_type,
        dimension=_embedding_dimension(config),
        image_size=int(config.vision_config.image_size),
        text_max_length=_text_max_length(processor.tokenizer, config),
        fingerprint=weights_fingerprint(torch_model),
        random_weights=bool(getattr(config, RANDOM_WEIGHTS_MARK, False)),
    )
    log.info("loaded %s (%s, %d-d, %d px)", spec.model_id, spec.family, spec.dimension, spec.image_size)
    compile_batch, compile_after = None, 0
    if runtime is not None:
        from encoder.runtime import apply_threads

        apply_threads(runtime)
        device, precision = runtime.device, runtime.precision
        compile_batch = runtime.batch_size if runtime.compile else None
        compile_after = runtime.compile_after
    return Encoder(
        torch_model, processor, spec, device=device, precision=precision, compile_batch=compile_batch,
        compile_after=compile_after,
    )
