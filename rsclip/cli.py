"""The ``rsclip`` command: index, search, stats, demo.

Each command parses its flags, calls one service, and prints; errors the user can
fix are printed as one line on stderr with exit status 1, never as a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from rsclip import __version__
from rsclip.settings import ENV_DATA_DIR, ENV_DATABASE_URL, ENV_MODEL, Settings

EXIT_USER_ERROR = 1


def _add_common(parser: argparse.ArgumentParser, *, model_help: str) -> None:
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


def _settings(args) -> Settings:
    return Settings.from_env(args.data_dir, args.model, args.database_url)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rsclip",
        description="Search remote-sensing image archives by text or by example with Git-RSCLIP.",
    )
    parser.add_argument("--version", action="version", version=f"rsclip-search {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    model_for_index = "Hugging Face id or local checkpoint folder; default: the index's model, else lcybuaa/Git-RSCLIP"
    model_for_query = "model to encode queries; must be the one the index was built with (default: that one)"

    index = commands.add_parser(
        "index",
        help="add images from folders and archives to the index",
        description="Decode every image in PATHs (folders recursively, .zip, .tar, .tar.gz/.tgz, single "
        "files), embed it and add it to the index. Identical content is stored once; files already "
        "indexed are skipped; a file that cannot be decoded is reported and skipped.",
    )
    index.add_argument("paths", nargs="+", metavar="PATH", help="folder, archive or image file")
    _add_common(index, model_help=model_for_index)
    index.add_argument("--batch-size", type=int, default=16, metavar="N", help="images per model call (16)")
    index.add_argument("--workers", type=int, default=2, metavar="N", help="decode threads (2)")
    index.add_argument("--quiet", action="store_true", help="no progress bar")
    index.add_argument("--json", action="store_true", help="print the summary as JSON")

    search = commands.add_parser(
        "search",
        help="find images by text or by an example image",
        description="Rank indexed images by cosine similarity to a text query or a query image.",
    )
    search.add_argument("query", nargs="?", help="text query, e.g. 'a river winding through farmland'")
    search.add_argument("--image", metavar="FILE", help="search with this image instead of text")
    search.add_argument("--similar", type=int, metavar="ID", help="images most like indexed image ID")
    search.add_argument("-k", type=int, default=10, help="number of results (10)")
    search.add_argument("--offset", type=int, default=0, help="skip this many results first (paging)")
    search.add_argument("--json", action="store_true", help="print results as JSON")
    _add_common(search, model_help=model_for_query)

    stats = commands.add_parser("stats", help="what the index holds", description="Items, sources, model, "
                                "dimension, index type and disk use of a data directory.")
    stats.add_argument("--json", action="store_true", help="print as JSON")
    _add_common(stats, model_help="(unused; stats reads the model from the index)")

    demo = commands.add_parser(
        "demo",
        help="index generated sample images and search them (works offline)",
        description="Generate sample scenes, index them and run example searches. Uses the real model "
        "when it can be loaded; otherwise builds a tiny random SigLIP checkpoint, whose results "
        "are meaningless.",
    )
    _add_common(demo, model_help="model to try first (default lcybuaa/Git-RSCLIP)")
    demo.add_argument("--images", metavar="DIR", help="index this folder instead of generated samples")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from encoder import ModelNotFoundError
    from rsclip import commands
    from rsclip.errors import UserError
    from storage import StoreError

    handler = getattr(commands, f"cmd_{args.command}")
    try:
        return handler(args, _settings(args)) or 0
    except (UserError, StoreError, ModelNotFoundError) as exc:
        print(f"rsclip: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("rsclip: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
