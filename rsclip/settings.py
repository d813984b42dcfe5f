"""Where things live and which model to use, from flags first, then the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from encoder import DEFAULT_MODEL

ENV_DATA_DIR = "RSCLIP_DATA"
ENV_MODEL = "RSCLIP_MODEL"
ENV_DATABASE_URL = "RSCLIP_DATABASE_URL"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    model: str | None  # None: the model recorded in the index (or the default for a new one)
    database_url: str | None

    @classmethod
    def from_env(cls, data_dir: str | None = None, model: str | None = None, database_url: str | None = None):
        return cls(
            data_dir=Path(data_dir or os.environ.get(ENV_DATA_DIR) or "./rsdata").expanduser(),
            model=model or os.environ.get(ENV_MODEL) or None,
            database_url=database_url or os.environ.get(ENV_DATABASE_URL) or None,
        )

    def model_for_new_index(self) -> str:
        return self.model or DEFAULT_MODEL
