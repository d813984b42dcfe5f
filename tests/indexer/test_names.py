"""Names from archives are labels: stored and shown as visible text, never as bytes that bite."""

from __future__ import annotations

import zipfile

import pytest

from indexer.names import archive_kind, location, safe_name, zip_member_name


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("plain/name.png", "plain/name.png"),
        ("../../etc/x.png", "../../etc/x.png"),  # a label, shown as written
        ("caf\udce9.png", "caf\\xe9.png"),  # undecodable byte from a tar or a folder
        ("red\x1b[31m.png", "red\\x1b[31m.png"),  # terminal escape
        ("line\nbreak.png", "line\\x0abreak.png"),
        ("evil\u202egnp.exe", "evil\\u202egnp.exe"),  # right-to-left override
        ("emoji 🛰️ snow ❄.png", "emoji 🛰️ snow ❄.png"),
        ("日本語/衛星.tif", "日本語/衛星.tif"),
    ],
)
def test_safe_name_escapes_only_what_cannot_be_stored_or_shown_safely(raw, shown):
    assert safe_name(raw) == shown
    safe_name(raw).encode("utf-8")


def test_zip_names_without_the_utf8_flag_are_read_as_utf8_when_they_are():
    info = zipfile.ZipInfo("x")
    info.filename = "café.png".encode().decode("cp437")  # what zipfile makes of flagless UTF-8
    info.flag_bits = 0
    assert zip_member_name(info) == "café.png"
    info.filename = b"caf\xe9.png".decode("cp437")  # really cp437/latin-1: kept as zipfile read it
    assert zip_member_name(info) == "cafΘ.png"


def test_archive_kind_and_location():
    assert archive_kind("x/Chips.TAR.GZ") == "tar" and archive_kind("a.zip") == "zip" and archive_kind("a.png") is None
    assert location("/d/a.zip", "../x.png") == "/d/a.zip!../x.png"
    assert location("/d/folder", "") == "/d/folder"
