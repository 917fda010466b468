"""pytest plugin, registered through the ``pytest11`` entry point: installing pmmlserve is enough.

Fixtures
--------
``pmml_parity``
    :func:`pmmlserve.testing.assert_parity` with the session's tolerances as defaults:
    ``pmml_parity(estimator, pmml, X, **overrides) -> ParityReport``.
``pmml_model``
    Load a PMML document: ``pmml_model("ctr.pmml") -> pmmlserve.Model``.  A relative path is
    read from the directory of the requesting test file; each document is compiled once per
    session (a loaded model is immutable, so sharing it is safe).
``pmml_store``
    An empty :class:`pmmlserve.ModelStore` in the test's temporary directory.

Options
-------
``--pmml-rtol`` / ``--pmml-atol`` (or ``pmml_rtol`` / ``pmml_atol`` in the ini file; the
command line wins) set the default tolerances of ``pmml_parity``.

Every pytest run in an environment with pmmlserve installed imports this module, so it stays
light: it imports pytest and the standard library (and, being inside the package, ``pmmlserve``
itself); the store loads when ``pmml_store`` is first used, and scikit-learn and JPype never
load unless a test asks for them.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

DEFAULT_RTOL = 1e-9
DEFAULT_ATOL = 1e-12

_MODELS = pytest.StashKey[dict]()
_TOLERANCES = pytest.StashKey[tuple]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pmmlserve", "pmmlserve offline/online parity")
    group.addoption(
        "--pmml-rtol", type=float, default=None, metavar="RTOL",
        help=f"relative tolerance of the pmml_parity fixture (default {DEFAULT_RTOL:g})",
    )
    group.addoption(
        "--pmml-atol", type=float, default=None, metavar="ATOL",
        help=f"absolute tolerance of the pmml_parity fixture (default {DEFAULT_ATOL:g})",
    )
    parser.addini("pmml_rtol", f"relative tolerance of pmml_parity (default {DEFAULT_RTOL:g})")
    parser.addini("pmml_atol", f"absolute tolerance of pmml_parity (default {DEFAULT_ATOL:g})")


def pytest_configure(config: pytest.Config) -> None:
    # read here, so that a bad value stops the session at once with a usage error
    config.stash[_TOLERANCES] = (
        _tolerance(config, "rtol", DEFAULT_RTOL), _tolerance(config, "atol", DEFAULT_ATOL)
    )


def _tolerance(config: pytest.Config, name: str, default: float) -> float:
    value = config.getoption(f"--pmml-{name}")
    if value is None:
        text = config.getini(f"pmml_{name}")
        if not text:
            return default
        try:
            value = float(text)
        except ValueError:
            raise pytest.UsageError(f"pmml_{name} in the ini file is not a number: {text!r}")
    if not value >= 0:
        raise pytest.UsageError(f"--pmml-{name} must be a non-negative number, got {value}")
    return float(value)


class ParityCheck:
    """The ``pmml_parity`` fixture: ``assert_parity`` with the session's tolerances.

    Attributes
    ----------
    rtol, atol : float
        The defaults this session uses (``--pmml-rtol`` / ``--pmml-atol``).

    Examples
    --------
    >>> def test_export(pmml_parity, pipeline, X_valid):                  # doctest: +SKIP
    ...     report = pmml_parity(pipeline, "ctr.pmml", X_valid)
    ...     pmml_parity(xgb_pipeline, "xgb.pmml", X_valid, ulps=4)
    """

    def __init__(self, rtol: float, atol: float):
        self.rtol = rtol
        self.atol = atol

    def __call__(self, estimator: Any, pmml: Any, X: Any, **options: Any):
        """Run :func:`pmmlserve.testing.assert_parity`; keyword options override defaults."""
        __tracebackhide__ = True
        from pmmlserve.testing._parity import assert_parity

        options.setdefault("rtol", self.rtol)
        options.setdefault("atol", self.atol)
        return assert_parity(estimator, pmml, X, **options)

    def __repr__(self) -> str:
        return f"<pmml_parity rtol={self.rtol:g} atol={self.atol:g}>"


@pytest.fixture
def pmml_parity(request: pytest.FixtureRequest) -> ParityCheck:
    """Assert that a PMML document scores like its estimator (see ``assert_parity``)."""
    return ParityCheck(*request.config.stash[_TOLERANCES])


@pytest.fixture
def pmml_model(request: pytest.FixtureRequest):
    """Load a PMML document: ``pmml_model(source, verify=True) -> pmmlserve.Model``.

    ``source`` is a path (relative paths are read from the test file's directory), bytes, a
    string of XML or a binary file.  Each document is compiled once per session.
    """
    cache = request.config.stash.setdefault(_MODELS, {})
    here = Path(request.path).parent

    def load(source: Any, *, verify: bool = True):
        __tracebackhide__ = True
        import pmmlserve
        from pmmlserve.pmml._xml import read_source

        if isinstance(source, (str, os.PathLike)) and not str(source).lstrip().startswith("<"):
            source = here / source  # an absolute path stays as it is
        data = read_source(source)
        key = (hashlib.sha256(data).hexdigest(), verify)
        if key not in cache:
            cache[key] = pmmlserve.load(data, verify=verify)
        return cache[key]

    return load


@pytest.fixture
def pmml_store(tmp_path: Path):
    """An empty ``pmmlserve.ModelStore`` in the test's temporary directory."""
    from pmmlserve.store import ModelStore

    return ModelStore(tmp_path / "pmml-store")
