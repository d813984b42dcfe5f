"""The embedding map of the index, for the web page's "Map" tab."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from search_api.admission import ModelTurn
from search_api.models import ErrorBody
from search_api.services import EmbeddingMapsDep, SearcherDep

router = APIRouter(tags=["service"], responses={503: {"model": ErrorBody}})


@router.get("/embedding-map", dependencies=[ModelTurn])  # a first map reads every vector
def embedding_map(searcher: SearcherDep, maps: EmbeddingMapsDep) -> dict[str, Any]:
    """2-D map of the indexed vectors, as ``rsclip plot`` writes it as JSON.

    ``origin`` says where it comes from: ``file`` is the user's own
    ``DATA_DIR/embedding-map.json`` (made with ``rsclip plot --json-out``, same model);
    ``computed`` is a PCA of at most 2000 items (a seeded sample) coloured by folder, made here on
    first request and kept until the index changes. ``note`` says why a user file was
    not used. Points: ``id``, ``x``, ``y``, ``label``, ``source``, ``location``;
    ``thumbnails``: ids chosen to be shown as pictures.
    """
    return maps.get(searcher.store)
