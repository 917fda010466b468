"""Fixtures for the parity tooling tests: a small CTR pipeline and its document.

The plugin tests use pytest's ``pytester``.  ``pytest_plugins = ["pytester"]`` is the usual way
to enable it, but pytest refuses ``pytest_plugins`` in a conftest below the rootdir when the
whole suite is collected ("Defining 'pytest_plugins' in a non-top-level conftest is no longer
supported"), so this conftest registers the plugin when it is itself registered instead.
"""

from __future__ import annotations

import pytest

FEATURES = ["item_price", "user_age", "hour", "device", "site"]


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@pytest.fixture(scope="session")
def ctr_lr():
    """(pipeline, X, document): an imputer + one-hot + LogisticRegression on 2,000 rows."""
    pytest.importorskip("sklearn")
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    import pmmlserve
    from pmmlserve.datasets import make_ctr

    df = make_ctr(2000, seed=0)
    X = df[FEATURES]
    pipeline = make_pipeline(
        make_column_transformer(
            (SimpleImputer(), ["item_price", "user_age", "hour"]),
            (OneHotEncoder(handle_unknown="ignore"), ["device", "site"]),
        ),
        LogisticRegression(max_iter=500),
    ).fit(X, df["click"])
    document = pmmlserve.export(pipeline, sample=X.head(20))
    return pipeline, X, document
