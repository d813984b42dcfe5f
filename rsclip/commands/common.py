"""What the commands share: common flags, opening the store, loading the model."""

from __future__ import annotations

import argparse
import logging

from encoder.runtime import COMPILE_PAYBACK_IMAGES, PRECISIONS, Runtime
from service.settings import (
    COMPILE_CHOICES,
    ENV_BATCH_SIZE,
    ENV_COMPILE,
    ENV_DATA_DIR,
    ENV_DATABASE_URL,
    ENV_DEVICE,
    ENV_MEMORY_BUDGET,
    ENV_MODEL,
    ENV_PRECISION,
    Settings,
)
from storage import Store, StoreNotFoundError

log = logging.getLogger(__name__)

MODEL_FOR_INDEX = "Hugging Face id or local checkpoint folder; default: the index's model, else lcybuaa/Git-RSCLIP"
MODEL_FOR_QUERY = "model to encode queries; must be the one the index was built with (default: that one)"


def add_common(parser: argparse.ArgumentParser, *, model_help: str = MODEL_FOR_QUERY) -> None:
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"folder that holds the index (catalog, vectors); default ${ENV_DATA_DIR} or ./rsdata",
    )
    parser.add_argument("--model", metavar="ID_OR_FOLDER", help=model_help + f" (env ${ENV_MODEL})")
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help=f"SQLAlchemy URL of the catalog; default SQLite in the data directory (env ${ENV_DATABASE_URL})",
    )
    parser.add_argument(
        "--memory-budget",
        metavar="SIZE",
        help="RAM the vector index may take (e.g. 4G); it picks exact search, IVF,SQfp16 or IVF+PQ with exact "
        f"re-ranking to fit; default an eighth of this machine's RAM (env ${ENV_MEMORY_BUDGET})",
    )


def add_runtime(parser: argparse.ArgumentParser, *, batch_size: bool = True) -> None:
    """Flags that say how to run the model (without them: the settings' environment, else this machine's best)."""
    parser.add_argument(
        "--device", metavar="DEVICE", help=f"cpu, cuda or cuda:N; default: cuda when present, else cpu (env ${ENV_DEVICE})"
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="number format of the model; default: bf16 on CPUs with AMX/AVX512-BF16 and on GPUs that "
        "have it, fp16 on other GPUs, else fp32; int8 (CPU, opt-in): faster, check it first with "
        f"`rsclip eval fidelity` (env ${ENV_PRECISION})",
    )
    parser.add_argument(
        "--compile",
        choices=sorted(COMPILE_CHOICES),
        help="compile the image tower (TorchInductor; CPU bf16/fp32 +13-18%% images/s, a minute or so to "
        "compile the first time, kept on disk): auto (default) once a job has embedded "
        f"{COMPILE_PAYBACK_IMAGES} images, on from the first batch, or off (env ${ENV_COMPILE})",
    )
    if batch_size:
        parser.add_argument(
            "--batch-size",
            type=int,
            metavar="N",
            help=f"images per model call; default 8 on a CPU, 64 on a GPU (env ${ENV_BATCH_SIZE})",
        )


def add_pipeline_flags(parser: argparse.ArgumentParser) -> None:
    """Flags of the commands that read images through the indexer's pipeline (index, embed)."""
    add_runtime(parser)
    parser.add_argument("--workers", type=int, default=2, metavar="N", help="decode threads (2)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def settings_from(args) -> Settings:
    return Settings.from_env(
        args.data_dir,
        args.model,
        args.database_url,
        device=getattr(args, "device", None),
        precision=getattr(args, "precision", None),
        batch_size=getattr(args, "batch_size", None),
        memory_budget=getattr(args, "memory_budget", None),
        compile=getattr(args, "compile", None),
    )


def _require_index(settings: Settings) -> None:
    if not (settings.data_dir.is_dir() or settings.database_url):
        raise StoreNotFoundError(
            f"No index at {settings.data_dir}: run `rsclip index PATH --data-dir {settings.data_dir}` first."
        )


def open_existing(settings: Settings) -> Store:
    _require_index(settings)
    return Store(settings.data_dir, database_url=settings.database_url, index_policy=settings.index_policy())


def open_writable(settings: Settings, *, recover: bool = True, progress: bool = False) -> Store:
    """An existing index, with the directory's write lock (a second writer is refused)."""
    _require_index(settings)
    return Store(
        settings.data_dir,
        database_url=settings.database_url,
        writable=True,
        recover=recover,
        index_policy=settings.index_policy(),
        progress=progress,
    )


def load_model(model: str, runtime: Runtime):
    """Load ``model`` to run as ``runtime`` says (``Settings.runtime()``: flags, environment, else this machine)."""
    from encoder import load_encoder

    log.info("encoder runtime: %s", runtime.describe())
    return load_encoder(model, runtime=runtime)


