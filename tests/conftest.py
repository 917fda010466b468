"""Shared fixtures: see tests/oracles.py for the independent oracles."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)
