"""Documents pmmlserve must reject when loading, each with its typed MarkupError.

A bad model is refused at load time, never while scoring; hostile XML (entities, DTDs, deep
nesting) is refused without being expanded, without reading files, and without hanging.
"""

from __future__ import annotations

import io

import pytest

import pmmlserve
from tests.oracles import jpmml_evaluator
from tests.scoring.spec._case import document

_DD = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>"""

_REGRESSION = """
  <RegressionModel functionName="regression">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <RegressionTable intercept="1"><NumericPredictor name="x" coefficient="2"/></RegressionTable>
  </RegressionModel>"""

_GOOD = document(_DD, _REGRESSION)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_the_good_document_loads():
    # the control: the documents below differ from this one only by the fault under test
    model = pmmlserve.load(_GOOD)
    assert model.predict_one({"x": 2.0})["y"] == 5.0


# --- unsupported and invalid markup ----------------------------------------------------------

_SVM = document("""
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string"><Value value="a"/><Value value="b"/></DataField>""", """
  <SupportVectorMachineModel functionName="classification" classificationMethod="OneAgainstOne">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <LinearKernelType/>
    <VectorDictionary numberOfVectors="1">
      <VectorFields numberOfFields="1"><FieldRef field="x"/></VectorFields>
      <VectorInstance id="v"><REAL-SparseArray n="1"><Indices>1</Indices><REAL-Entries>1</REAL-Entries></REAL-SparseArray></VectorInstance>
    </VectorDictionary>
    <SupportVectorMachine targetCategory="a" alternateTargetCategory="b">
      <SupportVectors numberOfAttributes="1" numberOfSupportVectors="1"><SupportVector vectorId="v"/></SupportVectors>
      <Coefficients numberOfCoefficients="1" absoluteValue="0"><Coefficient value="1"/></Coefficients>
    </SupportVectorMachine>
  </SupportVectorMachineModel>""")


def test_unsupported_model_names_element_and_line():
    with pytest.raises(pmmlserve.UnsupportedMarkupError) as caught:
        pmmlserve.load(_SVM)
    line = _line_of(_SVM, "<SupportVectorMachineModel")
    assert caught.value.element == "SupportVectorMachineModel"
    assert caught.value.line == line
    assert "SupportVectorMachineModel" in str(caught.value)
    assert str(line) in str(caught.value)


def test_unsupported_element_inside_a_supported_model():
    # a TreeModel whose node holds a predicate type pmmlserve does not evaluate
    doc = document(_DD, """
  <TreeModel functionName="regression">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Node score="1"><True/>
      <Node score="2"><SimplePredicate field="x" operator="lessThan" value="0"/></Node>
      <Node score="3"><UnknownPredicate field="x"/></Node>
    </Node>
  </TreeModel>""")
    with pytest.raises(pmmlserve.MarkupError) as caught:
        pmmlserve.load(doc)
    assert isinstance(caught.value, (pmmlserve.UnsupportedMarkupError, pmmlserve.InvalidMarkupError))
    assert caught.value.line == _line_of(doc, "<UnknownPredicate")


@pytest.mark.parametrize("fault", [
    pytest.param(("NumericPredictor", '<NumericPredictor name="x"', '<NumericPredictor name="nope"'),
                 id="predictor-field"),
    pytest.param(("MiningField", '<MiningField name="x"/>', '<MiningField name="x"/><MiningField name="nope"/>'),
                 id="mining-field"),
])
def test_reference_to_undefined_field(fault):
    element, old, new = fault
    doc = _GOOD.replace(old, new, 1)
    assert doc != _GOOD
    with pytest.raises(pmmlserve.InvalidMarkupError) as caught:
        pmmlserve.load(doc)
    assert "nope" in str(caught.value)
    assert caught.value.line == _line_of(doc, "nope")


def test_derived_field_reference_to_undefined_field():
    doc = document(_DD, """
  <RegressionModel functionName="regression">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <LocalTransformations>
      <DerivedField name="d" optype="continuous" dataType="double"><FieldRef field="nowhere"/></DerivedField>
    </LocalTransformations>
    <RegressionTable intercept="1"><NumericPredictor name="d" coefficient="2"/></RegressionTable>
  </RegressionModel>""")
    with pytest.raises(pmmlserve.InvalidMarkupError) as caught:
        pmmlserve.load(doc)
    assert "nowhere" in str(caught.value)


# --- hostile or broken XML -------------------------------------------------------------------


def _with_doctype(internal_subset: str, header_text: str) -> bytes:
    body = _GOOD.split("\n", 1)[1]   # drop the XML declaration
    body = body.replace('description="hand-written specification case"/>',
                        f'description="hand-written specification case">{header_text}</Header>', 1)
    return (f'<?xml version="1.0"?>\n<!DOCTYPE PMML [\n{internal_subset}\n]>\n{body}').encode()


def test_external_entity_is_refused_without_reading_the_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7f3a")
    for target in (secret.as_uri(), "file:///etc/passwd"):
        doc = _with_doctype(f'<!ENTITY xxe SYSTEM "{target}">', "<Annotation>&xxe;</Annotation>")
        with pytest.raises(pmmlserve.PMMLSyntaxError) as caught:
            pmmlserve.load(doc)
        assert "TOP-SECRET" not in str(caught.value)
        assert "root:" not in str(caught.value)


def test_billion_laughs_is_refused():
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10)
    ]
    doc = _with_doctype("\n".join(entities), "<Annotation>&lol9;</Annotation>")
    with pytest.raises(pmmlserve.PMMLSyntaxError):
        pmmlserve.load(doc)


def test_any_doctype_is_refused():
    doc = _with_doctype('<!ELEMENT Annotation (#PCDATA)>', "<Annotation>harmless</Annotation>")
    with pytest.raises(pmmlserve.PMMLSyntaxError):
        pmmlserve.load(doc)


def test_ten_thousand_deep_nesting_is_refused():
    depth = 10_000
    nodes = ('<Node score="1"><True/>' * depth) + ("</Node>" * depth)
    doc = document(_DD, f"""
  <TreeModel functionName="regression">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    {nodes}
  </TreeModel>""")
    with pytest.raises(pmmlserve.PMMLSyntaxError):
        pmmlserve.load(doc)


@pytest.mark.parametrize("garbage", [
    pytest.param(b"", id="empty"),
    pytest.param(b"\x00\xff\xfe binary \x89PNG", id="binary"),
    pytest.param(b"x,y\n1,2\n", id="csv"),
    pytest.param(_GOOD.encode()[: len(_GOOD) // 2], id="truncated"),
    pytest.param(b"<PMML><Header></PMML>", id="mismatched-tags"),
])
def test_non_xml_is_refused(garbage):
    with pytest.raises(pmmlserve.PMMLSyntaxError):
        pmmlserve.load(garbage)
    with pytest.raises(pmmlserve.PMMLSyntaxError):
        pmmlserve.load(io.BytesIO(garbage))


# --- ModelVerification -----------------------------------------------------------------------

_UNVERIFIABLE = document(_DD, _REGRESSION.replace("  </RegressionModel>", """    <ModelVerification>
      <VerificationFields><VerificationField field="x"/><VerificationField field="y"/></VerificationFields>
      <InlineTable>
        <row><x>2</x><y>5</y></row>
        <row><x>3</x><y>7.5</y></row>
      </InlineTable>
    </ModelVerification>
  </RegressionModel>"""))


def test_verification_mismatch_is_refused():
    # row 1: the model gives 1 + 2 * 3 = 7, the document claims 7.5 (precision 1e-6)
    with pytest.raises(pmmlserve.VerificationError) as caught:
        pmmlserve.load(_UNVERIFIABLE, verify=True)
    mismatches = caught.value.mismatches
    assert len(mismatches) == 1
    assert mismatches[0]["row"] == 1
    assert mismatches[0]["field"] == "y"
    assert float(mismatches[0]["expected"]) == 7.5
    assert float(mismatches[0]["actual"]) == 7.0


def test_verification_is_skipped_on_request(tmp_path):
    path = tmp_path / "model.pmml"
    path.write_text(_UNVERIFIABLE)
    model = pmmlserve.load(path, verify=False)
    assert model.predict_one({"x": 3.0})["y"] == 7.0   # the model, not the verification row
    with pytest.raises(pmmlserve.VerificationError):
        model.verify()


@pytest.mark.jpmml
def test_jpmml_also_refuses_the_unverifiable_document():
    # validates the mismatch above against the reference evaluator
    evaluator = jpmml_evaluator(_UNVERIFIABLE.encode())
    with pytest.raises(Exception, match="do not match"):
        evaluator.verify()
    assert evaluator.evaluate({"x": 3.0})["y"] == 7.0
