"""Names from archives and folders, made safe to store and to print.

A name inside an archive is only a label: nothing is ever extracted, so ``../x.png``
or ``/etc/x.png`` is indexed under exactly that text. What a label must not do is
break things when stored or shown: undecodable bytes (which SQLite cannot store),
control characters (which rewrite a terminal) and bidi overrides (which make
``gnp.exe`` read as ``exe.png``) are written as visible escapes instead.
"""

from __future__ import annotations

import unicodedata
import zipfile
from pathlib import PurePath, PurePosixPath

_SURROGATE_ESCAPES = range(0xDC80, 0xDD00)  # bytes Python could not decode (errors="surrogateescape")
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def safe_name(name: str) -> str:
    """``name`` with every undecodable byte and invisible control written as ``\\xNN``/``\\uNNNN``."""
    if name.isprintable():
        return name
    parts = []
    for char in name:
        code = ord(char)
        if code in _SURROGATE_ESCAPES:
            parts.append(f"\\x{code - 0xDC00:02x}")
        elif char in _BIDI_CONTROLS or unicodedata.category(char) in _ESCAPED_CATEGORIES:
            parts.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            parts.append(char)
    return "".join(parts)


def zip_member_name(info: zipfile.ZipInfo) -> str:
    """The member's name, reading UTF-8 even where the archiver forgot to set the UTF-8 flag.

    Without the flag, zipfile decodes as cp437, which never fails but turns every
    non-ASCII UTF-8 name into mojibake; most archivers today write UTF-8 regardless.
    """
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass  # really cp437 (or unknown): keep zipfile's reading, which is at least lossless
    return safe_name(name)


IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".jp2", ".img"})
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def is_image_name(name: str) -> bool:
    return PurePosixPath(name.lower()).suffix in IMAGE_SUFFIXES


def archive_kind(name: str | PurePath) -> str | None:
    """``"zip"``, ``"tar"`` or None, from the name alone."""
    lowered = PurePosixPath(str(name)).name.lower()
    if lowered.endswith(".zip"):
        return "zip"
    if lowered.endswith(_TAR_SUFFIXES):
        return "tar"
    return None


def location(source: str, member: str) -> str:
    """How people should see an item: ``archive.zip!inner/path.jpg`` or ``folder/path.jpg``."""
    if not member:
        return source
    separator = "!" if archive_kind(source) else "/"
    return f"{source.rstrip('/')}{separator}{member}"
