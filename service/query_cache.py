"""Text query vectors kept for reuse: the same text is never run through the text tower twice.

Paging ("More results" asks again with a larger offset), a query several users type,
a page reload: each would cost a full text-tower pass (about 100 ms for SigLIP-L on a
CPU) for a vector already computed. The key is the model's weight fingerprint with the
text, so a reload onto another model can never answer with the old model's vector;
the cache is bounded (least recently used out first) and safe to share between threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

DEFAULT_CAPACITY = 4096  # 4096 x 1024 float32 = 16 MiB at most


class TextVectorCache:
    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        if capacity < 0:
            raise ValueError(f"capacity must not be negative, not {capacity}")
        self.capacity = capacity
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._vectors)

    def vector(self, fingerprint: str, text: str, encode: Callable[[str], np.ndarray]) -> np.ndarray:
        """The vector of ``text`` under the model ``fingerprint``; ``encode(text)`` runs only on a miss.

        Two threads missing on the same text at once both encode it (rare, and cheaper
        than making every other query wait behind one lock for a model pass).
        """
        key = (fingerprint, text)
        with self._lock:
            vector = self._vectors.get(key)
            if vector is not None:
                self._vectors.move_to_end(key)
                self.hits += 1
                return vector
            self.misses += 1
        vector = np.asarray(encode(text), dtype=np.float32)
        vector.setflags(write=False)  # shared by every caller: nobody may change it in place
        with self._lock:
            if self.capacity:
                self._vectors[key] = vector
                self._vectors.move_to_end(key)
                while len(self._vectors) > self.capacity:
                    self._vectors.popitem(last=False)
        return vector


# One per process: every Searcher (and every reload of it) shares what was computed.
SHARED_TEXT_CACHE = TextVectorCache()
