"""NaN written in a document as a value: refused at load (``refuse_nan``), since both scoring
paths hold a missing number as NaN.

JPMML is the oracle for why: it evaluates such a NaN as a number, not as a missing value.
"""

import pandas as pd
import pytest

import pmmlserve
from pmmlserve.exceptions import UnsupportedMarkupError

from tests.scoring._documents import output_document as _document


PLUS_ONE = '<Constant dataType="double">1</Constant>'

NAN_VALUES = {
    # (the document, the element named, its line)
    "Constant": (_document(f'<Apply function="+"><FieldRef field="x"/>'
                           '<Constant dataType="double">NaN</Constant></Apply>'), "Constant", 5),
    "missingValueReplacement": (_document(mining='missingValueReplacement="NaN"'),
                                "MiningField", 4),
    "invalidValueReplacement": (_document(mining='invalidValueTreatment="asValue" '
                                                 'invalidValueReplacement="NaN"'),
                                "MiningField", 4),
    "Apply mapMissingTo": (_document(f'<Apply function="+" mapMissingTo="NaN"><FieldRef '
                                     f'field="x"/>{PLUS_ONE}</Apply>'), "Apply", 5),
    "Apply defaultValue": (_document(f'<Apply function="+" defaultValue="NaN"><FieldRef '
                                     f'field="x"/>{PLUS_ONE}</Apply>'), "Apply", 5),
    "FieldRef mapMissingTo": (_document('<FieldRef field="x" mapMissingTo="NaN"/>'),
                              "FieldRef", 5),
    "NormContinuous mapMissingTo": (_document(
        '<NormContinuous field="x" mapMissingTo="NaN"><LinearNorm orig="0" norm="0"/>'
        '<LinearNorm orig="1" norm="1"/></NormContinuous>'), "NormContinuous", 5),
    "Discretize bin value": (_document(
        '<Discretize field="x" dataType="double"><DiscretizeBin binValue="NaN"><Interval '
        'closure="openOpen" leftMargin="0"/></DiscretizeBin></Discretize>'), "Discretize", 5),
    "MapValues output": (_document(
        '<MapValues outputColumn="out" dataType="double"><FieldColumnPair field="x" '
        'column="in"/><InlineTable><row><in>1</in><out>NaN</out></row></InlineTable>'
        '</MapValues>'), "MapValues", 5),
}


@pytest.mark.parametrize("case", NAN_VALUES.values(), ids=NAN_VALUES.keys())
def test_a_nan_value_in_the_document_is_refused_naming_element_and_line(case):
    document, element, line = case
    with pytest.raises(UnsupportedMarkupError) as caught:
        pmmlserve.load(document)
    assert caught.value.element == element and caught.value.line == line
    assert "NaN" in str(caught.value)


def test_jpmml_evaluates_a_nan_constant_as_a_number_not_as_missing():
    # why pmmlserve refuses it: as a number it is not missing, and x + NaN is an invalid
    # result (an error); held as NaN, both pmmlserve paths would see a missing value
    from tests.oracles import jpmml_evaluator

    evaluator = jpmml_evaluator(_document('<Apply function="isMissing"><Constant '
                                          'dataType="double">NaN</Constant></Apply>').encode())
    assert evaluator.evaluate({"x": 2.0})["o"] == 0.0
    evaluator = jpmml_evaluator(NAN_VALUES["Constant"][0].encode())
    with pytest.raises(Exception, match="invalid value"):
        evaluator.evaluate({"x": 2.0})


def test_nan_as_a_declared_missing_value_is_still_read():
    # NaN as a Value of the DataField marks input text "NaN" as missing: not a value passed on
    model = pmmlserve.load(_document(values='<Value value="NaN" property="missing"/>'))
    assert model.predict_one({"x": 2.0})["o"] == 2.0
    assert model.predict(pd.DataFrame({"x": [2.0]}))["o"].tolist() == [2.0]
