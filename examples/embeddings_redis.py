"""Pretrained embeddings in Redis + a light online model in PMML.

    redis-server --port 6379 --save '' &                  # or any Redis you can write to
    python examples/embeddings_redis.py --redis-url redis://localhost:6379/0

A common recommender pattern: user and item embeddings are learned elsewhere (here: a truncated
SVD of the user x item click matrix, standing in for a two-tower or matrix-factorization job)
and kept in a key-value store, refreshed on their own schedule; a small model (a factorization
machine or a logistic regression) combines them with the request's context.  Only the small
model is a PMML document; the embeddings stay data.

Offline (``build``):
  1. learn ``--dim``-dimensional user and item embeddings from the training clicks, rounded to
     float32, which is how Redis will hold them, so that training sees exactly the values
     serving will read;
  2. fit the online model on [user embedding, item embedding, hour, position, device, site];
     its imputer gives a cold-start user or item (no embedding) the training mean;
  3. export it to PMML with verification rows, and write every embedding to Redis as
     ``<prefix>user:<id>`` / ``<prefix>item:<id>`` -> raw little-endian float32 bytes.

Online (``EmbeddingScorer``): per request, one ``MGET`` fetches the user's and every
candidate's embedding, the rows are assembled with the context, and one ``predict`` call
scores them.  At the end the script checks that these online scores equal the scikit-learn
pipeline's scores for the same rows (``assert_parity``) and times a few requests.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

import pmmlserve
from pmmlserve.datasets import make_ctr
from pmmlserve.testing import assert_parity

CONTEXT_NUMERIC = ["hour", "position"]
CONTEXT_CATEGORICAL = ["device", "site"]


def embedding_columns(dim: int) -> list[str]:
    return [f"u{j}" for j in range(dim)] + [f"i{j}" for j in range(dim)]


# ---------------------------------------------------------------------------------- offline


def learn_embeddings(log: pd.DataFrame, dim: int, seed: int):
    """User and item vectors from a truncated SVD of the click matrix, rounded to float32."""
    from scipy.sparse import coo_matrix
    from sklearn.decomposition import TruncatedSVD

    users, user_idx = np.unique(log["user_id"].to_numpy(), return_inverse=True)
    items, item_idx = np.unique(log["item_id"].to_numpy(), return_inverse=True)
    # clicks minus the expected clicks: who clicks more than average on what
    weights = log["click"].to_numpy() - log["click"].mean()
    matrix = coo_matrix((weights, (user_idx, item_idx)), shape=(len(users), len(items))).tocsr()
    svd = TruncatedSVD(n_components=dim, random_state=seed).fit(matrix)
    scale = np.sqrt(svd.singular_values_)
    user_vectors = (svd.transform(matrix) / scale).astype(np.float32)
    item_vectors = (svd.components_.T * scale).astype(np.float32)
    return dict(zip(users, user_vectors)), dict(zip(items, item_vectors))


def assemble(user_vectors: Sequence, item_vectors: Sequence, context: pd.DataFrame,
             dim: int) -> pd.DataFrame:
    """Model input rows: embeddings (None for an unknown id: NaN columns) next to context."""
    missing = np.full(dim, np.nan)
    u = np.array([missing if v is None else v for v in user_vectors], dtype=np.float64)
    i = np.array([missing if v is None else v for v in item_vectors], dtype=np.float64)
    frame = pd.DataFrame(np.hstack([u, i]), columns=embedding_columns(dim))
    context = context[CONTEXT_NUMERIC + CONTEXT_CATEGORICAL].reset_index(drop=True)
    return pd.concat([frame, context], axis=1)


def make_model(kind: str, dim: int, seed: int):
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from pmmlserve.fm import FMClassifier

    numeric = make_pipeline(SimpleImputer(), StandardScaler())
    features = make_column_transformer(
        (numeric, embedding_columns(dim) + CONTEXT_NUMERIC),
        (OneHotEncoder(handle_unknown="ignore"), CONTEXT_CATEGORICAL))
    if kind == "fm":  # learns user-dimension x item-dimension interactions itself
        model = FMClassifier(n_factors=4, max_iter=15, random_state=seed)
    else:
        model = LogisticRegression(max_iter=1000)
    return make_pipeline(features, model)


def build(rows: int, dim: int, kind: str, seed: int):
    """Train the embeddings and the online model; return (embeddings, pipeline, document)."""
    log = make_ctr(rows, seed=seed)
    cut = int(len(log) * 0.8)
    history, recent = log.iloc[:cut], log.iloc[cut:]
    users, items = learn_embeddings(history, dim, seed)
    X = assemble([users.get(u) for u in recent["user_id"]],
                 [items.get(i) for i in recent["item_id"]], recent, dim)
    pipeline = make_model(kind, dim, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)  # FM may stop at max_iter
        pipeline.fit(X, recent["click"])
    document = pmmlserve.export(pipeline, sample=X.head(30), model_name=f"ctr_{kind}_emb")
    return (users, items), pipeline, document


def write_embeddings(client, prefix: str, users: Mapping, items: Mapping) -> int:
    """Write every vector as raw float32 bytes; returns the number of keys written."""
    with client.pipeline(transaction=False) as pipe:
        for kind, vectors in (("user", users), ("item", items)):
            for key, vector in vectors.items():
                pipe.set(f"{prefix}{kind}:{key}", np.asarray(vector, "<f4").tobytes())
        pipe.execute()
    return len(users) + len(items)


# ---------------------------------------------------------------------------------- online


class EmbeddingScorer:
    """Score a user's candidate items: embeddings from Redis, the light model from PMML.

    Parameters
    ----------
    client : redis.Redis
        A client of the Redis that holds the embeddings.
    model : pmmlserve.Model or pmmlserve.LiveModel
        The online model.
    dim : int
        Embedding dimension.
    prefix : str
        Key prefix of the embeddings.
    """

    def __init__(self, client, model, dim: int, prefix: str):
        self.client = client
        self.model = model
        self.dim = dim
        self.prefix = prefix

    def fetch(self, user_id: str, item_ids: Sequence[str]) -> tuple[list, list]:
        """One round trip: the user's vector and every item's (None when unknown)."""
        keys = [f"{self.prefix}user:{user_id}"] + [f"{self.prefix}item:{i}" for i in item_ids]
        raw = self.client.mget(keys)
        vectors = [None if b is None else np.frombuffer(b, dtype="<f4") for b in raw]
        return vectors[:1] * len(item_ids), vectors[1:]

    def features(self, user_id: str, item_ids: Sequence[str],
                 context: Mapping[str, Any]) -> pd.DataFrame:
        """The model's input rows for one request."""
        user_vectors, item_vectors = self.fetch(user_id, item_ids)
        rows = pd.DataFrame([context] * len(item_ids))
        return assemble(user_vectors, item_vectors, rows, self.dim)

    def score(self, user_id: str, item_ids: Sequence[str],
              context: Mapping[str, Any]) -> pd.Series:
        """P(click) of each candidate, indexed by item id."""
        scores = self.model.predict(self.features(user_id, item_ids, context))
        return pd.Series(scores["probability(1)"].to_numpy(), index=list(item_ids), name="ctr")


# ---------------------------------------------------------------------------------- script


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL",
                                                              "redis://localhost:6379/0"))
    parser.add_argument("--prefix", default="pmmlserve-example:emb:",
                        help="key prefix of the embeddings in Redis")
    parser.add_argument("--model", choices=["fm", "lr"], default="fm")
    parser.add_argument("--dim", type=int, default=8, help="embedding dimension")
    parser.add_argument("--rows", type=int, default=40_000, help="impressions to generate")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import redis
    except ImportError:
        print("this example needs the redis client: pip install redis")
        return 1

    (users, items), pipeline, document = build(args.rows, args.dim, args.model, args.seed)
    client = redis.Redis.from_url(args.redis_url)
    written = write_embeddings(client, args.prefix, users, items)
    print(f"wrote {written:,} embeddings of dimension {args.dim} to {args.redis_url}; "
          f"{args.model} model: {len(document) / 1024:.0f} KiB of PMML")

    scorer = EmbeddingScorer(client, pmmlserve.load(document), args.dim, args.prefix)
    requests = make_ctr(2_000, seed=args.seed + 1)  # new traffic, some ids never seen
    context = requests.iloc[0][CONTEXT_NUMERIC + CONTEXT_CATEGORICAL].to_dict()
    candidates = list(dict.fromkeys(requests["item_id"]))[:20] + ["i-new"]
    for user_id in (requests["user_id"].iloc[0], "u-new"):
        ctr = scorer.score(user_id, candidates, context).sort_values(ascending=False)
        known = "known" if user_id in users else "cold-start"
        print(f"user {user_id} ({known}): best {ctr.index[0]} {ctr.iloc[0]:.4f}, "
              f"worst {ctr.index[-1]} {ctr.iloc[-1]:.4f}")

    # the rows as served (embeddings read back from Redis) against the pipeline's own scores
    X_online = pd.concat([scorer.features(u, [i], row) for u, i, row in zip(
        requests["user_id"][:300], requests["item_id"][:300],
        requests[CONTEXT_NUMERIC + CONTEXT_CATEGORICAL][:300].to_dict("records"))],
        ignore_index=True)
    report = assert_parity(pipeline, scorer.model, X_online)
    print(f"online scores equal the scikit-learn pipeline's on {report.rows} requests "
          f"(max |difference| {report.max_abs_diff:.2g})")

    times = []
    for user_id in requests["user_id"][:200]:
        start = time.perf_counter()
        scorer.score(user_id, candidates, context)
        times.append(time.perf_counter() - start)
    print(f"one request ({len(candidates)} candidates: MGET + assemble + predict): median "
          f"{np.median(times) * 1e3:.2f} ms over {len(times)} requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
