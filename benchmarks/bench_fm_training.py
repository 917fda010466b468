"""Training throughput of the factorization machines on one-hot CTR-shaped data.

Builds ``--rows`` rows of ``--columns`` categorical columns with ``--levels`` levels each,
one-hot encoded as CSR (10 x 100 = 1,000 columns by default), and times one epoch of
``FMClassifier.partial_fit`` (k = 8) per solver.  Prints a Markdown table row per solver.

Run with::

    python benchmarks/bench_fm_training.py                # 1,000,000 rows
    python benchmarks/bench_fm_training.py --rows 100000 --solvers adagrad
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import scipy.sparse as sp

from pmmlserve.fm import FMClassifier


def one_hot_data(rows: int, columns: int, levels: int, seed: int = 0):
    """CSR one-hot matrix of random categoricals and a label with pairwise interactions."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, levels, size=(rows, columns))
    indices = (codes + levels * np.arange(columns)).ravel().astype(np.int32)
    indptr = np.arange(0, rows * columns + 1, columns, dtype=np.int64)
    X = sp.csr_matrix((np.ones(rows * columns), indices, indptr), shape=(rows, columns * levels))
    emb = rng.normal(0.0, 0.5, size=(columns * levels, 4))
    XE = X @ emb
    logit = 0.5 * ((XE * XE).sum(axis=1) - X @ (emb * emb).sum(axis=1)) / columns - 0.5
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    return X, y


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--levels", type=int, default=100)
    parser.add_argument("--factors", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--solvers", nargs="+", default=["adagrad", "sgd", "ftrl"])
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    X, y = one_hot_data(args.rows, args.columns, args.levels)
    prep = time.perf_counter() - t0
    print(f"data: {X.shape[0]:,} rows x {X.shape[1]:,} one-hot columns, nnz {X.nnz:,} "
          f"(built in {prep:.1f} s); Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs\n")
    print("| benchmark | rows | columns | k | batch | solver | epoch time (s) | rows/s |")
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for solver in args.solvers:
        model = FMClassifier(n_factors=args.factors, solver=solver, batch_size=args.batch_size,
                             random_state=0)
        start = time.perf_counter()
        model.partial_fit(X, y, classes=[0, 1])
        seconds = time.perf_counter() - start
        print(f"| FM training, 1 epoch | {X.shape[0]:,} | {X.shape[1]:,} | {args.factors} | "
              f"{args.batch_size} | {solver} | {seconds:.1f} | {X.shape[0] / seconds:,.0f} |")


if __name__ == "__main__":
    main()
