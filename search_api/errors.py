"""Every failure answers as JSON ``{"detail": reason}`` with the status that says whose fault it is.

Services raise their own exceptions; this module alone decides the HTTP status, so
routers stay free of try/except. The shape is ``models.ErrorBody``, declared for every
4xx in the OpenAPI schema: ``detail`` is always one readable sentence; a 422 from
validation adds ``errors``, the structured list for programs.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from indexer.decode import DecodeError, UnsupportedFormatError
from indexer.limits import FailureKind
from indexer.raster import RasterError
from indexer.sources import ContentChangedError, MemberNotFoundError
from service.scoring import BadTemplateError
from service.searcher import UnknownImageError
from search_api.access import AccessDeniedError
from search_api.admission import ServerBusyError
from search_api.request_checks import UnsupportedMediaTypeError

log = logging.getLogger(__name__)

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
        message = _in_plain_words(error)
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts) or "invalid request"


# Pydantic's wording ("Value error, ...", "String should have at most 2000 characters")
# speaks of types; people typed a field. Say what to change instead.
_PLAIN_WORDS = {
    "string_too_long": "is longer than {max_length} characters",
    "string_too_short": "must not be empty",
    "too_long": "has more than {max_length} entries",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "greater_than": "must be more than {gt}",
    "less_than": "must be less than {lt}",
    "int_parsing": "must be a whole number",
    "float_parsing": "must be a number",
    "missing": "is required",
    "date_from_datetime_parsing": "must be a date like 2014-07-20",
    "date_parsing": "must be a date like 2014-07-20",
}


def _in_plain_words(error: dict) -> str:
    kind, context = error.get("type", ""), error.get("ctx") or {}
    template = _PLAIN_WORDS.get(kind)
    if template is not None:
        try:
            return template.format(**context)
        except (KeyError, IndexError):
            pass
    message = str(error.get("msg", "invalid value"))
    if kind == "value_error" and "error" in context:
        return str(context["error"])  # our own sentence, without "Value error, " before it
    return message.removeprefix("Value error, ")


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
        (RasterError, 400),  # a raster that cannot be read as asked (no valid pixels, a missing band)
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

    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        # Starlette's own (404, 405) and the body limit's 413, in the one error shape.
        response = _json(exc.status_code, exc.detail)
        response.headers.update(exc.headers or {})
        return response

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def _plain(errors) -> list[dict]:
    """Validation errors as JSON: where, what, which kind, and the limits (ctx) that are plain values.

    The web page words its own message from ``type``, ``loc`` and ``ctx`` (e.g. max_length),
    in the reader's language; ``ctx`` may also hold exception objects, which are left out.
    """
    plain = []
    for error in errors:
        item = {key: error[key] for key in ("loc", "type") if key in error}
        item["msg"] = _in_plain_words(error)
        context = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, (int, float, str, bool))}
        if context:
            item["ctx"] = context
        plain.append(item)
    return plain
