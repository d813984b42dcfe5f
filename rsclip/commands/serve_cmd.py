"""rsclip serve: the REST API and the web page over an existing index."""

from __future__ import annotations

from rsclip.commands.common import add_common, add_runtime
from service.settings import Settings


def add_parser(commands) -> None:
    from search_api.settings import DEFAULT_HOST, DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_PORT

    parser = commands.add_parser(
        "serve",
        help="serve the web page and the REST API",
        description="Load the model and the index once, then serve the search page at / and the REST "
        "API (OpenAPI at /docs). Binds to 127.0.0.1 unless --host says otherwise.",
    )
    add_common(parser)
    add_runtime(parser, batch_size=False)
    add_server_flags(parser, DEFAULT_HOST, DEFAULT_PORT)
    parser.add_argument(
        "--max-upload-mb",
        type=float,
        default=DEFAULT_MAX_UPLOAD_BYTES / 2**20,
        metavar="MB",
        help=f"largest photo upload accepted ({DEFAULT_MAX_UPLOAD_BYTES // 2**20})",
    )
    add_protection_flags(parser)
    parser.set_defaults(handler=run)


def add_protection_flags(parser) -> None:
    from search_api.settings import (
        DEFAULT_MAX_UPLOAD_PIXELS,
        ENV_ALLOWED_HOSTS,
        ENV_API_KEY,
        ENV_CORS_ORIGINS,
        ApiSettings,
    )

    defaults = ApiSettings(data_dir=".")
    group = parser.add_argument_group(
        "limits and access",
        f"The API is read-only; admin endpoints need the key in ${ENV_API_KEY} (disabled without it).",
    )
    group.add_argument("--max-upload-pixels", type=int, default=DEFAULT_MAX_UPLOAD_PIXELS, metavar="N",
                       help=f"largest photo upload in pixels ({DEFAULT_MAX_UPLOAD_PIXELS:,}); more is a 413")
    group.add_argument("--model-slots", type=int, default=defaults.model_slots, metavar="N",
                       help=f"requests doing model or index work at once ({defaults.model_slots})")
    group.add_argument("--queue-size", type=int, default=defaults.queue_size, metavar="N",
                       help=f"requests that may wait for a slot; more get 503 + Retry-After ({defaults.queue_size})")
    group.add_argument("--queue-seconds", type=float, default=defaults.queue_seconds, metavar="S",
                       help=f"longest wait for a slot before 503 + Retry-After ({defaults.queue_seconds:g})")
    group.add_argument("--cors-origin", action="append", default=None, metavar="ORIGIN",
                       help=f"a browser origin allowed to call the API, e.g. https://maps.example.org; repeat "
                       f"for more (default ${ENV_CORS_ORIGINS}, else none)")
    group.add_argument("--allowed-host", action="append", default=None, metavar="NAME",
                       help="a Host name to answer besides the address bound (e.g. the name a proxy or DNS gives "
                       f"the server; '*' for any); repeat for more (default ${ENV_ALLOWED_HOSTS}); other Hosts get 400")


def add_server_flags(parser, host: str, port: int) -> None:
    parser.add_argument("--host", default=host, help=f"address to bind ({host}; 0.0.0.0 for every interface)")
    parser.add_argument("--port", type=int, default=port, help=f"TCP port ({port})")


def run(args, settings: Settings) -> int:
    from rsclip.commands.common import open_existing
    from search_api import ApiSettings

    open_existing(settings).close()  # a missing index is a one-line error, not a traceback
    options = dict(
        max_upload_bytes=int(args.max_upload_mb * 2**20),
        max_upload_pixels=args.max_upload_pixels,
        model_slots=args.model_slots,
        queue_size=args.queue_size,
        queue_seconds=args.queue_seconds,
    )
    if args.cors_origin:
        options["cors_origins"] = tuple(origin.rstrip("/") for origin in args.cors_origin)
    if args.allowed_host:
        options["allowed_hosts"] = tuple(args.allowed_host)
    api_settings = ApiSettings.from_settings(settings, **options)
    serve(api_settings, args.host, args.port)
    return 0


def serve(api_settings, host: str, port: int, encoder=None) -> None:
    """Build the app (model and index load now) and serve it until interrupted."""
    import uvicorn

    from dataclasses import replace

    from search_api import create_app

    app = create_app(replace(api_settings, bind_host=host), encoder=encoder)  # the Host check answers `host`
    shown = f"[{host}]" if ":" in host else host
    print(f"Serving rsclip-search at http://{shown}:{port}/  (API docs at /docs; Ctrl+C stops)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        admin = "enabled (RSCLIP_API_KEY is set)" if api_settings.api_key else "disabled (no RSCLIP_API_KEY)"
        print(f"Reachable from other machines: searching is open to them, read-only; admin endpoints {admin}.",
              flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
