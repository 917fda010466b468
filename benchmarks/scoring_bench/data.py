"""A synthetic CTR-like table: 8 numeric columns with gaps, 4 string categoricals, a click label.

The categoricals follow Zipf-like frequencies (a few very common levels, a long tail), as ad
``site`` or ``campaign`` ids do; the label has a ~20 % base rate and depends on numeric, categorical
and interaction terms so that every model learns non-trivial structure.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["NUMERIC", "CATEGORICAL", "COLUMNS", "TARGET", "make_table", "to_records"]

NUMERIC = [
    "user_age",
    "hour_of_day",
    "bid_price",
    "ctr_7d",
    "dwell_time",
    "impressions_24h",
    "clicks_24h",
    "slot_position",
]
# name -> number of levels (varying cardinality, as in the issue)
CATEGORICAL = {"device": 3, "os": 8, "site": 40, "campaign": 250}
COLUMNS = NUMERIC + list(CATEGORICAL)
TARGET = "click"
MISSING_RATE = 0.05


def _numeric(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    impressions = rng.poisson(20, n).astype(float)
    return {
        "user_age": np.round(rng.normal(38, 12, n).clip(16, 90)),
        "hour_of_day": rng.integers(0, 24, n).astype(float),
        "bid_price": rng.lognormal(0.0, 0.8, n),
        "ctr_7d": rng.beta(2, 30, n),
        "dwell_time": rng.exponential(35.0, n),
        "impressions_24h": impressions,
        "clicks_24h": rng.binomial(impressions.astype(int), 0.05).astype(float),
        "slot_position": rng.integers(1, 11, n).astype(float),
    }


def _categorical(rng: np.random.Generator, name: str, levels: int, n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, levels + 1) ** 1.1
    codes = rng.choice(levels, size=n, p=weights / weights.sum())
    return np.array([f"{name}_{k}" for k in range(levels)], dtype=object)[codes]


def make_table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Return ``(X, y)``: ``n`` rows of the CTR table and the 0/1 click label.

    Numeric columns are float64 with ~5 % NaN each; categoricals are strings with no gaps
    (skl2onnx cannot feed a missing string).  The same ``seed`` gives the same table.
    """
    rng = np.random.default_rng(seed)
    num = _numeric(rng, n)
    cat = {name: _categorical(rng, name, k, n) for name, k in CATEGORICAL.items()}
    site_effect = rng.normal(0, 0.6, CATEGORICAL["site"])
    site_code = np.array([int(s.rsplit("_", 1)[1]) for s in cat["site"]])
    logit = (
        -1.9
        + 25.0 * (num["ctr_7d"] - 0.0625)
        - 0.15 * (num["slot_position"] - 5)
        + 0.4 * np.sin(num["hour_of_day"] / 24 * 2 * math.pi)
        + 0.3 * (cat["device"] == "device_0")
        + site_effect[site_code]
        + 0.02 * (num["dwell_time"] - 35) * (cat["device"] == "device_1")
        + 0.4 * (num["clicks_24h"] > 1)
    )
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    X = pd.DataFrame(num)
    for col in NUMERIC:
        X.loc[rng.random(n) < MISSING_RATE, col] = np.nan
    for name, values in cat.items():
        X[name] = values
    return X[COLUMNS], y


def to_records(X: pd.DataFrame) -> list[dict]:
    """Rows as JSON-like dicts, the shape an online request carries: a gap is ``None``."""
    records = X.to_dict(orient="records")
    for record in records:
        for key, value in record.items():
            if isinstance(value, float) and value != value:
                record[key] = None
    return records
