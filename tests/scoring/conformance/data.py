"""A small, seeded, CTR-like data set and the evaluation rows every conformance case is scored on.

The training frame has numeric columns with NaN and string categoricals (one of them with rare
levels, one with NaN).  The evaluation frame mixes fresh rows from the same generator with rows
built to hit the corners: every column missing in turn, every categorical unseen in turn, an
all-missing row and out-of-range numbers.  Tree cases add rows whose values sit exactly on the
fitted split thresholds (see :func:`threshold_rows`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEED = 20240611
N_TRAIN = 400
N_FRESH = 120

NUMERIC = ["age", "income", "hour", "price"]
CATEGORICAL = ["device", "country", "site", "browser"]
FEATURES = NUMERIC + CATEGORICAL
TARGETS = {"binary": "click", "multiclass": "segment", "multiclass_int": "segment_code",
           "regression": "revenue"}

_DEVICES = (["mobile", "desktop", "tablet"], [0.6, 0.3, 0.1])
_COUNTRIES = (["FR", "DE", "US", "GB", "ES", "IT", "LU", "MT"],
              [0.25, 0.2, 0.2, 0.15, 0.1, 0.06, 0.02, 0.02])
_SITES = (["news", "shop", "social", "video", "games"], [0.3, 0.25, 0.2, 0.15, 0.1])
_BROWSERS = (["chrome", "safari", "firefox", "edge"], [0.55, 0.25, 0.12, 0.08])

UNSEEN = {"device": "smart_tv", "country": "ZZ", "site": "forum", "browser": "opera"}


def _draw(rng: np.random.Generator, n: int) -> pd.DataFrame:
    def choice(levels):
        return rng.choice(levels[0], size=n, p=levels[1]).astype(object)

    age = np.round(rng.normal(38, 12, n).clip(18, 80))
    income = np.round(rng.lognormal(10.3, 0.5, n), 2)
    hour = rng.integers(0, 24, n).astype(float)
    price = np.round(rng.gamma(2.0, 1.5, n), 3)
    X = pd.DataFrame({
        "age": age, "income": income, "hour": hour, "price": price,
        "device": choice(_DEVICES), "country": choice(_COUNTRIES),
        "site": choice(_SITES), "browser": choice(_BROWSERS),
    })
    for col, rate in [("age", 0.08), ("income", 0.1), ("price", 0.05)]:
        X.loc[rng.random(n) < rate, col] = np.nan
    X.loc[rng.random(n) < 0.07, "browser"] = None
    return X


def _targets(rng: np.random.Generator, X: pd.DataFrame) -> pd.DataFrame:
    n = len(X)
    age = X["age"].fillna(38).to_numpy()
    income = X["income"].fillna(30000).to_numpy()
    hour = X["hour"].to_numpy()
    price = X["price"].fillna(3).to_numpy()
    mobile = (X["device"] == "mobile").to_numpy()
    shop = (X["site"] == "shop").to_numpy()
    logit = (-1.0 + 0.9 * mobile + 0.7 * shop - 0.03 * (age - 38) + 0.08 * (hour - 12)
             - 0.25 * (price - 3) + rng.normal(0, 0.8, n))
    click = (logit > 0).astype(int)
    score = np.log(income) + 0.3 * shop + rng.normal(0, 0.35, n)
    segment = np.where(score < 10.1, "low", np.where(score < 10.6, "mid", "high")).astype(object)
    revenue = np.round(2.0 + 0.05 * age + 1.5 * shop - 0.4 * price + 0.7 * mobile
                       + rng.normal(0, 1.0, n), 4)
    segment_code = pd.Series(segment).map({"low": 0, "mid": 1, "high": 2}).to_numpy()
    return pd.DataFrame({"click": click, "segment": segment, "segment_code": segment_code,
                         "revenue": revenue})


def training_frame(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(X, y)``: the training features and the three target columns."""
    rng = np.random.default_rng(seed)
    X = _draw(rng, N_TRAIN)
    return X, _targets(rng, X)


def _corner_rows(template: pd.Series) -> list[dict]:
    rows = []
    base = template.to_dict()
    for col in FEATURES:  # one missing value at a time
        rows.append({**base, col: np.nan if col in NUMERIC else None})
    for col, value in UNSEEN.items():  # one unseen category at a time
        rows.append({**base, col: value})
    rows.append({**base, **UNSEEN})
    rows.append({col: (np.nan if col in NUMERIC else None) for col in FEATURES})
    rows.append({**base, "age": 120.0, "income": 1e7, "price": 0.0, "hour": 23.0})
    rows.append({**base, "age": -5.0, "income": 0.5, "price": 1e3, "hour": 0.0})
    return rows


def evaluation_frame(seed: int = SEED) -> pd.DataFrame:
    """Rows every case is scored on: fresh draws (with some unseen levels) plus corner rows."""
    rng = np.random.default_rng(seed + 1)
    fresh = _draw(rng, N_FRESH)
    for col, value in UNSEEN.items():
        fresh.loc[rng.random(N_FRESH) < 0.06, col] = value
    corners = pd.DataFrame(_corner_rows(fresh.iloc[0]))
    return pd.concat([fresh, corners], ignore_index=True)[FEATURES]


def threshold_rows(template: pd.Series, thresholds: dict[str, list[float]],
                   limit_per_column: int = 6) -> pd.DataFrame:
    """Rows equal to ``template`` except for one column set on (and one ULP around) a threshold.

    ``thresholds`` maps a raw numeric column to the split thresholds found in the fitted model.
    For each threshold ``t`` the rows carry ``t`` itself, its float64 neighbours, and ``t``
    rounded to float32 (the value a float-context model compares against).
    """
    rows = []
    base = template.to_dict()
    for col, values in sorted(thresholds.items()):
        values = sorted(set(values))
        spread = np.unique(np.linspace(0, len(values) - 1, limit_per_column).round().astype(int))
        for t in (values[i] for i in spread):
            candidates = {t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf),
                          float(np.float32(t))}
            rows.extend({**base, col: float(v)} for v in sorted(candidates))
    return pd.DataFrame(rows, columns=FEATURES)
