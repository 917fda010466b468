"""The end-to-end demo behind ``make demo`` / ``pmmlserve demo``.

Train LR, GBDT and FM click models and a GBDT conversion model on a synthetic CTR log, export
each to PMML with verification rows, publish them to a local store, serve them through
``LiveModel``s, rank one request's candidates by CTR^t x CVR, and print held-out quality, the
offline/online difference and latencies next to the scikit-learn pipelines'.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pandas as pd

__all__ = ["main"]

NUMERIC = ["user_age", "user_activity", "item_price", "item_ctr_7d", "hour", "position"]
CATEGORICAL = ["ad_category", "device", "region", "site"]


def _progress(steps: list[str]) -> Callable[[str], None]:
    """A small progress bar on stderr (tqdm when installed)."""
    try:
        from tqdm import tqdm

        bar = tqdm(total=len(steps), desc="demo", unit="step", file=sys.stderr, leave=True)

        def advance(label: str) -> None:
            bar.set_postfix_str(label)
            bar.update(1)
            if bar.n == bar.total:
                bar.close()
        return advance
    except ImportError:  # pragma: no cover - tqdm is in the demo's extras
        done = [0]

        def advance(label: str) -> None:
            done[0] += 1
            print(f"[{done[0]}/{len(steps)}] {label}", file=sys.stderr)
        return advance


def _pipelines():
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from pmmlserve.fm import FMClassifier

    def features(scale: bool):
        numeric = make_pipeline(SimpleImputer(), StandardScaler()) if scale else SimpleImputer()
        return make_column_transformer(
            (numeric, NUMERIC),
            (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL))

    return {
        "ctr_lr": make_pipeline(features(True), LogisticRegression(max_iter=1000)),
        "ctr_gbdt": make_pipeline(features(False), GradientBoostingClassifier(
            n_estimators=100, max_depth=3, random_state=0)),
        "ctr_fm": make_pipeline(features(True), FMClassifier(
            n_factors=8, max_iter=8, random_state=0)),
        "cvr_gbdt": make_pipeline(features(False), GradientBoostingClassifier(
            n_estimators=60, max_depth=3, random_state=0)),
    }


def _median_us(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
    return float(np.median(times)) / 1e3


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()}
            for r in frame.to_dict("records")]


def run(rows: int = 30_000, workdir: Optional[Path] = None, seed: int = 0,
        out=sys.stdout) -> pd.DataFrame:
    """Run the demo; returns the summary table it prints."""
    from sklearn.metrics import log_loss, roc_auc_score

    import pmmlserve
    from pmmlserve.datasets import make_ctr

    workdir = Path(workdir or "pmmlserve-demo")
    pipelines = _pipelines()
    steps = ["data"] + [f"train {n}" for n in pipelines] + [f"export {n}" for n in pipelines] \
        + ["publish", "serve", "rank", "measure"]
    advance = _progress(steps)

    df = make_ctr(rows, seed=seed)
    features = NUMERIC + CATEGORICAL
    cut = int(len(df) * 0.8)
    train, test = df.iloc[:cut], df.iloc[cut:].reset_index(drop=True)
    advance("data")

    for name, pipe in pipelines.items():
        label = "conversion" if name.startswith("cvr") else "click"
        rows_ = train if label == "click" else train[train["click"] == 1]
        with warnings.catch_warnings():
            # a demo trains few epochs on purpose; the estimator says so, the demo need not
            warnings.simplefilter("ignore", category=Warning)
            pipe.fit(rows_[features], rows_[label])
        advance(f"train {name}")

    documents = {}
    for name, pipe in pipelines.items():
        documents[name] = pmmlserve.export(pipe, sample=train[features].head(30),
                                           model_name=name)
        advance(f"export {name}")

    store = pmmlserve.ModelStore(workdir / "store")
    for name, doc in documents.items():
        store.publish(name, doc, metadata={"rows": len(train), "seed": seed})
    advance("publish")

    live = {name: pmmlserve.LiveModel(store, name, poll_interval=2.0) for name in documents}
    advance("serve")

    # one request: a user and 20 candidate items, ranked by CTR^t * CVR
    request = test.iloc[:20][features]
    t = 0.8
    ctr = live["ctr_gbdt"].predict(request)["probability(1)"].to_numpy()
    cvr = live["cvr_gbdt"].predict(request)["probability(1)"].to_numpy()
    ranking = pd.DataFrame({"item_id": test.iloc[:20]["item_id"], "ctr": ctr, "cvr": cvr,
                            "score": ctr ** t * cvr}).sort_values("score", ascending=False)
    advance("rank")

    X_test = test[features]
    records = _records(X_test.head(300))
    one_row = X_test.head(1)
    summary = []
    for name, pipe in pipelines.items():
        label = "conversion" if name.startswith("cvr") else "click"
        rows_ = test if label == "click" else test[test["click"] == 1]
        offline = pipe.predict_proba(rows_[features])[:, 1]
        online = live[name].predict(rows_[features])["probability(1)"].to_numpy()
        model = live[name]
        summary.append({
            "model": name,
            "AUC": roc_auc_score(rows_[label], online),
            "log-loss": log_loss(rows_[label], np.clip(online, 1e-15, 1 - 1e-15)),
            "max |offline-online|": float(np.max(np.abs(offline - online))),
            "pmmlserve 1 record (us)": _median_us(
                lambda it=iter(records * 4): model.predict_one(next(it)), 1000),
            "sklearn 1 record (us)": _median_us(lambda: pipe.predict_proba(one_row), 50),
            "pmmlserve 6k rows (ms)": _median_us(lambda: model.predict(X_test), 5) / 1e3,
            "sklearn 6k rows (ms)": _median_us(lambda: pipe.predict_proba(X_test), 5) / 1e3,
        })
    advance("measure")
    for model in live.values():
        model.close()

    table = pd.DataFrame(summary).set_index("model")
    with pd.option_context("display.width", 200, "display.max_columns", 20,
                           "display.float_format", lambda v: f"{v:.4g}"):
        print(f"\nTrained on {len(train):,} impressions, evaluated on {len(test):,}; "
              f"store at {store.root if hasattr(store, 'root') else workdir / 'store'}\n",
              file=out)
        print(table.to_string(), file=out)
        print(f"\nTop 5 of one request's 20 candidates by CTR^{t} x CVR:", file=out)
        print(ranking.head(5).to_string(index=False), file=out)
    return table


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``pmmlserve demo``."""
    parser = argparse.ArgumentParser(prog="pmmlserve demo", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000, help="impressions to generate")
    parser.add_argument("--workdir", default="pmmlserve-demo",
                        help="where the model store is created (default: ./pmmlserve-demo)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    run(args.rows, Path(args.workdir), args.seed)
    print(f"\nDone in {time.perf_counter() - start:.1f} s.")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
