"""The run log: migration 2 -> 3 adds it to an existing catalog; runs and their failures round-trip."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from storage import IndexRunRecord, ModelIdentity, NewImage, RunFailure, Store
from storage import runs as run_log
from storage.schema import CURRENT_VERSION
from tests.catalogs import catalog_sql
from tests.storage.test_index_build_migration import DROP_INDEX_BUILD_COLUMNS
from tests.storage.test_vector_file_migration import downgrade_to_version_5

pytestmark = pytest.mark.both_catalogs

MODEL = ModelIdentity("tiny", "f" * 64, 4)


def _run_record(failed: int, kinds: dict[str, int]) -> IndexRunRecord:
    now = datetime.now(timezone.utc)
    return IndexRunRecord(now, now, ("/in",), seen=failed + 1, added=1, already_indexed=0, duplicates=0,
                          failed=failed, failures_by_kind=kinds)


def _store_with_one_image(data_dir) -> None:
    with Store(data_dir, writable=True) as store:
        store.bind_model(MODEL)
        store.add([NewImage("/in", "a.png", "a" * 64, 10, 2, 2, "PNG")], np.eye(1, 4, dtype=np.float32))
        store.save()


def test_a_catalog_from_before_the_run_log_is_migrated_and_keeps_its_images(tmp_path):
    _store_with_one_image(tmp_path)
    downgrade_to_version_5(tmp_path)
    catalog_sql(  # make it what version 2 wrote
        tmp_path,
        "DROP TABLE index_failures; DROP TABLE index_runs;"
        "DROP TABLE locations;"  # a later version's additions, so it is a true v2
        "ALTER TABLE generations DROP COLUMN status; UPDATE schema_version SET version = 2;"
        + DROP_INDEX_BUILD_COLUMNS,
    )
    with Store(tmp_path, writable=True) as store:
        assert store.count() == 1
        assert store.runs.last() is None
        run_id = store.runs.record(_run_record(1, {"empty": 1}), [RunFailure("/in", "z.png", "empty", "empty file")])
    assert catalog_sql(tmp_path, "SELECT version FROM schema_version") == [(CURRENT_VERSION,)]
    with Store(tmp_path) as store:
        assert store.runs.last().id == run_id
        assert store.runs.failures(run_id) == [RunFailure("/in", "z.png", "empty", "empty file")]


def test_failures_kept_are_capped_but_counts_stay_exact(tmp_path, monkeypatch):
    _store_with_one_image(tmp_path)
    monkeypatch.setattr(run_log, "FAILURES_KEPT_PER_RUN", 3)
    failures = [RunFailure("/in", f"{n}.png", "corrupt-image", "cannot decode") for n in range(5)]
    with Store(tmp_path, writable=True) as store:
        run_id = store.runs.record(_run_record(5, {"corrupt-image": 5}), failures)
    with Store(tmp_path) as store:
        last = store.runs.last()
        assert (last.failed, last.failures_by_kind) == (5, {"corrupt-image": 5})
        assert [f.member for f in store.runs.failures(run_id)] == ["0.png", "1.png", "2.png"]


@pytest.mark.sqlite_only
def test_opening_an_up_to_date_catalog_writes_nothing(tmp_path):
    from sqlalchemy import event

    from storage.catalog import default_database_url, make_engine
    from storage.schema import ensure_schema

    _store_with_one_image(tmp_path)
    engine = make_engine(default_database_url(tmp_path))

    @event.listens_for(engine, "connect")
    def _refuse_writes(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA query_only=ON")  # any write now fails, as on a full disk

    assert ensure_schema(engine) == CURRENT_VERSION
    engine.dispose()
