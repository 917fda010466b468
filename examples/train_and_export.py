"""The export job a team runs after training: fit, check, export, publish, promote.

    python examples/train_and_export.py --store ./models --name ctr --target click
    python examples/train_and_export.py --store ./models --name cvr --target conversion

1. Fit a scikit-learn pipeline on the older 80 % of an impression log (the synthetic one of
   ``pmmlserve.datasets.make_ctr``; replace ``load_training_data`` with your own).
2. Measure it on the newer 20 %, and refuse to go on below ``--min-auc``.
3. Export it to PMML with ModelVerification rows (the estimator's own predictions for sample
   rows), and check with ``assert_parity`` that pmmlserve scores every validation row as the
   estimator does: a model that would serve different numbers never leaves this job.
4. Publish it as the next version of ``--name`` in the store (the store replays the
   verification rows again), with its metrics and training facts as metadata.
5. Promote it to ``current`` unless the version serving now has a better validation AUC
   (``--force`` promotes anyway); serving processes (``LiveModel``) pick it up by themselves.

Exit status: 0 when a version was published (promoted or not), 1 when a check refused it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import pmmlserve
from pmmlserve.datasets import make_ctr
from pmmlserve.fm import FMClassifier
from pmmlserve.testing import ParityError, assert_parity

NUMERIC = ["user_age", "user_activity", "item_price", "item_ctr_7d", "hour", "position"]
CATEGORICAL = ["ad_category", "device", "region", "site"]
FEATURES = NUMERIC + CATEGORICAL


def load_training_data(rows: int, seed: int) -> pd.DataFrame:
    """The impression log, oldest first (here: synthetic)."""
    return make_ctr(rows, seed=seed)


def make_model(kind: str, seed: int):
    """A preprocessing + model pipeline; every step has a native PMML converter."""
    scaled = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    numeric = scaled if kind in ("lr", "fm") else SimpleImputer(strategy="median")
    features = make_column_transformer(
        (numeric, NUMERIC), (OneHotEncoder(handle_unknown="ignore"), CATEGORICAL))
    model = {
        "lr": lambda: LogisticRegression(max_iter=1000),
        "gbdt": lambda: GradientBoostingClassifier(
            n_estimators=60, max_depth=3, learning_rate=0.1, random_state=seed),
        "fm": lambda: FMClassifier(n_factors=8, max_iter=10, random_state=seed),
    }[kind]()
    return make_pipeline(features, model)


def train(args) -> tuple[object, pd.DataFrame, pd.Series, dict]:
    log = load_training_data(args.rows, args.seed)
    if args.target == "conversion":  # a CVR model is P(conversion | click)
        log = log[log["click"] == 1].reset_index(drop=True)
    cut = int(len(log) * 0.8)  # a time split: validate on the newer rows
    train_rows, valid_rows = log.iloc[:cut], log.iloc[cut:].reset_index(drop=True)
    pipeline = make_model(args.model, args.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)  # e.g. FM stopping at max_iter
        pipeline.fit(train_rows[FEATURES], train_rows[args.target])
    X_valid, y_valid = valid_rows[FEATURES], valid_rows[args.target]
    p = pipeline.predict_proba(X_valid)[:, 1]
    metrics = {
        "auc": float(roc_auc_score(y_valid, p)),
        "log_loss": float(log_loss(y_valid, np.clip(p, 1e-15, 1 - 1e-15))),
        "train_rows": len(train_rows),
        "valid_rows": len(valid_rows),
        "positive_rate": float(train_rows[args.target].mean()),
    }
    return pipeline, X_valid, y_valid, metrics


def should_promote(store: pmmlserve.ModelStore, name: str, auc: float, force: bool) -> bool:
    """Promote unless the serving version was measured better (on its own validation rows)."""
    if force:
        return True
    try:
        serving = store.current(name)
    except pmmlserve.VersionNotFoundError:
        return True  # the first version of this model
    serving_auc = serving.metadata.get("auc")
    if serving_auc is not None and serving_auc > auc + 0.005:
        print(f"  version {serving.id} serves with AUC {serving_auc:.4f}, better than "
              f"{auc:.4f}: not promoting (use --force to promote anyway)")
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="models", help="store root: a path or fsspec URL")
    parser.add_argument("--name", default="ctr", help="model name in the store")
    parser.add_argument("--target", choices=["click", "conversion"], default="click")
    parser.add_argument("--model", choices=["lr", "gbdt", "fm"], default="gbdt")
    parser.add_argument("--rows", type=int, default=50_000, help="impressions to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-auc", type=float, default=0.55,
                        help="refuse a model whose validation AUC is lower")
    parser.add_argument("--force", action="store_true", help="promote even if not better")
    args = parser.parse_args(argv)

    print(f"training {args.model} for {args.target} on {args.rows:,} impressions")
    pipeline, X_valid, _, metrics = train(args)
    print(f"  validation AUC {metrics['auc']:.4f}, log-loss {metrics['log_loss']:.4f} "
          f"({metrics['valid_rows']:,} rows)")
    if metrics["auc"] < args.min_auc:
        print(f"refused: AUC {metrics['auc']:.4f} is below --min-auc {args.min_auc}")
        return 1

    document = pmmlserve.export(pipeline, sample=X_valid.head(50), model_name=args.name)
    try:
        report = assert_parity(pipeline, document, X_valid)
    except ParityError as exc:
        print(f"refused: the exported document does not score like the pipeline\n{exc}")
        return 1
    print(f"  exported {len(document) / 1024:.0f} KiB of PMML; pmmlserve matches the pipeline "
          f"on {report.rows:,} rows (max |difference| {report.max_abs_diff:.2g})")

    store = pmmlserve.ModelStore(args.store)
    metadata = dict(metrics, model=args.model, target=args.target, seed=args.seed,
                    parity_max_abs_diff=report.max_abs_diff,
                    trained_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    promote = should_promote(store, args.name, metrics["auc"], args.force)
    version = store.publish(args.name, document, metadata=metadata, activate=False)
    print(f"  published {args.name} version {version.id} at {version.location}")
    if promote:
        store.promote(args.name, version)
        print(f"  promoted: {args.name}@current is version {version.id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
