"""Named places where the crash tests kill the process, deterministically and for real.

``RSCLIP_TEST_KILL_AT="index.batch:3"`` sends SIGKILL to this process the 3rd time it
reaches ``kill_point("index.batch")`` (several points: comma-separated). SIGKILL runs no
cleanup at all, exactly like a power cut or the OOM killer, which is what the tests
must survive. Unset, as everywhere outside those tests, a point costs one lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV_KILL_AT = "RSCLIP_TEST_KILL_AT"

_reached: Counter[str] = Counter()


def kill_point(name: str) -> None:
    spec = os.environ.get(ENV_KILL_AT)
    if not spec:
        return
    _reached[name] += 1
    for part in spec.split(","):
        target, _, nth = part.strip().partition(":")
        if target == name and _reached[name] >= int(nth or 1):
            os.kill(os.getpid(), signal.SIGKILL)
