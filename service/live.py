"""Serve what is in service now: pick up other processes' changes without a restart.

A long-running reader (``rsclip serve``) answers queries with a :class:`Searcher` over
one :class:`Store`. Meanwhile ``rsclip index`` in another process saves new vectors
(bumping the active generation's ``index_version``), and ``rsclip reindex`` switches
to a new generation, maybe of another model. :class:`LiveSearcher` notices with one
small query at most every ``check_interval`` seconds, opens a fresh Store (and loads
the new model if it changed) beside the one in service, and swaps it in with a single
assignment. Requests already running finish on the one they started with; a reload
that fails leaves the old one serving and is tried again at the next check. Only one
thread reloads at a time; the others never wait for it.

A writer commits every batch to the catalog before its next FAISS save, and one killed
by ``kill -9`` never saves again. So a check also asks whether the catalog holds images
newer than those the served Store reconciled; if so it reopens, and opening reconciles
(re-adds from the catalog what the FAISS file lacks): what was committed is searchable
within seconds, no restart, no index run needed. Such catch-up reopens are spaced so
that they take at most ``CATCH_UP_COST_SHARE`` of the time (a large index, a live writer).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from encoder import Encoder
from service.searcher import Searcher, model_identity
from storage import Store

log = logging.getLogger(__name__)

CATCH_UP_COST_SHARE = 0.10  # most of the time a reader may spend reopening for uncheckpointed items


class LiveSearcher:
    def __init__(
        self,
        open_store: Callable[[], Store],
        load_encoder: Callable[[str], Encoder],
        *,
        store: Store | None = None,
        encoder: Encoder | None = None,
        check_interval: float = 1.0,
    ):
        """``open_store`` opens a fresh read-only Store; ``store``/``encoder``: what to serve first
        (default: open one, and load the model it records)."""
        self._open_store = open_store
        self._load_encoder = load_encoder
        self.check_interval = check_interval
        store = store or open_store()
        try:
            if encoder is None and store.model is not None:
                encoder = load_encoder(store.model.model_id)
            self._searcher = Searcher(store, encoder)
        except BaseException:
            store.close()
            raise
        self._reload_lock = threading.Lock()
        self._next_check = time.monotonic() + check_interval
        self._next_catch_up = 0.0  # monotonic time before which a catch-up reopen is not due
        self._retired: list[Store] = []
        self.reloads = 0

    @property
    def store(self) -> Store:
        return self._searcher.store

    @property
    def encoder(self) -> Encoder:
        return self._searcher.encoder

    def current(self) -> Searcher:
        """The Searcher to answer this request with (checking for changes when one is due)."""
        if time.monotonic() >= self._next_check:
            self.refresh()
        return self._searcher

    def refresh(self) -> bool:
        """Reload if the index in service changed; True if a new one was swapped in."""
        if not self._reload_lock.acquire(blocking=False):
            return False  # another thread is reloading; keep serving the current one
        try:
            self._next_check = time.monotonic() + self.check_interval
            serving = self._searcher
            if not self._changed(serving.store):
                return False
            self._swap(serving)
            return True
        except Exception:
            log.exception("could not load the changed index; still serving the one loaded before")
            return False
        finally:
            self._reload_lock.release()

    def _changed(self, store: Store) -> bool:
        """A save or switch since ``store`` was opened, or (when one is due) images it lacks."""
        if store.current_version() != store.loaded_version:
            return True
        return time.monotonic() >= self._next_catch_up and store.catalog_ahead()

    def reload(self) -> Store:
        """Open the index again now, changed or not (an admin asked); errors reach the caller."""
        with self._reload_lock:
            self._next_check = time.monotonic() + self.check_interval
            self._swap(self._searcher)
        return self._searcher.store

    def _swap(self, serving: Searcher) -> None:
        started = time.monotonic()
        store = self._open_store()
        try:
            encoder = serving.encoder
            if store.model is not None and store.model.fingerprint != model_identity(encoder).fingerprint:
                log.warning("the index now uses %s; loading it", store.model.model_id)
                encoder = self._load_encoder(store.model.model_id)
            searcher = Searcher(store, encoder)
        except BaseException:
            store.close()
            raise
        self._searcher = searcher  # one assignment: a request sees the old pair or the new one
        self.reloads += 1
        took = time.monotonic() - started
        self._next_catch_up = time.monotonic() + took / CATCH_UP_COST_SHARE
        log.info("now serving generation %s", store.loaded_version)
        # Close what was retired one reload ago; anything still using it has long finished.
        for old in self._retired:
            old.close()
        self._retired = [serving.store]

    def close(self) -> None:
        for store in [*self._retired, self._searcher.store]:
            store.close()
        self._retired = []
