"""The shape of a request before its content: its size (413), its content type (415), whole numbers (422).

- Size: every body is counted as it arrives (``body_limit``, chunked or declared alike),
  so nothing past the limit is read, parsed or spooled: multipart forms may carry a
  photo (the upload limit plus room for the form's fields), every other body is small.
- Type: FastAPI would read a form sent to a JSON endpoint as "not a dictionary" (422),
  which hides the real mistake; these checks answer 415 with what to send instead.
- Numbers in paths, query strings and forms are whole numbers in decimal digits:
  Python's ``int()`` would also read ``1_0`` as 10 and ``+1``, `` 1`` as 1, so
  ``/images/1_0`` would serve another image than the one named. Ids are bounded to
  what the catalog and FAISS can hold (64-bit), so an absurd id is a 422, not an
  overflow deep in SQLite.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Path, Request
from pydantic import BeforeValidator

# Ids stay within what a JSON number holds exactly (2^53 - 1): JavaScript clients, the page
# included, read larger ones rounded, and the schema would publish the bound as a rounded float.
MAX_ID = 2**53 - 1
# Room for multipart boundaries and form fields (up to 200 texts of 2,000 characters) around the photo.
MULTIPART_OVERHEAD = 2 * 1024 * 1024
# Every body but a multipart form: a JSON query of 2,000 characters, each escaped (\uXXXX), fits with room.
MAX_JSON_BODY_BYTES = 64 * 1024

_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def form_body_limit(max_upload_bytes: int) -> int:
    """The largest multipart body: one photo at the upload limit and the form's fields."""
    return max_upload_bytes + MULTIPART_OVERHEAD


def _whole_number(value):
    if isinstance(value, str) and not _WHOLE_NUMBER.fullmatch(value):
        raise ValueError(f"must be a whole number written in digits, not {value!r}")
    return value


# Put after Path/Query/Form in an Annotated int (so the schema keeps minimum/maximum): `Annotated[int, Query(ge=1), WholeNumber]`.
WholeNumber = BeforeValidator(_whole_number)

ImageIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="id of an indexed image"), WholeNumber]

FORM_MEDIA_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


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
    if media_type in FORM_MEDIA_TYPES or (not media_type and _no_body(request)):
        return
    raise UnsupportedMediaTypeError(
        f"send form fields (and any photo) as multipart/form-data (got {media_type or 'no content type'})"
    )


JsonBody = Depends(_require_json)
FormBody = Depends(_require_form)
