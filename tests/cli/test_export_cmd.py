"""rsclip export: the index's own vectors and metadata, in the same format as rsclip embed."""

from __future__ import annotations

import csv
import json

import numpy as np

from storage import Store
from tests.search_api.conftest import build_index


def test_export_writes_every_indexed_vector_with_its_id_and_metadata(cli_run, tmp_path, encoder):
    data = build_index(tmp_path, encoder)
    out = tmp_path / "export"
    status, stdout, _err = cli_run("export", "--data-dir", data.data_dir, "--out", out)
    assert status == 0 and "Exported 9 vector(s)" in stdout
    vectors = np.load(out / "vectors.npy")
    with open(out / "vectors.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert vectors.shape == (9, encoder.spec.dimension)
    assert sorted(int(row["id"]) for row in rows) == sorted(data.ids.values())
    with Store(data.data_dir) as store:
        for row in rows:
            record = store.get(int(row["id"]))
            assert (row["source"], row["member"], row["sha256"]) == (record.source, record.member, record.sha256)
            np.testing.assert_array_equal(vectors[int(row["row"])], store.vector(record.id))
    note = json.loads((out / "vectors.json").read_text())
    assert note["rows"] == 9 and note["model_fingerprint"] == encoder.spec.fingerprint


def test_export_of_a_missing_index_is_a_one_line_error(cli_run, tmp_path):
    status, _out, err = cli_run("export", "--data-dir", tmp_path / "absent", "--out", tmp_path / "out")
    assert status == 1 and err.startswith("rsclip: error: No index at")
    assert not (tmp_path / "out").exists()
