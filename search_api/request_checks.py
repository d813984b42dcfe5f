"""The shape of a request before its content: the right content type (415) and ids in range (422).

FastAPI would read a form sent to a JSON endpoint as "not a dictionary" (422), which
hides the real mistake; these checks answer 415 with what to send instead. Ids are
bounded to what the catalog and FAISS can hold (64-bit), so an absurd id is a 422,
not an overflow deep in SQLite.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

MAX_ID = 2**63 - 1

ImageIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="id of an indexed image")]

_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


class UnsupportedMediaTypeError(ValueError):
    """The request body is not in the format this endpoint reads."""


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _no_body(request: Request) -> bool:
    """An empty request goes on to validation, which names the missing fields (422)."""
    headers = request.headers
    return headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers


def _require_json(request: Request) -> None:
    media_type = _media_type(request)
    if media_type == "application/json" or media_type.endswith("+json") or (not media_type and _no_body(request)):
        return
    raise UnsupportedMediaTypeError(
        f"send a JSON body with Content-Type: application/json (got {media_type or 'no content type'})"
    )


def _require_form(request: Request) -> None:
    media_type = _media_type(request)
    if media_type in _FORMS or (not media_type and _no_body(request)):
        return
    raise UnsupportedMediaTypeError(
        f"send form fields (and any photo) as multipart/form-data (got {media_type or 'no content type'})"
    )


JsonBody = Depends(_require_json)
FormBody = Depends(_require_form)
