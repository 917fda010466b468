"""The README's quickstart runs as written (in a temporary directory)."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_opens_with_the_two_commands():
    first_block = re.search(r"```\n(.*?)```", README.read_text(), re.S).group(1)
    assert first_block.split() == ["make", "demo", "make", "test"]


def test_quickstart_runs_as_written(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    assert len(code.strip().splitlines()) <= 20
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    model = namespace["model"]
    assert (tmp_path / "ctr.pmml").exists()
    assert model.has_verification
    record = {"item_price": 12.5, "hour": 20, "position": 1, "device": "mobile", "site": "video"}
    import pandas as pd

    expected = namespace["pipeline"].predict_proba(pd.DataFrame([record]))[0, 1]
    assert model.predict_one(record)["probability(1)"] == pytest.approx(expected, rel=1e-9)
