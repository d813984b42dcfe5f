"""Request bodies are counted as they arrive, on every route, and stopped at the limit with 413.

A declared ``Content-Length`` over the limit is refused before a byte is read; a chunked
body (or one that sends more than it declared) when the count passes the limit. The
count sits in ASGI's ``receive``, below FastAPI, Starlette's multipart parser and its
temporary files, so nothing past the limit is read, parsed or spooled. The 413 is JSON
like every other error and says ``Connection: close``: the rest is never read.

FastAPI's own ``max_body_size`` counts the same way, but answers a declared length over
the limit in plain text, outside the app's error handlers; this stays one small class.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from search_api.request_checks import FORM_MEDIA_TYPES, MAX_JSON_BODY_BYTES, form_body_limit


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` past the limit: an HTTPException, so FastAPI's body parsing passes it on as is."""

    def __init__(self, limit: int):
        super().__init__(413, f"the request body is larger than {limit:,} bytes, the limit for its type",
                         headers={"Connection": "close"})


def body_limit(headers: Headers, max_upload_bytes: int) -> int:
    """Forms may carry a photo (and up to 200 texts); every other body (JSON, none declared) is small."""
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    return form_body_limit(max_upload_bytes) if media_type in FORM_MEDIA_TYPES else MAX_JSON_BODY_BYTES


class BodyLimitMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware), so the body is never buffered on its way through."""

    def __init__(self, app: ASGIApp, max_upload_bytes: int):
        self.app = app
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = body_limit(headers, self.max_upload_bytes)
        declared = headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, BodyTooLargeError(limit))
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLargeError as exc:  # read where no exception handler sees it
            if started:
                raise
            await _refuse(send, exc)


async def _refuse(send: Send, error: BodyTooLargeError) -> None:
    body = json.dumps({"detail": error.detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(key.lower().encode(), value.encode()) for key, value in error.headers.items()]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
