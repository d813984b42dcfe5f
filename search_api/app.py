"""The app factory: one place that wires settings, shared services, routers and errors."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from encoder import Encoder
from service import __version__
from search_api.access import install_cors, install_host_check
from search_api.admission import Admission
from search_api.errors import install_error_handlers
from search_api.body_limit import BodyLimitMiddleware
from search_api.models import ERROR_RESPONSES
from search_api.services import open_services
from search_api.settings import ApiSettings


def create_app(settings: ApiSettings, *, encoder: Encoder | None = None) -> FastAPI:
    """Open the index and load the model now (once), and return the app that serves them.

    ``encoder`` lets a caller that already holds the model (``rsclip demo``, tests)
    share it instead of loading it a second time.
    """
    from search_api.routers import ROUTERS
    from search_api.routers.pages import mount_static

    services = open_services(settings, encoder)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        services.close()

    app = FastAPI(
        title="rsclip-search",
        version=__version__,
        summary="Text and image search over remote-sensing imagery with Git-RSCLIP",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
        docs_url=None,  # /docs and /redoc come from search_api/routers/docs.py, with assets shipped in the package
        redoc_url=None,
    )
    app.state.services = services
    app.state.admission = Admission(settings.model_slots, settings.queue_size, settings.queue_seconds)
    install_error_handlers(app)
    install_cors(app, settings.cors_origins)
    app.add_middleware(BodyLimitMiddleware, max_upload_bytes=settings.max_upload_bytes)
    install_host_check(app, settings.answered_hosts)  # last added, so it runs first
    for router in ROUTERS:
        app.include_router(router)
    mount_static(app)
    return app
