"""Is the service up, and what does its index hold."""

from __future__ import annotations

from fastapi import APIRouter

from search_api.models import Health, Stats
from search_api.services import SearcherDep

router = APIRouter(tags=["service"])


@router.get("/health", response_model=Health)
def health(searcher: SearcherDep) -> Health:
    return Health(items=searcher.store.count(), model=searcher.encoder.spec.model_id)


@router.get("/stats", response_model=Stats)
def stats(searcher: SearcherDep) -> Stats:
    """What is in service now: store and model come as one pair, even across a reload."""
    stats = searcher.store.stats()
    model = stats.model
    return Stats(
        items=stats.items,
        vectors=stats.vectors,
        sources=stats.sources,
        model=model and model.model_id,
        model_fingerprint=model and model.fingerprint,
        model_random_weights=searcher.encoder.spec.random_weights,
        dimension=model and model.dimension,
        index_type=stats.index_type,
        index_version=stats.index_version,
        disk_bytes=stats.disk_bytes,
    )
