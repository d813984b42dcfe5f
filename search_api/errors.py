"""Every failure answers as JSON ``{"detail": reason}`` with the status that says whose fault it is.

Services raise their own exceptions; this module alone decides the HTTP status, so
routers stay free of try/except.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from indexer.decode import DecodeError, UnsupportedFormatError
from indexer.limits import FailureKind
from indexer.sources import ContentChangedError, MemberNotFoundError
from service.scoring import BadTemplateError
from service.searcher import UnknownImageError
from search_api.access import AccessDeniedError
from search_api.admission import ServerBusyError
from search_api.request_checks import UnsupportedMediaTypeError

log = logging.getLogger(__name__)

# Room for multipart boundaries and form fields around the file itself.
MULTIPART_OVERHEAD = 64 * 1024


class UploadTooLargeError(ValueError):
    pass


class BadRequestError(ValueError):
    """The request is well-formed but asks for something impossible (e.g. two images at once)."""


def _json(status: int, detail) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail})


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        loc = list(error.get("loc", ()))
        if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
            loc = loc[1:]  # where in the request, not which field: the field is what helps
        if error.get("type") == "json_invalid":
            at = f" (at character {loc[0]})" if loc and isinstance(loc[0], int) else ""
            parts.append(f"the body is not valid JSON{at}")
            continue
        where = ".".join(str(part) for part in loc)
        parts.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    statuses: list[tuple[type[Exception], int]] = [
        (UnknownImageError, 404),
        (MemberNotFoundError, 404),
        (ContentChangedError, 410),  # the location holds other bytes now: never served
        (UnsupportedFormatError, 415),
        (UnsupportedMediaTypeError, 415),
        (UploadTooLargeError, 413),
        (BadTemplateError, 422),
        (BadRequestError, 422),
    ]
    for exc_type, status in statuses:

        async def handler(_request: Request, exc: Exception, status: int = status) -> JSONResponse:
            return _json(status, str(exc))

        app.add_exception_handler(exc_type, handler)

    async def undecodable(_request: Request, exc: DecodeError) -> JSONResponse:
        # Too many pixels is too large a request (413); anything else is a damaged photo (400).
        return _json(413 if exc.kind == FailureKind.TOO_MANY_PIXELS else 400, str(exc))

    async def busy(_request: Request, exc: ServerBusyError) -> JSONResponse:
        response = _json(503, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    async def denied(_request: Request, exc: AccessDeniedError) -> JSONResponse:
        response = _json(exc.status, str(exc))
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="rsclip-search"'
        return response

    app.add_exception_handler(DecodeError, undecodable)
    app.add_exception_handler(ServerBusyError, busy)
    app.add_exception_handler(AccessDeniedError, denied)

    async def validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable sentence, plus FastAPI's structured list for programs.
        return JSONResponse(
            status_code=422, content={"detail": _validation_message(exc), "errors": _plain(exc.errors())}
        )

    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _json(500, f"internal error: {type(exc).__name__}")

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(Exception, unexpected)


def refuse_oversized_bodies(app: FastAPI, max_upload_bytes: int) -> None:
    """Answer 413 from the declared length, before a huge body is received and spooled.

    Uploads are also measured while read (a body may not declare its length); this
    only spares the server from taking in gigabytes it would refuse anyway.
    """
    limit = max_upload_bytes + MULTIPART_OVERHEAD

    @app.middleware("http")
    async def check_length(request: Request, call_next):
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return _json(413, f"the request is larger than the upload limit of {max_upload_bytes:,} bytes")
        return await call_next(request)


def _plain(errors) -> list[dict]:
    """Validation errors may carry exception objects in ``ctx``; keep what JSON can hold."""
    return [{key: error[key] for key in ("loc", "msg", "type") if key in error} for error in errors]
