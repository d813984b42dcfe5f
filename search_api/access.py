"""Who may call what: read-only by default, admin endpoints behind a key, CORS closed unless opened.

- Searching and reading images need no key: the API changes nothing.
- Admin endpoints (``/admin/...``) need the key set in ``RSCLIP_API_KEY`` when the
  server started, sent as ``X-API-Key: KEY`` or ``Authorization: Bearer KEY``. With
  no key set they are disabled (403), so a server started without one can never be
  administered over the network.
- Browsers may call the API from other origins only if ``RSCLIP_CORS_ORIGINS`` (or
  ``rsclip serve --cors-origin``) lists them; by default no CORS header is sent.
- ``rsclip serve`` binds 127.0.0.1 unless told otherwise, and answers only requests
  whose ``Host`` names the server (400 otherwise): a page elsewhere cannot reach a
  loopback server through DNS rebinding, whose requests carry the attacker's name.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_EVERY_INTERFACE = ("0.0.0.0", "::", "")


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


def hosts_for_bind(bind_host: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The Host names a server bound to ``bind_host`` answers: its own, and ``extra`` (names a proxy or DNS gives it).

    Loopback: the loopback names. Every interface (0.0.0.0, ::): those, this machine's
    names, and any IP address (kept as the bind address in the list): a rebinding page
    sends its own domain name, never an address, so addresses are safe to accept.
    """
    hosts = [bind_host.strip("[]").lower()]
    if hosts[0] in LOOPBACK_HOSTS or hosts[0] in _EVERY_INTERFACE or _is_loopback_address(hosts[0]):
        hosts += LOOPBACK_HOSTS
    if hosts[0] in _EVERY_INTERFACE:
        hosts += [socket.gethostname().lower(), socket.getfqdn().lower()]
    hosts += [host.strip().lower() for host in extra if host.strip()]
    return tuple(dict.fromkeys(hosts))


def _is_loopback_address(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_name(header: str) -> str:
    """``example.org:8080`` -> ``example.org``; ``[::1]:7860`` -> ``::1``; lower case, no trailing dot."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0].rstrip(".") if header.count(":") == 1 else header.rstrip(".")


class HostCheckMiddleware:
    """400 (JSON) for a request whose Host is not one of ``allowed`` ("*" allows every host).

    Outermost, so nothing else (routes, trailing-slash redirects that echo the Host)
    ever sees a foreign name.
    """

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]):
        self.app = app
        self.allowed = frozenset(host.lower() for host in allowed)
        self.any_address = bool(self.allowed & set(_EVERY_INTERFACE))

    def accepts(self, host: str) -> bool:
        return "*" in self.allowed or host in self.allowed or (self.any_address and _is_address(host))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("host", "")
        if self.accepts(host_name(header)):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {"detail": f"unknown Host {header[:100]!r}: this server answers to {', '.join(sorted(self.allowed))}"
             " (add names with --allowed-host or RSCLIP_ALLOWED_HOSTS)"}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def install_host_check(app: FastAPI, allowed: tuple[str, ...]) -> None:
    """Call last: the middleware added last runs first."""
    app.add_middleware(HostCheckMiddleware, allowed=allowed)
