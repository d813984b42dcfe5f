"""The query service: query -> encode -> search -> hydrate metadata.

Shared by the command line and the HTTP API so both answer the same way.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from encoder import Encoder
from service.query_cache import SHARED_TEXT_CACHE, TextVectorCache
from storage import IMAGE_QUERIES, TEXT_QUERIES, Hit, ImageRecord, ModelIdentity, ModelMismatchError, SearchFilters, Store


def model_identity(encoder: Encoder) -> ModelIdentity:
    spec = encoder.spec
    return ModelIdentity(model_id=spec.model_id, fingerprint=spec.fingerprint, dimension=spec.dimension)


class UnknownImageError(KeyError):
    """No indexed image has this id."""

    def __str__(self) -> str:
        return f"no indexed image has id {self.args[0]}"


class Searcher:
    """Answers text, image and more-like-this queries against one store."""

    def __init__(self, store: Store, encoder: Encoder, text_cache: TextVectorCache = SHARED_TEXT_CACHE):
        if store.model is None:
            raise ModelMismatchError(f"The index at {store.data_dir} is empty: run `rsclip index` first.")
        store.bind_model(model_identity(encoder))  # refuses a different model with a clear message
        self.store = store
        self.encoder = encoder
        self.text_cache = text_cache

    def search_text(self, query: str, k: int = 10, offset: int = 0, filters: SearchFilters | None = None) -> list[Hit]:
        return self.store.search(np.array(self.text_vector(query)[None, :]), k, offset, filters, TEXT_QUERIES)[0]

    def text_vector(self, query: str):
        """The query's vector, from the cache when this model has encoded the same text before."""
        return self.text_cache.vector(
            self.encoder.spec.fingerprint, query, lambda text: self.encoder.encode_texts([text])[0]
        )

    def search_image(
        self, image: Image.Image, k: int = 10, offset: int = 0, filters: SearchFilters | None = None
    ) -> list[Hit]:
        return self.store.search(self.encoder.encode_images([image]), k, offset, filters, IMAGE_QUERIES)[0]

    def search_similar(
        self, image_id: int, k: int = 10, offset: int = 0, filters: SearchFilters | None = None
    ) -> list[Hit]:
        """Images most like an indexed one, the image itself left out."""
        hits = self.store.search(self.indexed_vector(image_id), k + offset + 1, filters=filters, kind=IMAGE_QUERIES)[0]
        return [hit for hit in hits if hit.image.id != image_id][offset : offset + k]

    def image(self, image_id: int) -> ImageRecord:
        record = self.store.get(image_id)
        if record is None:
            raise UnknownImageError(image_id)
        return record

    def indexed_vector(self, image_id: int):
        """The stored vector of an indexed image: what the index itself compares."""
        vector = self.store.vector(image_id)
        if vector is None:
            raise UnknownImageError(image_id)
        return vector
