"""Number spelling: every written number must parse back to the same binary value."""

import numpy as np
import pytest

from pmmlserve.export._writer import cell_name, fmt_double, fmt_float, fmt_value, value_type


def test_doubles_round_trip():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(size=500) * 10.0 ** rng.integers(-300, 300, 500),
                             [0.0, -0.0, 1.0, 5e-324, 1.7976931348623157e308, 0.1, 1e16]])
    for x in values:
        assert float(fmt_double(x)) == x
    assert fmt_double(2.0) == "2" and fmt_double(float("inf")) == "INF"
    assert fmt_double(float("nan")) == "NaN"


def test_floats_round_trip_and_are_short():
    rng = np.random.default_rng(1)
    values = (rng.normal(size=500) * 10.0 ** rng.integers(-40, 38, 500)).astype(np.float32)
    for f in values:
        text = fmt_float(f)
        assert np.float32(float(text)) == f
        assert len(text) <= 16
    with pytest.raises(ValueError):
        fmt_float(0.1)  # not a float32 value


def test_labels_and_types():
    assert value_type(["a", "b"]) == "string"
    assert value_type(np.array([1, 2])) == "integer"
    assert value_type([1.0, 2.5]) == "double"
    assert fmt_value(np.int64(3)) == "3" and fmt_value(True) == "true"


def test_cell_names_are_unique_xml_names():
    taken = set()
    names = [cell_name(n, taken) for n in ["probability(0)", "probability[0]", "1st", "a b"]]
    assert names == ["probability_0", "probability_0_2", "_1st", "a_b"]
