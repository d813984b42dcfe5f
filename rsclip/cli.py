"""The ``rsclip`` command line.

Each command parses its flags, calls one service, and prints; errors the user can
fix are printed as one line on stderr with exit status 1, never as a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from service import __version__

EXIT_USER_ERROR = 1


def build_parser() -> argparse.ArgumentParser:
    from rsclip.commands import COMMAND_MODULES

    parser = argparse.ArgumentParser(
        prog="rsclip",
        description="Search remote-sensing image archives by text or by example with Git-RSCLIP.",
    )
    parser.add_argument("--version", action="version", version=f"rsclip-search {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from encoder import ModelNotFoundError
    from indexer.ray_executor import RayClusterError
    from rsclip.commands.common import settings_from
    from service.errors import UserError
    from storage import StoreError

    try:
        return args.handler(args, settings_from(args)) or 0
    except (UserError, StoreError, ModelNotFoundError, RayClusterError) as exc:
        print(f"rsclip: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("rsclip: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
