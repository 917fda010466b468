"""Exporter tests train many small models: one thread each keeps them fast on a shared machine
(OpenMP pools of HistGradientBoosting, XGBoost and LightGBM oversubscribe otherwise)."""

import pytest


@pytest.fixture(autouse=True)
def _one_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield
