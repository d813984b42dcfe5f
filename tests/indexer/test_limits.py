"""Input limits: each check names the flag that changes it, and reads are capped for real."""

from __future__ import annotations

import io

import pytest

from indexer.limits import FailureKind as K
from indexer.limits import InputLimits, InputRefused, read_capped


def test_ratio_is_only_judged_past_the_floor():
    limits = InputLimits(max_compression_ratio=10, ratio_floor_bytes=1000)
    assert limits.refuse_ratio(expanded=999, compressed=1) is None
    assert limits.refuse_ratio(expanded=5000, compressed=1000) is None
    refused = limits.refuse_ratio(expanded=50_000, compressed=1000)
    assert refused.kind == K.COMPRESSION_RATIO and "--max-compression-ratio" in refused.reason


def test_each_refusal_names_its_flag():
    limits = InputLimits(max_file_bytes=10, max_archive_bytes=100, max_members=2)
    assert "--max-file-bytes" in limits.refuse_size(11).reason
    assert limits.refuse_size(10) is None
    assert "--max-archive-bytes" in limits.refuse_archive_total(101).reason
    assert "--max-members" in limits.refuse_member_count(3).reason


def test_read_capped_refuses_more_bytes_than_the_limit_whatever_was_declared():
    assert read_capped(io.BytesIO(b"12345"), 5) == b"12345"
    with pytest.raises(InputRefused) as refused:
        read_capped(io.BytesIO(b"123456"), 5)
    assert refused.value.kind == K.TOO_LARGE


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="max_members"):
        InputLimits(max_members=0)
