"""What an index run tells people: the summary, failures counted by kind, and the run log.

Every input that was not indexed is a failure with a name, a reason and a kind
(indexer.limits.FailureKind). The run goes on past each one; the summary counts
them, and the catalog keeps them so ``rsclip stats`` can show them later.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from indexer.names import safe_name
from storage import IndexRunRecord, RunFailure, Store


def failures_by_kind(failures: Iterable) -> dict[str, int]:
    """Counts per kind, most frequent first."""
    return dict(Counter(failure.kind for failure in failures).most_common())


def record_run(store: Store, report, inputs: Sequence[str | Path]) -> int | None:
    """Append the run and its failures to the store's run log. Returns the run's id, or None
    when the run wrote somewhere without one (``rsclip embed`` writes feature files)."""
    if not hasattr(store, "runs"):
        return None
    finished = datetime.now(timezone.utc)
    run = IndexRunRecord(
        started_at=finished - timedelta(seconds=report.seconds),
        finished_at=finished,
        inputs=tuple(safe_name(str(path)) for path in inputs),
        seen=report.seen,
        added=report.added,
        already_indexed=report.already_indexed + report.unchanged,  # the log does not split them
        duplicates=report.duplicates,
        failed=report.failed,
        failures_by_kind=failures_by_kind(report.failures),
    )
    failures = [RunFailure(f.source, f.member, f.kind, f.reason) for f in report.failures]
    return store.runs.record(run, failures)


def failure_json(failure) -> dict:
    return {"source": failure.source, "member": failure.member, "kind": failure.kind, "reason": failure.reason}


def kinds_text(counts: dict[str, int]) -> str:
    """``"3 corrupt-image, 1 link"`` for a one-line summary."""
    return ", ".join(f"{count} {kind}" for kind, count in counts.items())
