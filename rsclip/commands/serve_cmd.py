"""rsclip serve: the REST API and the web page over an existing index."""

from __future__ import annotations

from rsclip.commands.common import add_common
from rsclip.settings import Settings


def add_parser(commands) -> None:
    from search_api.settings import DEFAULT_HOST, DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_PORT

    parser = commands.add_parser(
        "serve",
        help="serve the web page and the REST API",
        description="Load the model and the index once, then serve the search page at / and the REST "
        "API (OpenAPI at /docs). Binds to 127.0.0.1 unless --host says otherwise.",
    )
    add_common(parser)
    add_server_flags(parser, DEFAULT_HOST, DEFAULT_PORT)
    parser.add_argument(
        "--max-upload-mb",
        type=float,
        default=DEFAULT_MAX_UPLOAD_BYTES / 2**20,
        metavar="MB",
        help=f"largest photo upload accepted ({DEFAULT_MAX_UPLOAD_BYTES // 2**20})",
    )
    parser.set_defaults(handler=run)


def add_server_flags(parser, host: str, port: int) -> None:
    parser.add_argument("--host", default=host, help=f"address to bind ({host}; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=port, help=f"TCP port ({port})")


def run(args, settings: Settings) -> int:
    from rsclip.commands.common import open_existing
    from search_api import ApiSettings

    open_existing(settings).close()  # a missing index is a one-line error, not a traceback
    api_settings = ApiSettings.from_settings(settings, max_upload_bytes=int(args.max_upload_mb * 2**20))
    serve(api_settings, args.host, args.port)
    return 0


def serve(api_settings, host: str, port: int, encoder=None) -> None:
    """Build the app (model and index load now) and serve it until interrupted."""
    import uvicorn

    from search_api import create_app

    app = create_app(api_settings, encoder=encoder)
    shown = f"[{host}]" if ":" in host else host
    print(f"Serving rsclip-search at http://{shown}:{port}/  (API docs at /docs; Ctrl+C stops)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
