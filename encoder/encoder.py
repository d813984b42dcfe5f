"""Turn images and texts into L2-normalised vectors with a loaded checkpoint."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image

from encoder.loading import ModelSpec
from encoder.runtime import QUERY_COMPILED_PRECISIONS, CompiledForward

# The number format of the weights; int8 keeps fp32 activations between int8 matmuls.
_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16, "int8": torch.float32}


def quantized_int8(model):
    """Every ``nn.Linear`` (both towers: ~98% of the FLOPs) as a dynamically quantized int8 one.

    Weights int8 per output channel, activations quantized per call from their own range
    (so no calibration data), int32 accumulation (fbgemm: AVX2 or AVX512-VNNI). The patch
    convolution, layer norms, softmax and attention's matmuls of activations stay fp32.
    """
    import warnings

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():  # torch.ao's eager quantization warns that torchao will replace it
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)


def _normalise(vectors: torch.Tensor) -> np.ndarray:
    vectors = vectors.float()
    vectors = vectors / vectors.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return vectors.cpu().numpy().astype(np.float32, copy=False)


def _pooled(output) -> torch.Tensor:
    # transformers 5 returns an output object; older releases a bare tensor.
    return output.pooler_output if hasattr(output, "pooler_output") else output


def preprocess_image(image_processor, image: Image.Image) -> np.ndarray:
    """One RGB image -> the (3, H, W) float32 array ``image_processor`` makes: the model's input.

    A function of its own so that processes without the model (Ray tasks that decode
    for encoder actors elsewhere) prepare exactly the pixels the model would.
    """
    pixels = image_processor(images=[image.convert("RGB")], return_tensors="np")
    return np.asarray(pixels["pixel_values"][0], dtype=np.float32)


class Encoder:
    """A vision-language checkpoint behind a numpy interface.

    ``preprocess`` is pure CPU work and safe to call from decode worker threads;
    ``encode_pixels`` and ``encode_texts`` run the model, one call at a time, always on
    one thread the encoder keeps: concurrent callers share one set of weights without
    oversubscribing cores, and torch's OpenMP team is built once, not once for every
    thread that calls in (a web server runs each request on whichever pool thread is free).
    """

    def __init__(
        self,
        model,
        processor,
        spec: ModelSpec,
        *,
        device: str = "cpu",
        precision: str = "fp32",
        compile_batch: int | None = None,
        compile_after: int = 0,
    ):
        if precision not in _DTYPES:
            raise ValueError(f"precision must be one of {sorted(_DTYPES)}, not {precision!r}")
        self.spec = spec
        self.device = torch.device(device)
        self.precision = precision
        self._dtype = _DTYPES[precision]
        self._model = model.eval().to(self.device, dtype=self._dtype)
        if precision == "int8":
            if self.device.type != "cpu":
                raise ValueError("int8 runs on the CPU only; use bf16 or fp16 on a GPU")
            self._model = quantized_int8(self._model)
        self._processor = processor
        self._image_features = self._model.get_image_features
        if compile_batch:  # full batches of this size run compiled (see encoder.runtime)
            self._image_features = CompiledForward(
                self._model.get_image_features, compile_batch, plain_batches=-(-compile_after // compile_batch)
            )
        self._model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._logit_scale = float(model.logit_scale.detach().float().exp())
        bias = getattr(model, "logit_bias", None)
        self._logit_bias = None if bias is None else float(bias.detach().float())

    # -- images ---------------------------------------------------------------
    def preprocess(self, image: Image.Image) -> np.ndarray:
        """One RGB image -> the (3, H, W) float32 array the checkpoint's processor makes."""
        return preprocess_image(self._processor.image_processor, image)

    def encode_pixels(self, pixel_batch: np.ndarray) -> np.ndarray:
        """(n, 3, H, W) preprocessed pixels -> (n, dimension) unit vectors."""
        pixels = torch.from_numpy(np.ascontiguousarray(pixel_batch)).to(self.device, dtype=self._dtype)
        return self._on_model_thread(self._image_features, pixel_values=pixels)

    def prepare_for_queries(self) -> None:
        """For a server: compile the one-image path too (where compiling is on and pays at one
        image: ``QUERY_COMPILED_PRECISIONS``) and run each path once, so the first user's
        query does not pay for either."""
        if isinstance(self._image_features, CompiledForward) and self.precision in QUERY_COMPILED_PRECISIONS:
            self._image_features.batch_sizes.add(1)
            self._image_features.plain_batches = 0  # a server lives long: compile now
        size = self.spec.image_size
        self.encode_pixels(np.zeros((1, 3, size, size), dtype=np.float32))
        self.encode_texts(["warm-up"])

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.spec.dimension), dtype=np.float32)
        return self.encode_pixels(np.stack([self.preprocess(image) for image in images]))

    # -- texts ----------------------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Tokenise as the model was trained: SigLIP pads every text to its full length."""
        return self._processor.tokenizer(
            list(texts),
            padding="max_length",
            truncation=True,
            max_length=self.spec.text_max_length,
            return_tensors="pt",
        )

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.spec.dimension), dtype=np.float32)
        tokens = {name: value.to(self.device) for name, value in self.tokenize(texts).items()}
        return self._on_model_thread(self._model.get_text_features, **tokens)

    def _on_model_thread(self, forward, **inputs) -> np.ndarray:
        def run() -> np.ndarray:
            with torch.inference_mode():
                return _normalise(_pooled(forward(**inputs)))

        return self._model_thread.submit(run).result()

    # -- scores ---------------------------------------------------------------
    def probabilities(self, image_vectors: np.ndarray, text_vectors: np.ndarray) -> np.ndarray:
        """The model's own image-text probabilities, shape (images, texts).

        SigLIP: sigmoid(cos * exp(logit_scale) + logit_bias), independent per pair.
        CLIP has no bias and was trained with a softmax, so its texts compete.
        """
        logits = (image_vectors @ text_vectors.T) * self._logit_scale
        if self._logit_bias is not None:
            return 1.0 / (1.0 + np.exp(-(logits + self._logit_bias)))
        logits = logits - logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights / weights.sum(axis=1, keepdims=True)
