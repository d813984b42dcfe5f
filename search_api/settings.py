"""What the API needs to know at start-up: where the index is, which model, the limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rsclip.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
THUMBNAIL_DIR = "thumbnails"


@dataclass(frozen=True)
class ApiSettings:
    data_dir: Path
    model: str | None = None  # None: the model the index was built with
    database_url: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES

    @classmethod
    def from_settings(cls, settings: Settings, **limits) -> ApiSettings:
        return cls(data_dir=settings.data_dir, model=settings.model, database_url=settings.database_url, **limits)

    @property
    def thumbnail_dir(self) -> Path:
        """Thumbnails are derived data of one index, so they live in its data directory."""
        return self.data_dir / THUMBNAIL_DIR
