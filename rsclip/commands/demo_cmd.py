"""rsclip demo: index generated sample scenes and search them, offline if need be."""

from __future__ import annotations

from rsclip.commands.common import add_common
from rsclip.commands.serve_cmd import add_server_flags
from service.settings import Settings
from search_api.settings import DEFAULT_HOST, DEFAULT_PORT


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "demo",
        help="index generated sample images and search them (works offline)",
        description="Generate sample scenes, index them, run example searches, then serve the web page "
        "(--no-serve to stop after the searches). Uses the real model when it can be loaded; "
        "otherwise builds a tiny random SigLIP checkpoint, whose results are meaningless.",
    )
    add_common(parser, model_help="model to try first (default lcybuaa/Git-RSCLIP)")
    parser.add_argument("--images", metavar="DIR", help="index this folder instead of generated samples")
    parser.add_argument("--no-serve", dest="serve", action="store_false", help="only run the example searches")
    add_server_flags(parser, DEFAULT_HOST, DEFAULT_PORT)
    parser.set_defaults(handler=run)


def run(args, settings: Settings) -> int:
    from rsclip.demo import run_demo

    return run_demo(
        settings,
        images=args.images,
        explicit_data_dir=bool(args.data_dir) or None,
        serve=args.serve,
        host=args.host,
        port=args.port,
    )
