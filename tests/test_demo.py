"""The end-to-end demo (README command one) on a small table."""

import io

import pytest


def test_demo_trains_exports_publishes_serves_and_reports(tmp_path):
    pytest.importorskip("sklearn")
    from pmmlserve._demo import run

    out = io.StringIO()
    table = run(rows=4000, workdir=tmp_path, seed=1, out=out)
    assert list(table.index) == ["ctr_lr", "ctr_gbdt", "ctr_fm", "cvr_gbdt"]
    # the online scores (PMML through LiveModel) are the offline ones (scikit-learn)
    assert (table["max |offline-online|"] < 1e-9).all()
    assert (table.loc[["ctr_lr", "ctr_gbdt", "ctr_fm"], "AUC"] > 0.55).all()
    assert (tmp_path / "store" / "ctr_gbdt").is_dir()
    text = out.getvalue()
    assert "CTR^0.8 x CVR" in text and "ctr_fm" in text
