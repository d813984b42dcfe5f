"""The long-lived parts every request shares, built once at start-up, handed out by ``Depends``.

One read-only :class:`Store` (FAISS loaded once, SQLite opened per query) and one
:class:`Encoder` (its lock serialises model calls), so concurrent requests are safe
and nothing is loaded per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from encoder import Encoder
from rsclip.image_files import ThumbnailCache
from rsclip.searcher import Searcher
from search_api.settings import ApiSettings
from storage import Store, StoreNotFoundError


@dataclass
class Services:
    settings: ApiSettings
    store: Store
    encoder: Encoder
    searcher: Searcher
    thumbnails: ThumbnailCache

    def close(self) -> None:
        self.store.close()

    def reload(self) -> Store:
        """Re-open the index to serve what an indexer added since start-up (``POST /admin/reload``).

        The new store and searcher replace the old in one assignment each; requests
        already running finish on the old ones, which are then only closed, not torn down.
        """
        store = Store(self.settings.data_dir, database_url=self.settings.database_url)
        try:
            searcher = Searcher(store, self.encoder)
        except BaseException:
            store.close()
            raise
        old, self.store, self.searcher = self.store, store, searcher
        old.close()
        return store


def open_services(settings: ApiSettings, encoder: Encoder | None = None) -> Services:
    """Open the index and load its model; fails fast, before a port is bound, if either is missing."""
    store = Store(settings.data_dir, database_url=settings.database_url)
    try:
        if store.model is None:
            raise StoreNotFoundError(
                f"The index at {settings.data_dir} is empty: run `rsclip index PATH --data-dir {settings.data_dir}` first."
            )
        if encoder is None:
            from encoder import load_encoder

            encoder = load_encoder(settings.model or store.model.model_id)
        searcher = Searcher(store, encoder)
    except BaseException:
        store.close()
        raise
    return Services(settings, store, encoder, searcher, ThumbnailCache(settings.thumbnail_dir))


def _services(request: Request) -> Services:
    return request.app.state.services


def _searcher(request: Request) -> Searcher:
    return request.app.state.services.searcher


def _thumbnails(request: Request) -> ThumbnailCache:
    return request.app.state.services.thumbnails


def _settings(request: Request) -> ApiSettings:
    return request.app.state.services.settings


# What handlers declare to receive the shared parts: `searcher: SearcherDep`.
ServicesDep = Annotated[Services, Depends(_services)]
SearcherDep = Annotated[Searcher, Depends(_searcher)]
ThumbnailsDep = Annotated[ThumbnailCache, Depends(_thumbnails)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]
