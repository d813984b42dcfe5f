"""The log of index runs: counts per run and, by name, the inputs each could not index.

Kept in the catalog so ``rsclip stats`` (and the API) can say what the last run
skipped and why, long after its output has scrolled away.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from storage.models import IndexFailureRow, IndexRunRow
from storage.records import IndexRunRecord, RunFailure
from storage.write_errors import guard_writes

# A hostile archive can fail a million times; the counts stay exact, the names are capped.
FAILURES_KEPT_PER_RUN = 10_000


def _record(row: IndexRunRow) -> IndexRunRecord:
    values = {name: getattr(row, name) for name in IndexRunRecord.__dataclass_fields__}
    return IndexRunRecord(**{**values, "inputs": tuple(row.inputs), "failures_by_kind": dict(row.failures_by_kind)})


class RunLog:
    """Index runs of one catalog. Obtain it as ``Store.runs``."""

    def __init__(self, engine: Engine, data_dir: Path, *, writable: bool):
        self._engine = engine
        self.data_dir = data_dir
        self._writable = writable

    @guard_writes
    def record(self, run: IndexRunRecord, failures: Sequence[RunFailure]) -> int:
        """Store a finished run and the first ``FAILURES_KEPT_PER_RUN`` failures. Returns its id."""
        if not self._writable:
            raise PermissionError("this Store was opened read-only")
        values = {name: getattr(run, name) for name in IndexRunRecord.__dataclass_fields__ if name != "id"}
        values["inputs"] = list(run.inputs)
        with Session(self._engine) as session, session.begin():
            run_id = session.execute(insert(IndexRunRow).values(**values).returning(IndexRunRow.id)).scalar_one()
            kept = failures[:FAILURES_KEPT_PER_RUN]
            if kept:
                session.execute(
                    insert(IndexFailureRow),
                    [{"run_id": run_id, **failure.__dict__} for failure in kept],
                )
        return run_id

    def last(self) -> IndexRunRecord | None:
        with Session(self._engine) as session:
            row = session.execute(select(IndexRunRow).order_by(IndexRunRow.id.desc()).limit(1)).scalar_one_or_none()
            return None if row is None else _record(row)

    def count(self) -> int:
        with Session(self._engine) as session:
            return session.execute(select(func.count()).select_from(IndexRunRow)).scalar_one()

    def failures(self, run_id: int, limit: int = 1000) -> list[RunFailure]:
        """The failures kept for a run, in the order they happened."""
        with Session(self._engine) as session:
            rows = session.execute(
                select(IndexFailureRow)
                .where(IndexFailureRow.run_id == run_id)
                .order_by(IndexFailureRow.id)
                .limit(limit)
            ).scalars()
            return [RunFailure(row.source, row.member, row.kind, row.reason) for row in rows]
