"""Business logic that embeds live models: rank a request's candidate items by CTR^t x CVR.

    python examples/train_and_export.py --store ./models --name ctr --target click
    python examples/train_and_export.py --store ./models --name cvr --target conversion
    python examples/embedded_ranking.py --store ./models

A ranking service holds one ``LiveModel`` per model it needs.  Each follows the ``current``
alias of its model in the store: when the export job promotes a new version (or someone rolls
back), the next requests are scored by it, without a restart and without a request ever
seeing half of a version.  There is no model server and no JVM: scoring is a function call in
the service's own process.

The rank of an item is ``ctr ** t * cvr``: ``t`` < 1 leans toward conversions, ``t`` > 1
toward clicks.  The candidates are scored at position 1, since the position an item will get
is what the ranking decides (the click model learned a position bias).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

import pmmlserve
from pmmlserve.datasets import make_ctr

USER_FEATURES = ["user_age", "user_activity", "device", "region", "site", "hour"]
ITEM_FEATURES = ["item_id", "ad_category", "item_price", "item_ctr_7d"]


class Ranker:
    """Rank candidate items for one user with a click model and a conversion model.

    Parameters
    ----------
    store : pmmlserve.ModelStore or str
        Where the models are published.
    ctr, cvr : str
        Model names in the store.
    t : float
        Exponent of the CTR in the score ``ctr ** t * cvr``.
    poll_interval : float or None
        How often the live models look for a new version (None: only on ``refresh``).
    """

    def __init__(self, store, ctr: str = "ctr", cvr: str = "cvr", *, t: float = 0.8,
                 poll_interval: float | None = 2.0):
        self.t = t
        self.ctr = pmmlserve.LiveModel(store, ctr, poll_interval=poll_interval)
        try:
            self.cvr = pmmlserve.LiveModel(store, cvr, poll_interval=poll_interval)
        except Exception:
            self.ctr.close()
            raise

    def rank(self, user: Mapping[str, Any], candidates: Sequence[Mapping[str, Any]],
             k: int = 10) -> pd.DataFrame:
        """Return the ``k`` best candidates, best first, with their ``ctr``, ``cvr``, ``score``.

        One batch call per model scores all candidates; the result says which version of
        each model scored it (``attrs["versions"]``).
        """
        rows = pd.DataFrame([{**user, **item, "position": 1.0} for item in candidates])
        ctr = self.ctr.predict(rows)
        cvr = self.cvr.predict(rows)
        ranked = pd.DataFrame({
            "item_id": rows["item_id"],
            "ctr": ctr["probability(1)"].to_numpy(),
            "cvr": cvr["probability(1)"].to_numpy(),
        })
        ranked["score"] = ranked["ctr"] ** self.t * ranked["cvr"]
        top = ranked.sort_values("score", ascending=False, kind="stable").head(k)
        top = top.reset_index(drop=True)
        top.attrs["versions"] = {"ctr": ctr.attrs["model_version"],
                                 "cvr": cvr.attrs["model_version"]}
        return top

    def close(self) -> None:
        """Stop following the store (the models keep answering)."""
        self.ctr.close()
        self.cvr.close()

    def __enter__(self) -> Ranker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def sample_request(n_candidates: int, seed: int) -> tuple[dict, list[dict]]:
    """One user's context and ``n_candidates`` distinct items, from a synthetic log."""
    log = make_ctr(max(4 * n_candidates, 2000), seed=seed)
    user = log.iloc[0][USER_FEATURES].to_dict()
    items = log.drop_duplicates("item_id").head(n_candidates)[ITEM_FEATURES]
    return _plain(user), [_plain(item) for item in items.to_dict("records")]


def _plain(record: Mapping[str, Any]) -> dict:
    """A JSON-like record, as a request carries it: None, not NaN, for a gap."""
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in record.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="models", help="store root: a path or fsspec URL")
    parser.add_argument("--ctr", default="ctr", help="click model name")
    parser.add_argument("--cvr", default="cvr", help="conversion model name")
    parser.add_argument("--t", type=float, default=0.8, help="exponent of CTR in the score")
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    try:
        ranker = Ranker(args.store, args.ctr, args.cvr, t=args.t, poll_interval=None)
    except pmmlserve.VersionNotFoundError as exc:
        print(f"{exc}\nRun examples/train_and_export.py first (see this script's docstring).")
        return 1
    with ranker:
        user, candidates = sample_request(args.candidates, args.seed)
        top = ranker.rank(user, candidates, k=args.top)
    versions = top.attrs["versions"]
    print(f"user: {user}")
    print(f"top {len(top)} of {len(candidates)} candidates by ctr^{args.t:g} x cvr "
          f"(ctr version {versions['ctr']}, cvr version {versions['cvr']}):")
    with pd.option_context("display.float_format", "{:.4f}".format):
        print(top.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
