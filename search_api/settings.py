"""What the API needs to know at start-up: where the index is, which model, the limits, who may do what."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from encoder.runtime import Runtime
from search_api.access import hosts_for_bind
from service.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_UPLOAD_PIXELS = 40_000_000  # a query photo; indexing allows more (--max-pixels)
THUMBNAIL_DIR = "thumbnails"

# Secrets come from the environment only: a command-line flag would show in `ps`.
ENV_API_KEY = "RSCLIP_API_KEY"
ENV_CORS_ORIGINS = "RSCLIP_CORS_ORIGINS"  # comma-separated; unset = no cross-origin access
ENV_ALLOWED_HOSTS = "RSCLIP_ALLOWED_HOSTS"  # comma-separated Host names to answer besides the bound ones


@dataclass(frozen=True)
class ApiSettings:
    data_dir: Path
    model: str | None = None  # None: the model the index was built with
    database_url: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_upload_pixels: int = DEFAULT_MAX_UPLOAD_PIXELS
    # Admission (search_api/admission.py): requests doing model or index work at once, how
    # many may wait for a turn, and for how long, before the answer is 503 + Retry-After.
    model_slots: int = 2
    queue_size: int = 32
    queue_seconds: float = 15.0
    # Access (search_api/access.py): the key for admin endpoints (None: they are disabled),
    # and the browser origins allowed to call the API (none by default).
    api_key: str | None = field(default=None, repr=False)
    cors_origins: tuple[str, ...] = ()
    # Host check (search_api/access.py): the address the server is bound to decides the Host
    # names it answers (loopback: 127.0.0.1, localhost, ::1); allowed_hosts adds more ("*": any).
    bind_host: str = DEFAULT_HOST
    allowed_hosts: tuple[str, ...] = ()
    reload_seconds: float = 1.0  # how often to look for an index another process changed
    runtime: Runtime | None = None  # how to run the model; None: fp32 on the CPU (the reference)
    memory_budget: int | None = None  # bytes the vector index may take in RAM; None: an eighth of RAM

    @classmethod
    def from_settings(cls, settings: Settings, **options) -> ApiSettings:
        options.setdefault("api_key", os.environ.get(ENV_API_KEY) or None)
        options.setdefault("cors_origins", _origins(os.environ.get(ENV_CORS_ORIGINS, "")))
        options.setdefault("allowed_hosts", _names(os.environ.get(ENV_ALLOWED_HOSTS, "")))
        options.setdefault("runtime", settings.runtime())  # as the CLI runs: flags, env, this machine
        options.setdefault("memory_budget", settings.memory_budget)  # --memory-budget / RSCLIP_MEMORY_BUDGET
        return cls(data_dir=settings.data_dir, model=settings.model, database_url=settings.database_url, **options)

    def index_policy(self):
        """Which vector index the store builds: by size and this memory budget (see storage.IndexPolicy)."""
        from storage import IndexPolicy

        return IndexPolicy(memory_budget=self.memory_budget)

    @property
    def answered_hosts(self) -> tuple[str, ...]:
        """Every Host name a request may carry; others get 400."""
        return hosts_for_bind(self.bind_host, self.allowed_hosts)

    @property
    def thumbnail_dir(self) -> Path:
        """Thumbnails are derived data of one index, so they live in its data directory."""
        return self.data_dir / THUMBNAIL_DIR


def _origins(text: str) -> tuple[str, ...]:
    return tuple(origin.strip().rstrip("/") for origin in text.split(",") if origin.strip())


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())
