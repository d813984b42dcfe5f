"""Turn "the disk said no" into one clear :class:`StoreWriteError`, whatever layer said it.

A full disk shows up as ``OSError(ENOSPC)`` from a FAISS save, as SQLite's "database
or disk is full" from a commit, and a read-only directory as ``EROFS`` or "attempt to
write a readonly database". SQLite rolls the transaction back and FAISS files are
replaced atomically, so the index is as it was before the failed write; the user
needs to hear that, not a traceback.
"""

from __future__ import annotations

import errno
import functools
import os

from sqlalchemy.exc import OperationalError

from storage.errors import StoreWriteError

_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG})
_SQLITE_WRITE_FAILURES = (
    "disk is full",
    "readonly database",
    "disk i/o error",
    "unable to open database file",
)


def write_failure(exc: BaseException) -> str | None:
    """Why a write failed, in words, if ``exc`` is the storage refusing it; else None."""
    if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
        return exc.strerror or os.strerror(exc.errno)
    if isinstance(exc, OperationalError):
        message = str(exc.orig)
        if any(text in message.lower() for text in _SQLITE_WRITE_FAILURES):
            return message
    return None


def guard_writes(method):
    """Decorate a method of an object with ``data_dir`` whose writes may hit a full or read-only disk."""

    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except (OSError, OperationalError) as exc:
            why = write_failure(exc)
            if why is None:
                raise
            raise StoreWriteError(self.data_dir, why) from exc

    return guarded
