"""Open the catalog: SQLite in the data directory (the default), or a PostgreSQL server.

PostgreSQL (``postgresql+psycopg://user@host/db``) lets several machines share one
catalog: replicas of the API read it, one indexer writes it (see ``write_lock``).

SQLite: open it so that a full or read-only disk still leaves the index searchable.

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
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import StaticPool

from storage.errors import StoreError, StoreWriteError
from storage.schema import ensure_schema
from storage.write_errors import write_failure

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite"


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{(Path(data_dir) / CATALOG_FILE).resolve()}"


def open_catalog(data_dir: Path, database_url: str | None, *, writable: bool) -> tuple[str, Engine]:
    """(url, engine) of the catalog, its schema created or migrated."""
    url = catalog_url(data_dir, database_url)
    engine = make_engine(url)
    try:
        ensure_schema(engine, data_dir)
        return url, engine
    except OperationalError as exc:
        engine.dispose()
        if engine.dialect.name != "sqlite":
            raise StoreError(f"Cannot open the catalog at {shown_url(url)}: {str(exc.orig).strip()}") from exc
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


def catalog_url(data_dir: Path, database_url: str | None) -> str:
    """The URL of the catalog: ``database_url`` if given, else SQLite in ``data_dir``."""
    return normalized_url(database_url or default_database_url(data_dir))


def normalized_url(url: str) -> str:
    """``url`` with PostgreSQL's driver named: plain ``postgresql://`` means psycopg 3 here
    (SQLAlchemy would pick psycopg2, which rsclip-search does not install)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"Not a database URL: {url!r} (e.g. postgresql+psycopg://user@host/db)") from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
        url = parsed.render_as_string(hide_password=False)
    if parsed.drivername == "postgresql+psycopg":
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise StoreError(
                "A PostgreSQL catalog needs the psycopg driver: pip install 'rsclip-search[postgres]'"
            ) from None
    return url


def shown_url(url: str) -> str:
    """``url`` fit to print: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str, *, wal: bool = True, exclusive: bool = False) -> Engine:
    if url.startswith("postgresql"):
        # pre-ping: a replica outlives server restarts and idle-connection timeouts
        return create_engine(url, pool_pre_ping=True)
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
