"""Bodies counted as they arrive (413), capped texts and prompts (422), strict numbers, the Host check (400)."""

from __future__ import annotations

import select
import socket
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from search_api.access import HostCheckMiddleware, host_name, hosts_for_bind
from search_api.models import MAX_LABEL_CHARS, MAX_LABELS, MAX_QUERY_CHARS, MAX_TEMPLATE_CHARS
from search_api.request_checks import MAX_JSON_BODY_BYTES, form_body_limit

CHUNK = 64 * 1024
STREAM_BYTES = 64 * 1024 * 1024  # far past every limit: the server must stop reading long before


def _reason(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["detail"]


def stream_chunked(url: str, path: str, content_type: str, preamble: bytes = b"", total: int = STREAM_BYTES):
    """POST ``total`` bytes with Transfer-Encoding: chunked; stop once the server answers.

    Returns (bytes sent, the raw answer). Bounded: at most ``total`` bytes and 60 s.
    """
    address = urlsplit(url)
    chunk = b"%x\r\n%s\r\n" % (CHUNK, b"x" * CHUNK)
    sent, answer = 0, b""
    deadline = time.monotonic() + 60
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
            + (b"%x\r\n%s\r\n" % (len(preamble), preamble) if preamble else b"")
        )
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock] if sent < total else [], [], 1)
            if readable:
                break
            if writable:
                try:
                    sock.sendall(chunk)
                except OSError:  # the server closed its side after answering
                    break
                sent += CHUNK
            if sent >= total and not readable:
                sock.sendall(b"0\r\n\r\n")
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            answer += data
            if b"\r\n\r\n" in answer and answer.split(b"\r\n\r\n", 1)[1].rstrip().endswith(b"}"):
                break
    return sent, answer


FILE_PART = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n'


@pytest.mark.parametrize(
    "path, content_type, preamble, limit",
    [
        ("/search/text", "application/json", b'{"query": "', MAX_JSON_BODY_BYTES),
        ("/search/image", "multipart/form-data; boundary=xyz", FILE_PART, form_body_limit(200_000)),
    ],
    ids=["json", "multipart"],
)
def test_a_chunked_body_past_the_limit_is_refused_413_while_it_arrives_over_a_real_socket(
    live_server, path, content_type, preamble, limit
):
    sent, answer = stream_chunked(live_server.url, path, content_type, preamble)
    status_line = answer.split(b"\r\n", 1)[0]
    assert b" 413 " in status_line, answer[:300]
    assert f"{limit:,} bytes".encode() in answer
    # The server stopped reading at the limit: most of the 64 MB was never sent (socket buffers hold a few MB).
    assert sent < STREAM_BYTES // 2


def test_a_json_body_declared_over_the_limit_is_413_naming_it(client):
    body = b'{"query": "' + b"x" * MAX_JSON_BODY_BYTES + b'"}'
    response = client.post("/search/text", content=body, headers={"content-type": "application/json"})
    assert f"{MAX_JSON_BODY_BYTES:,} bytes" in _reason(response, 413)
    assert response.headers["connection"] == "close"


def test_a_multipart_body_over_the_form_limit_is_413_before_it_is_parsed(client):
    limit = form_body_limit(200_000)
    files = {"file": ("big.png", b"\x89PNG" + b"0" * limit, "image/png")}
    assert f"{limit:,} bytes" in _reason(client.post("/search/image", files=files), 413)


# -- capped texts and prompts ----------------------------------------------------------------------
def test_the_classify_attack_of_many_placeholders_and_labels_is_refused_at_once(client):
    attack = {"image_id": "1", "template": "{}" * 5000, "labels": ["x"] * (MAX_LABELS + 1)}
    reason = _reason(client.post("/classify", data=attack), 422)
    assert f"longer than {MAX_TEMPLATE_CHARS} characters" in reason and f"more than {MAX_LABELS} entries" in reason
    # 2,000 labels, as in the attack: the form parser's own cap of 1,000 fields answers first.
    assert "fields" in _reason(client.post("/classify", data={**attack, "labels": ["x"] * 2000}), 400)


@pytest.mark.parametrize(
    "template", ["{} and {}", "no placeholder", "{label}", "a {{}} b"], ids=["two", "none", "named", "braces"]
)
def test_a_template_needs_exactly_one_placeholder(client, template):
    response = client.post("/classify", data={"image_id": "1", "template": template, "labels": ["forest"]})
    assert "exactly one {}" in _reason(response, 422)


@pytest.mark.parametrize(
    "path, data, limit",
    [
        ("/classify", {"image_id": "1", "labels": ["y" * (MAX_LABEL_CHARS + 1)]}, MAX_LABEL_CHARS),
        ("/similarity", {"image_id": "1", "texts": ["y" * (MAX_QUERY_CHARS + 1)]}, MAX_QUERY_CHARS),
        ("/embed", {"text": "y" * (MAX_QUERY_CHARS + 1)}, MAX_QUERY_CHARS),
    ],
    ids=["label", "text", "embed"],
)
def test_every_text_over_its_cap_is_422_naming_the_limit(client, path, data, limit):
    assert f"longer than {limit} characters" in _reason(client.post(path, data=data), 422)


def test_texts_at_their_caps_are_answered(client):
    template = "t" * (MAX_TEMPLATE_CHARS - 2) + "{}"
    labels = ["l" * MAX_LABEL_CHARS] * MAX_LABELS
    response = client.post("/classify", data={"image_id": "1", "template": template, "labels": labels})
    assert response.status_code == 200 and len(response.json()["results"]) == MAX_LABELS
    assert client.post("/embed", data={"text": "e" * MAX_QUERY_CHARS}).status_code == 200


# -- the published contract -----------------------------------------------------------------------
@pytest.mark.parametrize("text", ["1_0", "+1", "1.0", " 1", "1 ", "0x1", "１"])
@pytest.mark.parametrize("path", ["/images/{}/info", "/images/{}", "/search/similar/{}"])
def test_an_id_not_written_in_plain_digits_is_422_not_another_image(client, path, text):
    assert "whole number" in _reason(client.get(path.format(text)), 422)


def test_numbers_in_query_strings_and_forms_are_plain_digits_too(client):
    assert "k" in _reason(client.get("/search/similar/1", params={"k": "1_0"}), 422)
    assert "offset" in _reason(client.post("/search/image", files={"file": ("q.png", b"x", "image/png")},
                                           data={"offset": "1.0"}), 422)
    assert "image_id" in _reason(client.post("/classify", data={"image_id": "+1", "labels": ["a"]}), 422)


@pytest.mark.parametrize("body", [{"offset": False}, {"k": True}, {"k": "5"}, {"k": 5.5}])
def test_json_numbers_are_numbers_not_booleans_or_strings(client, body):
    _reason(client.post("/search/text", json={"query": "forest", **body}), 422)


def test_a_whole_json_number_written_with_a_fraction_is_still_the_number(client):
    response = client.post("/search/text", json={"query": "forest", "k": 3.0})
    assert response.status_code == 200 and len(response.json()["results"]) == 3


def test_a_422_has_the_one_declared_error_shape(client):
    body = client.post("/search/text", json={"query": ""}).json()
    assert isinstance(body["detail"], str) and body["errors"][0]["loc"] == ["body", "query"]
    schema = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            assert operation["responses"]["4XX"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorBody"
            }, (method, path)


def test_added_at_is_an_rfc3339_time_in_utc(client):
    added_at = client.get("/images/1/info").json()["added_at"]
    assert datetime.fromisoformat(added_at.replace("Z", "+00:00")).utcoffset() == timezone.utc.utcoffset(None)


# -- the Host check -----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/health", "/", "/docs", "/openapi.json", "/images/1", "/health/"])
def test_a_foreign_host_is_400_on_every_path_and_never_redirected(client, path):
    response = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
    assert "evil.example" in _reason(response, 400)
    assert "location" not in response.headers


def test_a_trailing_slash_redirect_stays_on_the_host_asked(client):
    response = client.get("/health/", follow_redirects=False)
    if response.status_code in (301, 302, 307, 308):
        assert urlsplit(response.headers["location"]).hostname in (None, "testserver")


def test_a_live_loopback_server_refuses_a_rebound_host_name(live_server):
    import httpx

    port = urlsplit(live_server.url).port
    assert httpx.get(f"{live_server.url}/health", headers={"Host": f"attacker.example:{port}"}).status_code == 400
    for name in ("127.0.0.1", "localhost"):
        assert httpx.get(f"{live_server.url}/health", headers={"Host": f"{name}:{port}"}).status_code == 200


@pytest.mark.parametrize(
    "bind, extra, accepted, refused",
    [
        ("127.0.0.1", (), ["127.0.0.1", "localhost", "::1"], ["evil.example", "10.0.0.5", "testserver"]),
        ("::1", (), ["::1", "localhost"], ["evil.example"]),
        ("0.0.0.0", (), ["localhost", "10.0.0.5", "fe80::1", "127.0.0.1"], ["evil.example", "10.0.0.5.nip.io"]),
        ("127.0.0.1", ("search.example.org",), ["search.example.org"], ["evil.example"]),
        ("127.0.0.1", ("*",), ["anything.example"], []),
    ],
    ids=["loopback", "loopback-v6", "every-interface", "configured", "any"],
)
def test_hosts_answered_follow_the_bind_address_and_the_configured_list(bind, extra, accepted, refused):
    check = HostCheckMiddleware(app=None, allowed=hosts_for_bind(bind, extra))
    assert all(check.accepts(host) for host in accepted)
    assert not any(check.accepts(host) for host in refused)


@pytest.mark.parametrize(
    "header, name",
    [("Example.ORG:8080", "example.org"), ("[::1]:7860", "::1"), ("localhost.", "localhost"), ("::1", "::1")],
)
def test_host_names_are_compared_without_port_case_or_trailing_dot(header, name):
    assert host_name(header) == name


def test_allowed_hosts_come_from_the_environment(monkeypatch):
    from search_api.settings import ENV_ALLOWED_HOSTS, ApiSettings
    from service.settings import Settings

    monkeypatch.setenv(ENV_ALLOWED_HOSTS, "search.example.org, maps.example.org")
    settings = ApiSettings.from_settings(Settings(data_dir=Path("."), model=None, database_url=None), runtime=None)
    assert {"search.example.org", "maps.example.org", "127.0.0.1"} <= set(settings.answered_hosts)
