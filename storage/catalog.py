"""Open the SQLite catalog so that a full or read-only disk still leaves the index searchable.

SQLite in WAL mode needs a shared-memory file (``catalog.sqlite-shm``) beside the
database, created on open. On a full disk that file cannot be allocated and on a
read-only mount it cannot be created, so a plain open fails in both cases although
every byte of the index is there. Readers therefore fall back:

- read-only mount: open ``immutable`` (nothing can change the files, so nothing is
  missed; a WAL left behind would have let the plain open succeed);
- full disk: open one connection in exclusive locking mode, which keeps SQLite's
  WAL index in heap memory instead of the shared file.

A writer that cannot open the catalog gets :class:`StoreWriteError`, one clear line.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from storage.errors import StoreWriteError
from storage.schema import ensure_schema
from storage.write_errors import write_failure

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite"


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{(Path(data_dir) / CATALOG_FILE).resolve()}"


def open_catalog(data_dir: Path, database_url: str | None, *, writable: bool) -> tuple[str, Engine]:
    """(url, engine) of the catalog, its schema created or migrated."""
    url = database_url or default_database_url(data_dir)
    engine = make_engine(url)
    try:
        ensure_schema(engine, data_dir)
        return url, engine
    except OperationalError as exc:
        engine.dispose()
        why = write_failure(exc)
        if why is not None and writable:
            raise StoreWriteError(data_dir, why) from exc
        if why is None or database_url is not None:
            raise
    if _on_read_only_filesystem(data_dir):
        url = f"sqlite:///file:{(Path(data_dir) / CATALOG_FILE).resolve()}?mode=ro&immutable=1&uri=true"
        engine = make_engine(url, wal=False)
    else:
        log.warning("%s: cannot create SQLite's shared-memory file (disk full?); reading with one exclusive connection", data_dir)
        engine = make_engine(url, exclusive=True)
    ensure_schema(engine, data_dir)
    return url, engine


def make_engine(url: str, *, wal: bool = True, exclusive: bool = False) -> Engine:
    if exclusive:
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = create_engine(url)
    if engine.dialect.name == "sqlite" and wal:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            if exclusive:
                cursor.execute("PRAGMA locking_mode=EXCLUSIVE")  # before WAL: no shared-memory file
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the indexer
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    return engine


def _on_read_only_filesystem(data_dir: Path) -> bool:
    try:
        return bool(os.statvfs(data_dir).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False
