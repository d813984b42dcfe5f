"""/docs (Swagger UI) and /redoc (ReDoc) from assets shipped in the package, so both work offline.

FastAPI's own pages load their JavaScript from a CDN and are blank without internet.
These are the same pages pointed at ``static/vendor`` (versions and licences in each
folder's VENDORED.md; ReDoc's bundle had one CDN logo URL, replaced there). A
Content-Security-Policy keeps every fetch on this server.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

VENDOR = "/static/vendor"
FAVICON = f"{VENDOR}/swagger-ui/favicon-32x32.png"
# Inline script: FastAPI's page starts the viewer inline. Inline style: both viewers style
# elements at run time. blob: workers: ReDoc's search index runs in a worker made from a blob.
SAME_SERVER_ONLY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; worker-src 'self' blob:; font-src 'self' data:"
)


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = SAME_SERVER_ONLY
    return page


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return _offline(
        get_swagger_ui_html(
            openapi_url=request.app.openapi_url,
            title=f"{request.app.title} - API",
            swagger_js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=FAVICON,
        )
    )


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return _offline(
        get_redoc_html(
            openapi_url=request.app.openapi_url,
            title=f"{request.app.title} - API",
            redoc_js_url=f"{VENDOR}/redoc/redoc.standalone.js",
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        )
    )
