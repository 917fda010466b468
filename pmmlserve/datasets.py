"""Synthetic data sets for demos, tests and benchmarks.

>>> from pmmlserve.datasets import make_ctr
>>> df = make_ctr(1000, seed=0)
>>> sorted(df.columns)[:4]
['ad_category', 'click', 'conversion', 'device']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["make_ctr", "CTR_NUMERIC", "CTR_CATEGORICAL"]

#: numeric feature columns of :func:`make_ctr` (some with missing values)
CTR_NUMERIC = ["user_age", "user_activity", "item_price", "item_ctr_7d", "hour", "position"]
#: categorical feature columns of :func:`make_ctr` (two are high-cardinality IDs)
CTR_CATEGORICAL = ["user_id", "item_id", "ad_category", "device", "region", "site"]


def _zipf_ids(rng: np.random.Generator, n: int, levels: int, prefix: str) -> np.ndarray:
    ranks = np.arange(1, levels + 1)
    p = 1.0 / ranks
    p /= p.sum()
    return np.char.add(prefix, rng.choice(levels, size=n, p=p).astype(str)).astype(object)


def make_ctr(n_rows: int = 50_000, seed: int = 0, *, n_users: int = 2_000,
             n_items: int = 500) -> pd.DataFrame:
    """Generate a click-through / conversion table like a recommender's impression log.

    Parameters
    ----------
    n_rows : int
        Number of impressions.
    seed : int
        Seed of the random generator; the same seed gives the same table.
    n_users, n_items : int
        Cardinality of the ID-like ``user_id`` and ``item_id`` columns (Zipf-distributed, so a
        few IDs are frequent and most are rare).

    Returns
    -------
    DataFrame
        The columns :data:`CTR_NUMERIC` (``user_age``, ``user_activity`` and ``item_ctr_7d``
        have missing values), :data:`CTR_CATEGORICAL`, ``click`` (0/1) and ``conversion``
        (0/1, only ever 1 after a click).  The click logit contains pairwise interactions
        (device x ad category, user segment x item, hour x site), which factorization machines
        and trees can learn and a linear model cannot.

    Examples
    --------
    >>> df = make_ctr(2000, seed=1)
    >>> bool(0.05 < df["click"].mean() < 0.5)
    True
    >>> bool((df["conversion"] <= df["click"]).all())
    True
    """
    if n_rows <= 0:
        raise ValueError(f"n_rows must be positive, got {n_rows}")
    rng = np.random.default_rng(seed)
    n = n_rows
    user_id = _zipf_ids(rng, n, n_users, "u")
    item_id = _zipf_ids(rng, n, n_items, "i")
    categories = np.array(["sports", "fashion", "tech", "travel", "food", "games", "finance"])
    # an item always belongs to the same category
    item_num = np.char.lstrip(item_id.astype(str), "i").astype(int)
    ad_category = categories[item_num % len(categories)].astype(object)
    device = rng.choice(["mobile", "desktop", "tablet"], n, p=[0.6, 0.32, 0.08]).astype(object)
    region = rng.choice(["north", "south", "east", "west", "central"], n).astype(object)
    site = rng.choice(["news", "video", "social", "shop", "search"], n,
                      p=[0.3, 0.25, 0.2, 0.15, 0.1]).astype(object)
    user_num = np.char.lstrip(user_id.astype(str), "u").astype(int)
    user_age = np.round(np.clip(18 + (user_num % 50) + rng.normal(0, 3, n), 18, 80))
    user_activity = np.round(rng.gamma(2.0, 3.0, n), 2)
    item_price = np.round(np.exp(rng.normal(3.0, 0.8, n)), 2)
    item_ctr_7d = np.round(np.clip(rng.beta(2, 30, n) + 0.02 * (item_num % 5), 0, 1), 4)
    hour = rng.integers(0, 24, n).astype(float)
    position = rng.integers(1, 11, n).astype(float)

    user_segment = user_num % 4
    interactions = (
        0.9 * ((device == "mobile") & np.isin(ad_category, ["games", "fashion"]))
        + 0.8 * ((user_segment == 1) & (item_num % 3 == 0))
        - 0.7 * ((user_segment == 2) & (item_num % 3 == 1))
        + 0.6 * ((hour >= 18) & (site == "video"))
        + 0.5 * ((device == "desktop") & (ad_category == "finance"))
    )
    logit = (-2.2 + interactions + 8.0 * item_ctr_7d - 0.12 * (position - 1)
             + 0.05 * user_activity - 0.004 * (item_price - 20) + rng.normal(0, 0.3, n))
    click = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    conv_logit = (-1.0 - 0.02 * (item_price - 20) + 0.7 * (ad_category == "food")
                  + 0.5 * (user_segment == 3) - 0.4 * (device == "mobile"))
    conversion = click * (rng.random(n) < 1 / (1 + np.exp(-conv_logit))).astype(int)

    df = pd.DataFrame({
        "user_id": user_id, "item_id": item_id, "ad_category": ad_category, "device": device,
        "region": region, "site": site, "user_age": user_age, "user_activity": user_activity,
        "item_price": item_price, "item_ctr_7d": item_ctr_7d, "hour": hour,
        "position": position, "click": click, "conversion": conversion,
    })
    for column, rate in (("user_age", 0.05), ("user_activity", 0.08), ("item_ctr_7d", 0.03)):
        df.loc[rng.random(n) < rate, column] = np.nan
    return df
