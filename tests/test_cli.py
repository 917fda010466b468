"""The pmmlserve command line: every command through the installed console script, and the
variants and error paths in-process through ``main``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pmmlserve import ModelStore
from pmmlserve.cli import main
from tests.store._docs import X_VALUES, regression_pmml

REPO = Path(__file__).resolve().parents[1]
COMMANDS = [
    "export",
    "publish",
    "versions",
    "promote",
    "rollback",
    "inspect",
    "verify",
    "score",
    "bench",
    "demo",
]


def console_script() -> str:
    script = shutil.which("pmmlserve", path=str(Path(sys.executable).parent)) or shutil.which(
        "pmmlserve"
    )
    if script is None:
        pytest.skip("the pmmlserve console script is not installed (pip install -e .)")
    return script


def run(*args: str) -> subprocess.CompletedProcess:
    """Run the installed console script (each call costs an interpreter start: one per command)."""
    # PYTHONPATH makes the script import this checkout even from an editable install whose
    # import hook was recorded before the package had its __init__ files.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [console_script(), *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.fixture
def files(tmp_path):
    """Two model versions, a document that fails verification, and input tables."""
    (tmp_path / "v1.pmml").write_bytes(regression_pmml(1.0, 2.0))
    (tmp_path / "v2.pmml").write_bytes(regression_pmml(5.0, -3.0))
    (tmp_path / "bad.pmml").write_bytes(regression_pmml(1.0, wrong_verification=True))
    (tmp_path / "plain.pmml").write_bytes(regression_pmml(1.0, verification=False))
    x = np.linspace(-50.0, 50.0, 2500)
    frame = pd.DataFrame({"id": [f"u{i:05d}" for i in range(len(x))], "x": x})
    frame.to_csv(tmp_path / "input.csv", index=False)
    frame.to_parquet(tmp_path / "input.parquet", index=False)
    return tmp_path


def one_line_error(result_stderr: str, command: str) -> str:
    lines = result_stderr.strip().splitlines()
    assert len(lines) == 1, result_stderr
    assert lines[0].startswith(f"pmmlserve {command}: error: "), lines[0]
    return lines[0]


# ------------------------------------------------------------------ through the console script


def test_store_commands_through_the_console_script(files):
    store = str(files / "store")
    r = run(
        "publish",
        "--store",
        store,
        "ctr",
        str(files / "v1.pmml"),
        "--meta",
        "auc=0.71",
        "--meta",
        "note=first",
    )
    assert r.returncode == 0, r.stderr
    assert "version 1" in r.stdout
    ModelStore(store).publish("ctr", files / "v2.pmml")

    r = run("versions", "--store", store, "ctr")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["VERSION", "CREATED"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "2"]
    assert lines[2].split()[-1] == "current"

    assert run("promote", "--store", store, "ctr", "1").returncode == 0
    assert json.loads((files / "store/ctr/aliases/current").read_text())["version"] == 1
    r = run("rollback", "--store", store, "ctr")
    assert r.returncode == 0, r.stderr
    assert "version 2" in r.stdout
    assert json.loads((files / "store/ctr/aliases/current").read_text())["version"] == 2


def test_model_commands_through_the_console_script(files):
    r = run("inspect", str(files / "v1.pmml"), "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["type"] == "RegressionModel"
    assert info["verification_rows"] == len(X_VALUES)
    assert info["bytes"] == len(regression_pmml(1.0, 2.0))
    assert [f["name"] for f in info["inputs"]] == ["x"]

    r = run("verify", str(files / "v1.pmml"))
    assert r.returncode == 0, r.stderr
    assert f"{len(X_VALUES)} verification rows" in r.stdout

    out = files / "scores.csv"
    r = run(
        "score",
        str(files / "v1.pmml"),
        str(files / "input.csv"),
        str(out),
        "--keep",
        "id",
        "--chunk-size",
        "1000",
        "--progress",
    )
    assert r.returncode == 0, r.stderr
    assert "2500" in r.stderr  # the progress display counted every row
    scores = pd.read_csv(out, dtype={"id": str})
    expected = pd.read_csv(files / "input.csv", dtype={"id": str})
    assert list(scores.columns) == ["id", "y"]
    assert scores["id"].tolist() == expected["id"].tolist()
    np.testing.assert_allclose(scores["y"], 1.0 + 2.0 * expected["x"], rtol=1e-12)

    r = run(
        "bench",
        str(files / "v1.pmml"),
        str(files / "input.csv"),
        "--duration",
        "0.05",
        "--batch-sizes",
        "1,100",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    bench = json.loads(r.stdout)
    assert bench["rows"] == 2500
    assert bench["predict_one_us"]["p50"] > 0 and bench["predict_one_us"]["calls"] >= 10
    assert set(bench["throughput_rows_per_s"]) == {"1", "100"}


def test_demo_through_the_console_script():
    r = run("demo", "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("usage: pmmlserve demo")


def test_export_through_the_console_script(tmp_path):
    pytest.importorskip("sklearn")
    import joblib
    from lxml import etree
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = (X["a"] - 0.5 * X["b"] + rng.normal(scale=0.3, size=200) > 0).astype(int)
    joblib.dump(LogisticRegression().fit(X, y), tmp_path / "model.joblib")
    X.assign(label=y).to_csv(tmp_path / "sample.csv", index=False)

    r = run(
        "export",
        str(tmp_path / "model.joblib"),
        "--sample",
        str(tmp_path / "sample.csv"),
        "--drop",
        "label",
        "--sample-rows",
        "7",
    )
    assert r.returncode == 0, r.stderr
    document = (tmp_path / "model.pmml").read_bytes()
    rows = etree.fromstring(document).findall(".//{*}ModelVerification/{*}InlineTable/{*}row")
    assert len(rows) == 7
    # The verification rows hold scikit-learn's own probabilities; the scorer must reproduce them.
    assert main(["verify", str(tmp_path / "model.pmml"), "--strict"]) == 0


# ------------------------------------------------------------------ in-process variants


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"] if command else ["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: pmmlserve {command or ''}".rstrip())
    if command is None:
        assert all(c in out for c in COMMANDS)


def test_publish_metadata_and_versions_json(files, capsys, monkeypatch):
    store = str(files / "store")
    monkeypatch.setenv("PMMLSERVE_STORE", store)
    (files / "meta.json").write_text(json.dumps({"data": {"from": "2026-01-01"}}))
    assert (
        main(
            [
                "publish",
                "ctr",
                str(files / "v1.pmml"),
                "--metadata",
                str(files / "meta.json"),
                "--meta",
                "auc=0.7",
            ]
        )
        == 0
    )
    assert main(["publish", "-s", store, "ctr", str(files / "v2.pmml"), "--no-activate"]) == 0
    assert "not activated" in capsys.readouterr().out
    assert main(["versions", "-s", store, "ctr", "--json"]) == 0
    manifests = json.loads(capsys.readouterr().out)
    assert [m["version"] for m in manifests] == [1, 2]
    assert manifests[0]["metadata"] == {"data": {"from": "2026-01-01"}, "auc": 0.7}
    assert manifests[0]["sha256"] == hashlib.sha256(regression_pmml(1.0, 2.0)).hexdigest()
    assert ModelStore(store).current("ctr").id == 1


def test_score_from_a_store_to_parquet_with_chosen_fields(files, capsys):
    store = ModelStore(files / "store")
    store.publish("ctr", files / "v1.pmml")
    store.publish("ctr", files / "v2.pmml", activate=False)
    out = files / "scores.parquet"
    argv = [
        "score",
        "--store",
        str(files / "store"),
        "ctr@2",
        str(files / "input.parquet"),
        str(out),
        "--fields",
        "y",
        "--chunk-size",
        "700",
        "--no-progress",
    ]
    assert main(argv) == 0
    scores = pd.read_parquet(out)
    x = pd.read_parquet(files / "input.parquet")["x"]
    assert list(scores.columns) == ["y"]
    np.testing.assert_allclose(scores["y"], 5.0 - 3.0 * x, rtol=1e-12)
    assert not Path(f"{out}.partial").exists()


def test_inspect_a_stored_model_by_alias(files, capsys):
    store = ModelStore(files / "store")
    store.publish("ctr", files / "v1.pmml")
    store.publish("ctr", files / "v2.pmml")
    store.set_alias("ctr", "stable", 1)
    assert main(["inspect", "--store", str(files / "store"), "ctr@stable"]) == 0
    text = capsys.readouterr().out
    assert "ctr@1" in text and "RegressionModel" in text and f"{len(X_VALUES)} rows" in text


@pytest.mark.parametrize(
    "argv, command, fragment",
    [
        (["verify", "{d}/missing.pmml"], "verify", "missing.pmml"),
        (["verify", "{d}/bad.pmml"], "verify", "ModelVerification"),
        (["promote", "-s", "{d}/store", "ctr", "1"], "promote", "version 1"),
        (["verify", "{d}/plain.pmml", "--strict"], None, "no verification rows"),
        (["publish", "-s", "{d}/store", "ctr", "{d}/bad.pmml"], "publish", "ModelVerification"),
        (
            ["publish", "-s", "{d}/store", "ctr", "{d}/v1.pmml", "--meta", "novalue"],
            "publish",
            "KEY=VALUE",
        ),
        (["rollback", "-s", "{d}/store", "ctr"], "rollback", "alias 'current'"),
        (
            ["score", "{d}/v1.pmml", "{d}/input.csv", "{d}/o.csv", "--fields", "nope"],
            "score",
            "'nope'",
        ),
        (
            ["score", "{d}/v1.pmml", "{d}/input.csv", "{d}/o.csv", "--keep", "nope"],
            "score",
            "'nope'",
        ),
        (["export", "{d}/missing.joblib", "--sample", "{d}/input.csv"], "export", "missing.joblib"),
    ],
    ids=[
        "missing-file",
        "bad-verify",
        "bad-promote",
        "strict",
        "bad-document",
        "bad-meta",
        "no-alias",
        "bad-fields",
        "bad-keep",
        "export-missing",
    ],
)
def test_errors_are_one_line_and_non_zero(files, capsys, argv, command, fragment):
    status = main([a.format(d=files) for a in argv])
    err = capsys.readouterr().err
    assert status == 1
    line = one_line_error(err, command) if command else err.strip()
    assert fragment in line
    assert not (files / "o.csv").exists() and not (files / "o.csv.partial").exists()


def test_store_commands_need_a_store(monkeypatch, capsys):
    monkeypatch.delenv("PMMLSERVE_STORE", raising=False)
    assert main(["versions", "ctr"]) == 1
    assert "PMMLSERVE_STORE" in one_line_error(capsys.readouterr().err, "versions")


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["score", "only-one-argument"])
    assert exc.value.code == 2
    assert main([]) == 2


def test_demo_forwards_arguments_or_explains_its_absence(monkeypatch, capsys):
    import types

    seen = []
    demo = types.ModuleType("pmmlserve._demo")
    demo.main = lambda argv: seen.append(argv) or 3
    monkeypatch.setitem(sys.modules, "pmmlserve._demo", demo)
    assert main(["demo", "--", "--fast", "x"]) == 3
    assert seen == [["--fast", "x"]]

    monkeypatch.setitem(sys.modules, "pmmlserve._demo", None)  # makes the import fail
    assert main(["demo"]) == 2
    assert "pmmlserve._demo is missing" in one_line_error(capsys.readouterr().err, "demo")
