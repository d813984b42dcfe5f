"""The embedding map the web page shows: the one the user made, else a small one made here.

A user who ran ``rsclip plot --json-out DATA_DIR/embedding-map.json`` (their labels,
UMAP, more points) expects to see exactly that map. Without one, the page still
shows a map at once: the two principal axes (PCA) of at most ``COMPUTED_POINTS`` items
(a seeded sample), coloured by folder, made on first request and kept until the index
changes. t-SNE separates groups better but took ~20 s of CPU for 600 points on a
2-core machine (and ~40 s wall when it was shared): that is the CLI's job. A user file made with another
model is not shown (its points would be another space); the answer says why.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from service.errors import UserError
from storage import Store

log = logging.getLogger(__name__)

USER_MAP_NAME = "embedding-map.json"
COMPUTED_POINTS = 2000  # PCA of 2000 x 1024-d: well under a second
COMPUTED_THUMBNAILS = 24


def user_map_path(data_dir: Path) -> Path:
    return Path(data_dir) / USER_MAP_NAME


class EmbeddingMaps:
    """Hands out the map for the store in service; a computed one is kept per index version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # two first requests make one map, not two
        self._computed: tuple[tuple, dict] | None = None

    def get(self, store: Store) -> dict:
        user_map, why_not = self._user_map(store)
        if user_map is not None:
            return {**user_map, "origin": "file", "note": None}
        document = self._computed_map(store)
        return {**document, "origin": "computed", "note": why_not}

    def _user_map(self, store: Store) -> tuple[dict | None, str | None]:
        path = user_map_path(store.data_dir)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, None
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s: %s", path, exc)
            return None, f"{path.name} could not be read ({exc}); showing a map made here instead"
        made_with = (document.get("model") or {}).get("fingerprint")
        if store.model is None or made_with != store.model.fingerprint:
            return None, f"{path.name} was made with another model; showing a map made here instead"
        return document, None

    def _computed_map(self, store: Store) -> dict:
        from evaluation.embedding_map import build_map

        if store.model is None:
            raise UserError("the index is empty: nothing to map")
        key = (str(store.data_dir), store.model.fingerprint, store.stats().index_version)
        with self._lock:
            if self._computed is not None and self._computed[0] == key:
                return self._computed[1]
            embedding_map = build_map(
                store, method="pca", seed=0, max_points=COMPUTED_POINTS, color_by="folder", thumbnails=COMPUTED_THUMBNAILS
            )
            document = embedding_map.as_dict()
            self._computed = (key, document)
            return document
