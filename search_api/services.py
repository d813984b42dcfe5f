"""The long-lived parts every request shares, built once at start-up, handed out by ``Depends``.

One read-only :class:`Store` (FAISS loaded once, SQLite opened per query) and one
:class:`Encoder` (its lock serialises model calls), so concurrent requests are safe
and nothing is loaded per request. Both sit in a :class:`~service.live.LiveSearcher`,
which swaps in the index (and model) another process put in service, between
requests, without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from encoder import Encoder
from evaluation.served_maps import EmbeddingMaps
from service.image_files import ThumbnailCache
from service.live import LiveSearcher
from service.searcher import Searcher
from search_api.settings import ApiSettings
from storage import Store, StoreNotFoundError


@dataclass
class Services:
    settings: ApiSettings
    live: LiveSearcher
    thumbnails: ThumbnailCache
    embedding_maps: EmbeddingMaps

    @property
    def searcher(self) -> Searcher:
        """What this request is answered with: the store and model in service now, as a pair."""
        return self.live.current()

    @property
    def store(self) -> Store:
        return self.searcher.store

    @property
    def encoder(self) -> Encoder:
        return self.searcher.encoder

    def close(self) -> None:
        self.live.close()

    def reload(self) -> Store:
        """Re-open the index now (``POST /admin/reload``), even between an indexer's checkpoints.

        Requests already running finish on the old store; see :meth:`LiveSearcher.reload`.
        """
        return self.live.reload()


def open_services(settings: ApiSettings, encoder: Encoder | None = None) -> Services:
    """Open the index and load its model; fails fast, before a port is bound, if either is missing."""

    def open_store() -> Store:
        return Store(settings.data_dir, database_url=settings.database_url, index_policy=settings.index_policy())

    from encoder import load_encoder

    def load_model(model: str) -> Encoder:
        loaded = load_encoder(model, runtime=settings.runtime)
        loaded.prepare_for_queries()  # compiles now (where compiling is on), not on the first query
        return loaded

    store = open_store()
    try:
        if store.model is None:
            raise StoreNotFoundError(
                f"The index at {settings.data_dir} is empty: run `rsclip index PATH --data-dir {settings.data_dir}` first."
            )
        if encoder is None:
            encoder = load_model(settings.model or store.model.model_id)
        live = LiveSearcher(open_store, load_model, store=store, encoder=encoder, check_interval=settings.reload_seconds)
    except BaseException:
        store.close()
        raise
    return Services(settings, live, ThumbnailCache(settings.thumbnail_dir), EmbeddingMaps())


def _services(request: Request) -> Services:
    return request.app.state.services


def _searcher(request: Request) -> Searcher:
    return request.app.state.services.searcher  # one pair per request, even if a reload comes meanwhile


def _thumbnails(request: Request) -> ThumbnailCache:
    return request.app.state.services.thumbnails


def _embedding_maps(request: Request) -> EmbeddingMaps:
    return request.app.state.services.embedding_maps


def _settings(request: Request) -> ApiSettings:
    return request.app.state.services.settings


# What handlers declare to receive the shared parts: `searcher: SearcherDep`.
ServicesDep = Annotated[Services, Depends(_services)]
SearcherDep = Annotated[Searcher, Depends(_searcher)]
ThumbnailsDep = Annotated[ThumbnailCache, Depends(_thumbnails)]
SettingsDep = Annotated[ApiSettings, Depends(_settings)]
EmbeddingMapsDep = Annotated[EmbeddingMaps, Depends(_embedding_maps)]
