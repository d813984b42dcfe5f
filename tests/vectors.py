"""Comparing a freshly computed vector with one the store kept.

The store keeps vectors as fp16 (2 bytes per dimension) and hands them back scaled to
unit length, so a stored vector equals its fp32 original up to fp16 rounding: relative
error at most 2**-11 per component, plus the ~1e-4 of the rescaling. The comparison is
element by element at that precision, far tighter than any difference between two
different images' vectors.
"""

from __future__ import annotations

import numpy as np

STORED_RTOL = 1e-3  # fp16 rounding (2**-11) + rescaling to unit length (~1e-4), with margin
STORED_ATOL = 1e-5  # components near zero: fp32 arithmetic noise


def assert_stored_equal(fresh, stored, err_msg: str = "") -> None:
    """``stored`` (read back from a store) is ``fresh`` (fp32, just computed) kept at fp16."""
    np.testing.assert_allclose(
        np.asarray(stored, dtype=np.float32), np.asarray(fresh, dtype=np.float32),
        rtol=STORED_RTOL, atol=STORED_ATOL, err_msg=err_msg,
    )
