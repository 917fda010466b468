"""Export speed and size: a 500-tree depth-6 GradientBoostingClassifier, native vs sklearn2pmml.

Fits the model on a synthetic CTR-shaped table (numeric columns and one-hot categoricals),
times ``pmmlserve.export`` (best of ``--repeat``) and sklearn2pmml's export of the same fitted
pipeline (one run: it starts a JVM), and compares the documents' sizes.  Prints a Markdown
table.  A benchmark, not a test: it asserts nothing about time.

Run with::

    python benchmarks/bench_export.py                      # 500 trees, depth 6
    python benchmarks/bench_export.py --trees 100 --repeat 1
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.preprocessing import OneHotEncoder

import pmmlserve


def ctr_table(rows: int, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "hour": rng.integers(0, 24, rows).astype(float),
        "price": rng.lognormal(3, 1, rows),
        "position": rng.integers(1, 10, rows).astype(float),
        "device": rng.choice(["ios", "android", "web"], rows),
        "category": rng.choice([f"c{i}" for i in range(12)], rows),
    })
    logit = (np.sin(X["hour"] / 4) - 0.2 * X["position"] + (X["device"] == "ios")
             + 0.1 * np.log(X["price"]) + rng.normal(0, 1, rows))
    return X, pd.Series((logit > 0).astype(int), name="clicked")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=int, default=500)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    X, y = ctr_table(args.rows)
    pre = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"),
                              ["device", "category"])], remainder="passthrough")
    model = GradientBoostingClassifier(n_estimators=args.trees, max_depth=args.depth,
                                       random_state=0)
    t0 = time.perf_counter()
    try:
        from sklearn2pmml.pipeline import PMMLPipeline
        pipeline = PMMLPipeline([("pre", pre), ("gbc", model)])
    except ImportError:
        from sklearn.pipeline import Pipeline
        pipeline = Pipeline([("pre", pre), ("gbc", model)])
    pipeline.fit(X, y)
    fit_seconds = time.perf_counter() - t0

    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        native = pmmlserve.export(pipeline, target_name="clicked")
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    with_sample = pmmlserve.export(pipeline, target_name="clicked", sample=X.iloc[:100])
    sample_seconds = time.perf_counter() - t0

    reference, reference_seconds = None, None
    try:
        from sklearn2pmml import sklearn2pmml

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "gbc.pmml"
            t0 = time.perf_counter()
            sklearn2pmml(pipeline, str(path))
            reference_seconds = time.perf_counter() - t0
            reference = path.read_bytes()
    except Exception as exc:  # no Java, or sklearn2pmml missing: report, do not fail
        print(f"sklearn2pmml unavailable: {exc}")

    print(f"{args.trees} trees, depth {args.depth}, {args.rows} rows "
          f"(fit {fit_seconds:.1f} s) on {platform.machine()}, Python "
          f"{platform.python_version()}\n")
    print("| exporter | seconds | bytes |")
    print("| --- | ---: | ---: |")
    print(f"| pmmlserve (best of {args.repeat}) | {min(times):.2f} | {len(native):,} |")
    print(f"| pmmlserve + 100-row ModelVerification | {sample_seconds:.2f} | "
          f"{len(with_sample):,} |")
    if reference is not None:
        print(f"| sklearn2pmml (incl. JVM start) | {reference_seconds:.2f} | "
              f"{len(reference):,} |")
        print(f"\nsize ratio pmmlserve / sklearn2pmml: {len(native) / len(reference):.3f}")


if __name__ == "__main__":
    main()
