"""docs/supported-pmml.md is generated from the compiler's own tables and must be current."""

from pathlib import Path

from pmmlserve.scoring._support import render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "supported-pmml.md"


def test_supported_pmml_page_is_current():
    assert DOC.read_text() == render_markdown(), (
        "docs/supported-pmml.md is stale: run `python -m pmmlserve.scoring._support > "
        "docs/supported-pmml.md`")
