"""Builders of hostile inputs: every file here is real bytes on disk, made the way an attacker
or a broken archiver would make them. Used by the indexer, CLI and storage tests."""

from __future__ import annotations

import io
import os
import stat
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, TiffImagePlugin

from indexer.limits import FailureKind as K


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def noise(seed: int, size=(24, 20), mode="RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4}[mode]
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8), mode)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels and holds none: a decompression bomb's header."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def animated_gif(colours) -> bytes:
    frames = [Image.new("RGB", (20, 16), colour) for colour in colours]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def tiff_with_overview_first(overview: Image.Image, full: Image.Image) -> bytes:
    """A multi-page TIFF whose first page is flagged reduced-resolution (NewSubfileType=1)."""
    buffer = io.BytesIO()
    with TiffImagePlugin.AppendingTiffWriter(buffer, True) as writer:
        for image, tags in ((overview, {254: 1}), (full, {})):
            image.encoderinfo, image.encoderconfig = {"tiffinfo": tags}, ()
            TiffImagePlugin._save(image, writer, "pages.tif")
            writer.newFrame()
    return buffer.getvalue()


def sixteen_bit_png() -> bytes:
    ramp = np.linspace(0, 65535, 24 * 20).reshape(20, 24).astype(np.uint16)
    return encoded(Image.fromarray(ramp))


def float_tiff() -> bytes:
    reflectance = np.linspace(0.0, 0.4, 24 * 20, dtype=np.float32).reshape(20, 24)
    return encoded(Image.fromarray(reflectance, "F"), "TIFF")


def write_zip(path: Path, members: dict[str, bytes], *, compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def zip_symlink(path: Path, name: str, target: str, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name)
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, target)
        for member, data in (extra or {}).items():
            archive.writestr(member, data)
    return path


def patch_zip_name(path: Path, placeholder: str, raw: bytes) -> None:
    """Replace a member name's bytes in place (local header and central directory), leaving the
    UTF-8 flag unset: how archivers that predate the flag write non-ASCII names."""
    data = path.read_bytes()
    assert len(placeholder.encode()) == len(raw)
    path.write_bytes(data.replace(placeholder.encode(), raw))


def declare_zip_size(path: Path, member: str, declared: int) -> None:
    """Make the central directory claim ``declared`` uncompressed bytes for ``member`` (a lying header)."""
    with zipfile.ZipFile(path) as archive:
        start = archive.start_dir  # offset of the central directory
    data = bytearray(path.read_bytes())
    while data[start : start + 4] == b"PK\x01\x02":
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, start + 28)
        if bytes(data[start + 46 : start + 46 + name_length]).decode() == member:
            struct.pack_into("<I", data, start + 24, declared)
        start += 46 + name_length + extra_length + comment_length
    path.write_bytes(bytes(data))


def tar_add(archive: tarfile.TarFile, name: str, data: bytes = b"", **fields) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    archive.addfile(info, io.BytesIO(data) if data else None)


def snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple]:
    """Every entry under ``root`` (links and special files by lstat, never read): to prove nothing changed."""
    entries = {}
    for current, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(current) / name
            if skip is not None and (path == skip or skip in path.parents):
                continue
            status = path.lstat()
            content = path.read_bytes() if stat.S_ISREG(status.st_mode) else os.readlink(path) if path.is_symlink() else None
            entries[str(path.relative_to(root))] = (stat.S_IFMT(status.st_mode), status.st_size, status.st_mtime_ns, content)
    return entries


def build_hostile_corpus(root: Path):
    """Every hostile case of issue 6 in one folder and a few archives.

    Returns (inputs, expected_failures, expected_indexed): failures map
    (source, member) -> kind; indexed is the set of (source, member) that must be stored.
    Meant for a run with ``hostile_limits()``.
    """
    folder = root / "hostile"
    folder.mkdir(parents=True)
    src = str(folder)
    indexed: set[tuple[str, str]] = set()
    failures: dict[tuple[str, str], str] = {}

    def put(name: str, data: bytes, kind: str | None = None) -> None:
        path = folder / os.fsdecode(name) if isinstance(name, bytes) else folder / name
        path.write_bytes(data)
        (failures.__setitem__((src, name), kind) if kind else indexed.add((src, name)))

    # -- images that must decode ------------------------------------------------------------
    put("good.png", encoded(noise(1)))
    put("cmyk.jpg", encoded(noise(2).convert("CMYK"), "JPEG"))
    put("cmyk.tif", encoded(noise(3).convert("CMYK"), "TIFF"))
    put("deep16.png", sixteen_bit_png())
    put("palette.png", encoded(noise(4).convert("P"), transparency=0))
    put("alpha.png", encoded(noise(5, mode="RGBA")))
    put("animated.gif", animated_gif([(255, 0, 0), (0, 255, 0), (0, 0, 255)]))
    put("pages.tif", tiff_with_overview_first(noise(6, (8, 8)), noise(7, (40, 30))))
    put("float.tif", float_tiff())
    # -- images that must not -----------------------------------------------------------------
    put("zero.png", b"", K.EMPTY)
    whole = encoded(noise(8, (64, 64)))
    put("truncated.png", whole[: len(whole) // 2], K.CORRUPT_IMAGE)
    put("text.jpg", b"these are words, not pixels", K.NOT_AN_IMAGE)
    put("bomb.png", png_header_only(100_000, 100_000), K.TOO_MANY_PIXELS)
    put("big.tif", encoded(noise(9, (200, 200)), "TIFF"), K.TOO_LARGE)  # 120 KB > the 64 KB of hostile_limits()
    # -- names and file types ------------------------------------------------------------------
    (folder / os.fsdecode(b"caf\xe9.png")).write_bytes(encoded(noise(10)))  # not UTF-8
    indexed.add((src, "caf\\xe9.png"))
    (folder / "evil\x1b[31m.png").write_bytes(encoded(noise(11)))  # a terminal escape in the name
    indexed.add((src, "evil\\x1b[31m.png"))
    (folder / "devzero.png").symlink_to("/dev/zero")
    failures[(src, "devzero.png")] = K.SPECIAL_FILE
    (folder / "dangling.png").symlink_to(folder / "nowhere.png")
    failures[(src, "dangling.png")] = K.UNREADABLE
    os.mkfifo(folder / "fifo.png")
    failures[(src, "fifo.png")] = K.SPECIAL_FILE
    # Links are followed inside the folder that is indexed, never out of it.
    outside = root / "outside"
    outside.mkdir()
    (outside / "theirs.png").write_bytes(encoded(noise(12)))
    (folder / "out.png").symlink_to(outside / "theirs.png")
    failures[(src, "out.png")] = K.LINK
    (folder / "environ.png").symlink_to("/proc/self/environ")
    failures[(src, "environ.png")] = K.SPECIAL_FILE
    (folder / "sub").mkdir()
    (folder / "sub" / "mine.bin").write_bytes(encoded(noise(13)))  # no image name: only the link is walked
    (folder / "in.png").symlink_to(folder / "sub" / "mine.bin")
    indexed.add((src, "in.png"))

    archives = root / "archives"
    archives.mkdir()
    # Names are labels: "../" and absolute paths are indexed as written, never extracted.
    traversal = write_zip(
        archives / "traversal.zip",
        {"../../outside.png": encoded(noise(20)), "/abs/evil.png": encoded(noise(21)), "ok/inner.png": encoded(noise(22)),
         "ok/caf__.png": encoded(noise(23)), "ok/caf_.png": encoded(noise(24))},
    )
    patch_zip_name(traversal, "caf__.png", "café.png".encode())  # UTF-8 without the UTF-8 flag
    patch_zip_name(traversal, "caf_.png", b"caf\xe9.png")  # latin-1: read as cp437
    for member in ("../../outside.png", "/abs/evil.png", "ok/inner.png", "ok/café.png", "ok/cafΘ.png"):
        indexed.add((str(traversal), member))

    odd_zip = zip_symlink(archives / "odd.zip", "link.png", "/etc/passwd", {
        "inner.zip": (archives / "traversal.zip").read_bytes(),
        "flat.tif": bytes(48 << 10),  # 48 KiB of zeros: deflates ~500 times
        "fine.png": encoded(noise(25)),
        "declared.png": encoded(noise(26)),
    })
    declare_zip_size(odd_zip, "declared.png", 3 << 30)  # claims 3 GiB
    failures.update({(str(odd_zip), "link.png"): K.LINK, (str(odd_zip), "inner.zip"): K.NESTED_ARCHIVE,
                     (str(odd_zip), "flat.tif"): K.COMPRESSION_RATIO, (str(odd_zip), "declared.png"): K.TOO_LARGE})
    indexed.add((str(odd_zip), "fine.png"))

    links = archives / "links.tar"
    with tarfile.open(links, "w", encoding="utf-8", errors="surrogateescape") as archive:
        tar_add(archive, "real.png", encoded(noise(30)))
        tar_add(archive, "sym.png", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        tar_add(archive, "hard.png", type=tarfile.LNKTYPE, linkname="real.png")
        tar_add(archive, "tty.png", type=tarfile.CHRTYPE, devmajor=5, devminor=0)
        tar_add(archive, "disk.png", type=tarfile.BLKTYPE, devmajor=8, devminor=0)
        tar_add(archive, "pipe.png", type=tarfile.FIFOTYPE)
        tar_add(archive, "../escape.png", encoded(noise(31)))
        tar_add(archive, "/root/abs.png", encoded(noise(32)))
        tar_add(archive, "caf\udce9.png", encoded(noise(33)))  # raw byte 0xe9: not UTF-8
        tar_add(archive, "nested.tar.gz", b"\x1f\x8b not really")
    for member, kind in [("sym.png", K.LINK), ("hard.png", K.LINK), ("tty.png", K.SPECIAL_FILE),
                         ("disk.png", K.SPECIAL_FILE), ("pipe.png", K.SPECIAL_FILE), ("nested.tar.gz", K.NESTED_ARCHIVE)]:
        failures[(str(links), member)] = kind
    for member in ("real.png", "../escape.png", "/root/abs.png", "caf\\xe9.png"):
        indexed.add((str(links), member))

    truncated = archives / "truncated.tar.gz"
    with tarfile.open(truncated, "w:gz") as archive:
        for seed in range(3):
            tar_add(archive, f"t{seed}.png", encoded(noise(40 + seed, (64, 64))))
    data = truncated.read_bytes()
    truncated.write_bytes(data[: int(len(data) * 0.6)])
    failures[(str(truncated), "")] = K.CORRUPT_ARCHIVE
    indexed.update({(str(truncated), "t0.png")})  # the members before the cut (checked in the test)

    gzip_bomb = archives / "bomb.tar.gz"
    with tarfile.open(gzip_bomb, "w:gz") as archive:
        tar_add(archive, "zeros.bin", bytes(4 << 20))
        tar_add(archive, "after.png", encoded(noise(50)))
    failures[(str(gzip_bomb), "")] = K.COMPRESSION_RATIO

    crowded = archives / "crowded.tar"
    with tarfile.open(crowded, "w") as archive:
        for number in range(45):
            tar_add(archive, f"notes/{number}.txt", b"x")
        tar_add(archive, "late.png", encoded(noise(51)))
    failures[(str(crowded), "")] = K.ARCHIVE_LIMIT

    for name, data in [("corrupt.zip", b"PK\x03\x04" + b"\x00garbage" * 20), ("empty.zip", b""),
                       ("truncated.zip", write_zip(root / "whole.zip", {"a.png": encoded(noise(60))}).read_bytes()[:80])]:
        (archives / name).write_bytes(data)
        failures[(str(archives / name), "")] = K.CORRUPT_ARCHIVE
    (root / "whole.zip").unlink()
    return [folder, archives], failures, indexed


def hostile_limits():
    from indexer.limits import InputLimits

    return InputLimits(
        max_file_bytes=64 << 10, max_archive_bytes=8 << 20, max_members=40,
        max_compression_ratio=50, ratio_floor_bytes=16 << 10,
    )
