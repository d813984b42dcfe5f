"""One writer at a time, per catalog: a lock file beside SQLite, an advisory lock in PostgreSQL.

SQLite's catalog lives in the data directory, so a lock file there is enough. A
PostgreSQL catalog is shared by processes on several machines, whose data directories
may be different mounts of one share (where file locks are not to be trusted): its
writer holds a session-level ``pg_try_advisory_lock`` on a connection of its own,
open for the writer's whole life. The server drops it when that connection ends,
so a writer that crashes (or whose machine dies) never leaves a stale lock.
The key is the catalog's schema, so catalogs in two schemas of one database are
independent.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from storage.errors import StoreError, StoreLockedError, StoreWriteError
from storage.write_errors import write_failure

LOCK_FILE = ".write.lock"
# First half of the advisory lock key: which application's lock this is (an arbitrary constant).
ADVISORY_LOCK_CLASS = 0x7273_636C  # "rscl"


class WriteLock:
    """Held from :func:`acquire` until :meth:`release`."""

    def __init__(self, release):
        self._release = release

    def release(self) -> None:
        if self._release is not None:
            self._release, release = None, self._release
            release()


def acquire(data_dir: Path, database_url: str) -> WriteLock:
    """Take the catalog's write lock now, or raise :class:`StoreLockedError`."""
    if database_url.startswith("postgresql"):
        return _advisory_lock(database_url)
    return _file_lock(data_dir)


def _refusal(where) -> StoreLockedError:
    return StoreLockedError(
        f"Another rsclip process is writing to {where}; wait for it to finish "
        f"(only one indexer may write to a data directory at a time)."
    )


def _file_lock(data_dir: Path) -> WriteLock:
    lock = FileLock(str(Path(data_dir) / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise _refusal(data_dir) from None
    except OSError as exc:
        raise StoreWriteError(data_dir, write_failure(exc) or str(exc)) from exc
    return WriteLock(lock.release)


def _advisory_lock(database_url: str) -> WriteLock:
    engine = create_engine(database_url, poolclass=NullPool)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        # autocommit: the lock belongs to the session, and no transaction stays open for hours
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except OperationalError as exc:
        engine.dispose()
        raise StoreError(f"Cannot reach the PostgreSQL catalog at {shown}: {str(exc.orig).strip()}") from exc
    if not _try_lock(connection):
        connection.close()
        engine.dispose()
        raise _refusal(f"the catalog {shown}")

    def release() -> None:
        try:
            connection.close()  # ending the session releases its advisory locks
        finally:
            engine.dispose()

    return WriteLock(release)


def _try_lock(connection: Connection) -> bool:
    key = func.hashtext(func.current_schema())
    return bool(connection.execute(select(func.pg_try_advisory_lock(ADVISORY_LOCK_CLASS, key))).scalar_one())
