"""Admin endpoints: only with the API key (RSCLIP_API_KEY), disabled without one."""

from __future__ import annotations

from fastapi import APIRouter

from search_api.access import AdminKey
from search_api.models import ErrorBody, Reloaded
from search_api.services import ServicesDep

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[AdminKey],
    responses={401: {"model": ErrorBody}, 403: {"model": ErrorBody}},
)


@router.post("/reload", response_model=Reloaded)
def reload_index(services: ServicesDep) -> Reloaded:
    """Serve what an indexer has added since the server started (the catalog and vectors, re-read)."""
    stats = services.reload().stats()
    return Reloaded(items=stats.items, vectors=stats.vectors, index_version=stats.index_version)
