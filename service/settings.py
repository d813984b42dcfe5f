"""Where things live, which model to use and how to run it, from flags first, then the environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from encoder import DEFAULT_MODEL
from encoder.runtime import Runtime, choose_runtime
from service.errors import UserError

ENV_DATA_DIR = "RSCLIP_DATA"
ENV_MODEL = "RSCLIP_MODEL"
ENV_DATABASE_URL = "RSCLIP_DATABASE_URL"
ENV_DEVICE = "RSCLIP_DEVICE"
ENV_PRECISION = "RSCLIP_PRECISION"
ENV_BATCH_SIZE = "RSCLIP_BATCH_SIZE"
ENV_MEMORY_BUDGET = "RSCLIP_MEMORY_BUDGET"
ENV_COMPILE = "RSCLIP_COMPILE"
COMPILE_CHOICES = {"auto": None, "on": True, "off": False}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes from "4G", "512M", "3.5GiB" or a plain number of bytes (powers of 1024)."""
    match = _SIZE.match(str(text))
    if match is None:
        raise UserError(f"{text!r} is not a size: write e.g. 4G, 512M or a number of bytes")
    return int(float(match.group(1)) * 1024 ** "bkmgt".index((match.group(2) or "b").lower()))


def parse_compile(text: str | None) -> bool | None:
    """``--compile``/``$RSCLIP_COMPILE``: "on" (from the first batch), "off", "auto" or unset (None:
    compile once a job has shown it is large enough to pay back, see encoder.runtime)."""
    if not text:
        return None
    try:
        return COMPILE_CHOICES[text.strip().lower()]
    except KeyError:
        raise UserError(f"compile must be one of {', '.join(COMPILE_CHOICES)}, not {text!r}") from None


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise UserError(f"${name} must be a whole number, not {value!r}") from None


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    model: str | None  # None: the model recorded in the index (or the default for a new one)
    database_url: str | None
    # How to run the encoder; None: chosen for this machine by encoder.runtime.choose_runtime.
    device: str | None = None
    precision: str | None = None
    batch_size: int | None = None
    memory_budget: int | None = None  # bytes the vector index may take in RAM; None: an eighth of RAM
    compile: bool | None = None  # compile the image tower: None decides by the job's size

    @classmethod
    def from_env(
        cls,
        data_dir: str | None = None,
        model: str | None = None,
        database_url: str | None = None,
        *,
        device: str | None = None,
        precision: str | None = None,
        batch_size: int | None = None,
        memory_budget: str | None = None,
        compile: str | None = None,
    ):
        budget = memory_budget or os.environ.get(ENV_MEMORY_BUDGET) or None
        return cls(
            data_dir=Path(data_dir or os.environ.get(ENV_DATA_DIR) or "./rsdata").expanduser(),
            model=model or os.environ.get(ENV_MODEL) or None,
            database_url=database_url or os.environ.get(ENV_DATABASE_URL) or None,
            device=device or os.environ.get(ENV_DEVICE) or None,
            precision=precision or os.environ.get(ENV_PRECISION) or None,
            batch_size=batch_size if batch_size is not None else _env_int(ENV_BATCH_SIZE),
            memory_budget=None if budget is None else parse_size(budget),
            compile=parse_compile(compile or os.environ.get(ENV_COMPILE)),
        )

    def index_policy(self):
        """Which vector index the store builds: by size and this memory budget (see storage.IndexPolicy)."""
        from storage import IndexPolicy

        return IndexPolicy(memory_budget=self.memory_budget)

    def model_for_new_index(self) -> str:
        return self.model or DEFAULT_MODEL

    def runtime(self) -> Runtime:
        """The encoder runtime every entry point uses (index, search, serve): the
        settings where given, the fastest choice for this machine otherwise."""
        try:
            return choose_runtime(self.device, self.precision, self.batch_size, compile=self.compile)
        except ValueError as exc:
            raise UserError(str(exc)) from None
