"""Who may call what: read-only by default, admin endpoints behind a key, CORS closed unless opened.

- Searching and reading images need no key: the API changes nothing.
- Admin endpoints (``/admin/...``) need the key set in ``RSCLIP_API_KEY`` when the
  server started, sent as ``X-API-Key: KEY`` or ``Authorization: Bearer KEY``. With
  no key set they are disabled (403), so a server started without one can never be
  administered over the network.
- Browsers may call the API from other origins only if ``RSCLIP_CORS_ORIGINS`` (or
  ``rsclip serve --cors-origin``) lists them; by default no CORS header is sent.
- ``rsclip serve`` binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import secrets

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware


class AccessDeniedError(PermissionError):
    """The key is missing or wrong (401), or admin endpoints are disabled (403)."""

    def __init__(self, reason: str, status: int):
        super().__init__(reason)
        self.status = status


def _presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _require_api_key(request: Request) -> None:
    expected = request.app.state.services.settings.api_key
    if not expected:
        raise AccessDeniedError("admin endpoints are disabled: start the server with RSCLIP_API_KEY set", 403)
    presented = _presented_key(request)
    if presented is None:
        raise AccessDeniedError("this endpoint needs the API key (X-API-Key or Authorization: Bearer)", 401)
    if not secrets.compare_digest(presented.encode(), expected.encode()):
        raise AccessDeniedError("wrong API key", 401)


# Declare on an admin router: `dependencies=[AdminKey]`.
AdminKey = Depends(_require_api_key)


def install_cors(app: FastAPI, origins: tuple[str, ...]) -> None:
    """Allow exactly ``origins`` (no credentials, no wildcard unless "*" is listed); none: no CORS."""
    if not origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", "X-API-Key", "Authorization"],
        allow_credentials=False,
        max_age=600,
    )
