"""Read the labelled data the benchmarks use: caption files and class-per-folder trees.

Two caption formats are in use for RSICD, RSITMD, UCM-captions and Sydney-captions:
- Karpathy JSON: ``{"dataset": ..., "images": [{"filename", "split", "sentences": [{"raw"}]}]}``
  (an optional ``filepath`` is a sub-folder of the images folder, as in COCO);
- line files, as in the AMFMN/GaLR repositories: ``test_caps.txt`` (one caption a line)
  beside ``test_filename.txt`` (one image a line, its captions consecutive in the
  caps file, or one image a line per caption).
Nothing here opens an image or a model.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from indexer.sources import SourceItem, iter_sources
from service.errors import UserError

ALL_SPLITS = "all"


@dataclass(frozen=True)
class CaptionedImage:
    filename: str
    captions: tuple[str, ...]
    split: str | None = None  # None: the file has no split (line files are one split each)
    folder: str = ""  # Karpathy "filepath": a sub-folder of the images folder


@dataclass(frozen=True)
class CaptionFile:
    path: Path
    format: str  # "karpathy" or "lines"
    name: str  # the dataset's own name, else the file's
    sha256: str  # of the caption file (the lines file for that format), to record what was scored
    images: tuple[CaptionedImage, ...]

    def split_counts(self) -> dict[str, int]:
        return dict(Counter(image.split or "(none)" for image in self.images))

    def select(self, split: str) -> list[CaptionedImage]:
        """The images of ``split`` ("all" for every one); images without a split always count."""
        return [image for image in self.images if split == ALL_SPLITS or image.split in (None, split)]


def read_caption_file(path: str | Path) -> CaptionFile:
    """A Karpathy ``.json`` or a ``*_caps.txt`` (with its ``*_filename.txt`` beside it)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"no caption file at {path}")
    if path.suffix.lower() == ".json":
        return read_karpathy(path)
    if path.name.endswith("_caps.txt"):
        return read_caption_lines(path)
    raise UserError(f"{path}: expected a Karpathy-style .json or a *_caps.txt file (with *_filename.txt beside it)")


def read_karpathy(path: Path) -> CaptionFile:
    raw = path.read_bytes()
    try:
        document = json.loads(raw)
        entries = document["images"]
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: not a Karpathy caption file (need an 'images' list): {exc}") from None
    images, seen = [], set()
    for position, entry in enumerate(entries):
        try:
            filename = str(entry["filename"])
            captions = tuple(text for text in (str(s.get("raw", "")).strip() for s in entry.get("sentences", [])) if text)
        except (KeyError, TypeError, AttributeError):
            raise UserError(f"{path}: image #{position} has no 'filename' or malformed 'sentences'") from None
        folder = str(entry.get("filepath", "") or "")
        key = (folder, filename)
        if key in seen:
            raise UserError(f"{path}: image {filename!r} is listed twice")
        seen.add(key)
        split = entry.get("split")
        images.append(CaptionedImage(filename, captions, None if split is None else str(split), folder))
    name = str(document.get("dataset") or path.stem) if isinstance(document, dict) else path.stem
    return CaptionFile(path, "karpathy", name, hashlib.sha256(raw).hexdigest(), tuple(images))


def read_caption_lines(caps_path: Path) -> CaptionFile:
    prefix = caps_path.name[: -len("_caps.txt")]
    names_path = caps_path.with_name(f"{prefix}_filename.txt")
    if not names_path.is_file():
        raise UserError(f"{caps_path}: the image list {names_path.name} is not beside it")
    caps_raw = caps_path.read_bytes()
    captions = _lines(caps_raw, caps_path)
    filenames = _lines(names_path.read_bytes(), names_path)
    if not filenames or not captions:
        raise UserError(f"{caps_path}: no captions or no file names")
    grouped: dict[str, list[str]] = {}
    if len(filenames) == len(captions):  # one file name per caption
        for filename, caption in zip(filenames, captions):
            grouped.setdefault(filename, []).append(caption)
    elif len(captions) % len(filenames) == 0:  # consecutive captions per image
        per_image = len(captions) // len(filenames)
        for index, filename in enumerate(filenames):
            grouped.setdefault(filename, []).extend(captions[index * per_image : (index + 1) * per_image])
    else:
        raise UserError(
            f"{caps_path}: {len(captions)} captions cannot be shared out over the {len(filenames)} images "
            f"of {names_path.name} (need one name per caption, or the same number of captions per image)"
        )
    images = tuple(CaptionedImage(filename, tuple(texts)) for filename, texts in grouped.items())
    digest = hashlib.sha256(caps_raw + b"\0" + names_path.read_bytes()).hexdigest()
    return CaptionFile(caps_path, "lines", prefix or caps_path.stem, digest, images)


def _lines(raw: bytes, path: Path) -> list[str]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


# -- class-per-folder datasets (UCM, AID, RESISC45, EuroSAT) -------------------


@dataclass(frozen=True)
class ClassFolders:
    root: Path
    classes: tuple[str, ...]  # folder names, sorted: the class numbering
    items: tuple[tuple[int, SourceItem], ...]  # (class number, image file)


def read_class_folders(root: str | Path) -> ClassFolders:
    """Every image under each immediate sub-folder of ``root``; the sub-folder is its class."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise UserError(f"{root} is not a folder")
    folders = sorted(child for child in root.iterdir() if child.is_dir() and not child.name.startswith("."))
    if len(folders) < 2:
        raise UserError(f"{root} needs one sub-folder per class (at least two); found {len(folders)}")
    items = []
    for number, folder in enumerate(folders):
        for entry in iter_sources([folder]):
            if isinstance(entry, SourceItem):
                items.append((number, entry))
    if not items:
        raise UserError(f"no images under the class folders of {root}")
    return ClassFolders(root, tuple(folder.name for folder in folders), tuple(items))


def class_phrase(folder_name: str) -> str:
    """What a folder name says in words: ``AnnualCrop`` -> ``annual crop``, ``storage_tanks`` -> ``storage tanks``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", folder_name)
    return re.sub(r"[\s_\-]+", " ", spaced).strip().lower()
