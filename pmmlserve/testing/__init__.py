"""Offline/online parity tooling: assertions, reports and a pytest plugin.

>>> from pmmlserve.testing import assert_parity
>>> report = assert_parity(pipeline, "ctr.pmml", X_valid)                 # doctest: +SKIP
>>> report.max_abs_diff                                                    # doctest: +SKIP
2.220446049250313e-16

Installing pmmlserve also registers the pytest plugin (``pmmlserve.testing._plugin``, through
the ``pytest11`` entry point): the fixtures ``pmml_parity``, ``pmml_model`` and ``pmml_store``
and the options ``--pmml-rtol`` / ``--pmml-atol``.  See docs/parity.md.
"""

from pmmlserve.testing._parity import ParityError, ParityReport, assert_parity

__all__ = ["assert_parity", "ParityReport", "ParityError"]
