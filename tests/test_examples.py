"""Every script in examples/ runs as its docstring says, on small data, in its own process."""

from __future__ import annotations

import re
import runpy
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pmmlserve

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
# the pages written with the examples; their links are checked below
PAGES = ["README.md", "docs/quickstart.md", "docs/concepts.md", "docs/store.md",
         "docs/parity.md", "docs/comparison.md"]

pytestmark = pytest.mark.slow
pytest.importorskip("sklearn")


def run(script: str, *args, cwd: Path, expect: int = 0) -> str:
    """Run an example with this interpreter; return its output, or fail showing it."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == expect, f"{script} exited {done.returncode}:\n{output}"
    return output


def test_every_example_is_covered_here():
    covered = {"train_and_export.py", "embedded_ranking.py", "embeddings_redis.py",
               "test_parity.py"}
    assert {p.name for p in EXAMPLES.glob("*.py")} == covered


def test_train_export_publish_then_rank(tmp_path):
    store_root = tmp_path / "models"
    out = run("train_and_export.py", "--store", store_root, "--name", "ctr", "--model", "lr",
              "--rows", 6000, cwd=tmp_path)
    assert "pmmlserve matches the pipeline on 1,200 rows" in out
    assert "promoted: ctr@current is version 1" in out
    run("train_and_export.py", "--store", store_root, "--name", "cvr", "--target", "conversion",
        "--model", "gbdt", "--rows", 6000, cwd=tmp_path)
    # the quality gate refuses a model and publishes nothing
    out = run("train_and_export.py", "--store", store_root, "--name", "ctr", "--model", "lr",
              "--rows", 6000, "--min-auc", 0.99, cwd=tmp_path, expect=1)
    assert "refused: AUC" in out

    store = pmmlserve.ModelStore(store_root)
    assert [v.id for v in store.versions("ctr")] == [1]
    current = store.current("ctr")
    assert current.metadata["target"] == "click" and current.metadata["valid_rows"] == 1200
    assert current.metadata["parity_max_abs_diff"] <= 1e-12
    assert store.load("cvr").has_verification

    out = run("embedded_ranking.py", "--store", store_root, "--candidates", 30, "--top", 5,
              cwd=tmp_path)
    assert "top 5 of 30 candidates by ctr^0.8 x cvr (ctr version 1, cvr version 1)" in out
    table = [line.split() for line in out.splitlines() if re.match(r"\s*i\d+\s", line)]
    scores = [float(row[3]) for row in table]
    assert len(table) == 5 and scores == sorted(scores, reverse=True)

    # the Ranker class, in this process: score = ctr^t * cvr of the served models, best first
    ranking = runpy.run_path(str(EXAMPLES / "embedded_ranking.py"))
    user, candidates = ranking["sample_request"](40, seed=3)
    with ranking["Ranker"](store, t=0.5, poll_interval=None) as ranker:
        top = ranker.rank(user, candidates, k=40)
    rows = [{**user, **item, "position": 1.0} for item in candidates]
    ctr = store.load("ctr").predict(rows)["probability(1)"].to_numpy()
    cvr = store.load("cvr").predict(rows)["probability(1)"].to_numpy()
    expected = sorted(zip(ctr**0.5 * cvr, [c["item_id"] for c in candidates]), reverse=True)
    assert top["item_id"].tolist() == [item for _, item in expected]
    np.testing.assert_allclose(top["score"], [s for s, _ in expected], rtol=1e-15)


def test_ranking_without_models_says_what_to_run(tmp_path):
    out = run("embedded_ranking.py", "--store", tmp_path / "empty", cwd=tmp_path, expect=1)
    assert "Run examples/train_and_export.py first" in out


def test_the_team_test_suite_example_passes(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--basetemp", str(tmp_path / "basetemp"), str(EXAMPLES / "test_parity.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b[56] passed\b", done.stdout), done.stdout


@pytest.fixture
def redis_server(tmp_path):
    """A throwaway redis-server on a Unix socket in tmp_path (no TCP port, no disk writes)."""
    redis = pytest.importorskip("redis", reason="the redis client is not installed")
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not on PATH: install Debian's redis-server package "
                    "(apt-get install redis-server) to run the Redis example")
    socket = tmp_path / "redis.sock"
    server = subprocess.Popen(
        [binary, "--port", "0", "--unixsocket", str(socket), "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"unix://{socket}"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 60  # how long to wait for startup, not a timing check
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    pytest.fail(f"redis-server did not start:\n{server.communicate()[0]}")
                time.sleep(0.05)
        yield url, client
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout:
            server.stdout.close()


def test_embeddings_in_redis_feed_the_online_model(redis_server, tmp_path):
    url, client = redis_server
    out = run("embeddings_redis.py", "--redis-url", url, "--rows", 6000, "--dim", 6,
              cwd=tmp_path)
    written = int(re.search(r"wrote ([\d,]+) embeddings", out).group(1).replace(",", ""))
    keys = client.keys("pmmlserve-example:emb:*")
    assert len(keys) == written
    assert {len(client.get(k)) for k in keys[:50]} == {6 * 4}  # float32 x dim
    assert "(cold-start)" in out
    assert "online scores equal the scikit-learn pipeline's on 300 requests" in out


def test_the_quickstart_runs_as_written(tmp_path, monkeypatch):
    page = (ROOT / "docs" / "quickstart.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, re.S)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/quickstart.md", "exec"), namespace)  # noqa: S102 - our page
    assert namespace["report"].passed and namespace["version"].id == 1
    request = namespace["request"]
    expected = namespace["pipeline"].predict_proba(pd.DataFrame([request]))[0, 1]
    served = namespace["live"].predict_one(request)["probability(1)"]
    assert served == pytest.approx(expected, rel=1e-12)


def _anchor(heading: str) -> str:
    """The fragment GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES)
def test_links_resolve(page):
    source = ROOT / page
    for target in re.findall(r"\]\(([^)\s]+)\)", source.read_text()):
        if re.match(r"[a-z]+://", target):
            continue
        path, _, fragment = target.partition("#")
        linked = (source.parent / path).resolve() if path else source
        assert linked.exists(), f"{page}: broken link {target}"
        if fragment:
            headings = re.findall(r"^#+ (.+)$", linked.read_text(), re.M)
            assert fragment in {_anchor(h) for h in headings}, f"{page}: no anchor {target}"
