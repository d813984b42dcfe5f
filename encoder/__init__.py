"""Everything that knows the vision-language model: loading, preprocessing, embedding.

The rest of rsclip-search sees only :class:`Encoder` and the plain numpy arrays it
returns (L2-normalised float32 rows), never transformers objects.
"""

from encoder.encoder import Encoder
from encoder.loading import DEFAULT_MODEL, ModelNotFoundError, ModelSpec, load_encoder
from encoder.runtime import Runtime, choose_runtime

__all__ = ["DEFAULT_MODEL", "Encoder", "ModelNotFoundError", "ModelSpec", "Runtime", "choose_runtime", "load_encoder"]
