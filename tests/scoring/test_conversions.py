"""Casts to an OutputField's declared data type, against JPMML."""

import pandas as pd

import pmmlserve

from tests.scoring._documents import output_document as _document


def test_a_boolean_expression_in_a_double_output_field_is_a_double_on_both_paths():
    # isMissing gives a boolean; the OutputField declares double: JPMML returns 0.0/1.0, and
    # predict_one used to return the bool (equal to 1.0, but true in a JSON reply)
    from tests.oracles import jpmml_predict

    document = _document('<Apply function="isMissing"><FieldRef field="x"/></Apply>')
    records = pd.DataFrame({"x": [2.0, None]})
    expected = jpmml_predict(document.encode(), records)["o"].tolist()
    assert expected == [0.0, 1.0]
    model = pmmlserve.load(document)
    one = [model.predict_one({"x": x})["o"] for x in (2.0, None)]
    assert one == expected and all(type(v) is float for v in one)
    assert model.predict(records)["o"].tolist() == expected
