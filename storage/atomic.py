"""Write a file so that readers see the old or the new content, never a torn mix."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path


def new_file_mode() -> int:
    """The mode ``open()`` gives a new file under the process umask (0644 under umask 022).

    ``tempfile`` makes files 0600; a file meant for others that starts as one gets this.
    """
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: Path, payload: bytes | memoryview | Sequence) -> None:
    """Temp file in the same folder, fsync, rename over the target, fsync the folder.

    ``payload``: the bytes, or a sequence of parts (any buffers) written one after another,
    so a large file made of pieces is never joined into one more copy in memory."""
    path = Path(path)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            for part in [payload] if isinstance(payload, (bytes, bytearray, memoryview)) else payload:
                handle.write(part)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
