"""TreeModel (PMML 4.4 "Trees"): predicates, missing value and no-true-child strategies,
ScoreDistribution, node ids and confidences.

Rules from the specification used below:

* A Node's children are tried in document order; the first whose predicate is TRUE is followed.
* Predicates are three-valued: a SimplePredicate (other than isMissing/isNotMissing) or a
  SimpleSetPredicate on a missing field is UNKNOWN.  CompoundPredicate:
  and = FALSE if any FALSE, else UNKNOWN if any UNKNOWN, else TRUE;
  or  = TRUE if any TRUE, else UNKNOWN if any UNKNOWN, else FALSE;
  xor = UNKNOWN if any UNKNOWN, else the parity of the TRUEs;
  surrogate = the first operand that is not UNKNOWN (UNKNOWN if none).
* missingValueStrategy, when a child's predicate is UNKNOWN:
  none = treat it as FALSE and try the next sibling;  nullPrediction = the result is missing;
  lastPrediction = the score of the current (parent) node;  defaultChild = continue in the
  parent's defaultChild (its confidence multiplied by missingValuePenalty for each use);
  weightedConfidence / aggregateNodes = follow every child that is not FALSE and combine.
* noTrueChildStrategy, when no child is TRUE: returnNullPrediction (default) = missing;
  returnLastPrediction = the score of the current node (if it has one, else missing).
* A classification node predicts its score; its ScoreDistribution gives the probabilities
  (the probability attribute when present, else recordCount / sum of recordCounts).
"""

from __future__ import annotations

from tests.scoring.spec._case import SpecCase, document

CASES: list[SpecCase] = []

_DD_XZ = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="z" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>
"""


def _regression_tree(nodes: str, *, data_dictionary: str = _DD_XZ, fields=("x", "z"),
                     attributes: str = "", output: str = "") -> str:
    mining = "".join(f'<MiningField name="{f}"/>' for f in fields)
    return document(data_dictionary, f"""
  <TreeModel functionName="regression"{attributes}>
    <MiningSchema>{mining}<MiningField name="y" usageType="target"/></MiningSchema>{output}
{nodes}
  </TreeModel>""")


# --- SimplePredicate: every operator ---------------------------------------------------------

CASES.append(SpecCase(
    id="tree/simple-predicate-operators",
    pmml=_regression_tree("""
    <Node score="0"><True/>
      <Node score="1"><SimplePredicate field="x" operator="isMissing"/></Node>
      <Node score="2"><SimplePredicate field="x" operator="equal" value="5"/></Node>
      <Node score="3"><SimplePredicate field="x" operator="lessThan" value="0"/></Node>
      <Node score="4"><SimplePredicate field="x" operator="lessOrEqual" value="1"/></Node>
      <Node score="5"><SimplePredicate field="x" operator="greaterThan" value="10"/></Node>
      <Node score="6"><SimplePredicate field="x" operator="greaterOrEqual" value="10"/></Node>
      <Node score="7"><SimplePredicate field="x" operator="notEqual" value="7"/></Node>
      <Node score="8"><SimplePredicate field="x" operator="isNotMissing"/></Node>
    </Node>""", fields=("x",), data_dictionary="""
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>"""),
    records=[{"x": None}, {"x": 5.0}, {"x": -1.0}, {"x": 0.0}, {"x": 1.0}, {"x": 1.5},
             {"x": 10.0}, {"x": 10.5}, {"x": 7.0}, {"x": "5"}],
    expected=[{"y": 1.0}, {"y": 2.0}, {"y": 3.0}, {"y": 4.0},
              {"y": 4.0},    # 1 <= 1 (lessOrEqual includes the boundary)
              {"y": 7.0},    # not <= 1, not > 10, not >= 10, != 7
              {"y": 6.0},    # 10 > 10 is false, 10 >= 10 is true
              {"y": 5.0},
              {"y": 8.0},    # only isNotMissing is true for 7
              {"y": 2.0}],   # the string "5" is parsed as the double 5.0
    note="First TRUE child wins; each record is placed to hit one operator and its boundary.",
))

CASES.append(SpecCase(
    id="tree/simple-predicate-string-equality",
    pmml=_regression_tree("""
    <Node score="0"><True/>
      <Node score="1"><SimplePredicate field="c" operator="equal" value="a"/></Node>
      <Node score="2"><SimplePredicate field="c" operator="notEqual" value="b"/></Node>
      <Node score="3"><SimplePredicate field="c" operator="isNotMissing"/></Node>
    </Node>""", fields=("c",), attributes=' missingValueStrategy="nullPrediction"',
        data_dictionary="""
    <DataField name="c" optype="categorical" dataType="string"/>
    <DataField name="y" optype="continuous" dataType="double"/>"""),
    records=[{"c": "a"}, {"c": "z"}, {"c": "b"}, {"c": None}, {"c": "A"}],
    expected=[{"y": 1.0}, {"y": 2.0}, {"y": 3.0},
              {"y": None},   # 'equal' on a missing value is UNKNOWN -> nullPrediction
              {"y": 2.0}],   # string comparison is case-sensitive
    note="String equal/notEqual; an unrestricted categorical field accepts any string.",
))

# --- SimpleSetPredicate ----------------------------------------------------------------------

CASES.append(SpecCase(
    id="tree/simple-set-predicate",
    pmml=_regression_tree("""
    <Node score="0"><True/>
      <Node score="1"><SimpleSetPredicate field="c" booleanOperator="isIn">
        <Array type="string" n="3">a "b c" "d\\"e"</Array></SimpleSetPredicate></Node>
      <Node score="2"><SimpleSetPredicate field="n" booleanOperator="isIn">
        <Array type="int" n="3">1 2 3</Array></SimpleSetPredicate></Node>
      <Node score="3"><SimpleSetPredicate field="c" booleanOperator="isNotIn">
        <Array type="string" n="2">x y</Array></SimpleSetPredicate></Node>
      <Node score="4"><True/></Node>
    </Node>""", fields=("c", "n"), attributes=' missingValueStrategy="nullPrediction"',
        data_dictionary="""
    <DataField name="c" optype="categorical" dataType="string"/>
    <DataField name="n" optype="categorical" dataType="integer"/>
    <DataField name="y" optype="continuous" dataType="double"/>"""),
    records=[{"c": "a", "n": 9}, {"c": "b c", "n": 9}, {"c": 'd"e', "n": 9},
             {"c": "b", "n": 2}, {"c": "x", "n": 3}, {"c": "q", "n": 7}, {"c": "x", "n": 7},
             {"c": None, "n": 1}, {"c": "x", "n": None}],
    expected=[{"y": 1.0},
              {"y": 1.0},    # a quoted Array entry may contain a space
              {"y": 1.0},    # ... or an escaped quote
              {"y": 2.0},    # "b" alone is not in the set; n = 2 is
              {"y": 2.0},
              {"y": 3.0},    # "q" is not in {x, y}
              {"y": 4.0},
              {"y": None},   # the first predicate on missing c is UNKNOWN
              {"y": None}],  # c = x: first FALSE; second on missing n UNKNOWN
    note="Array tokens are separated by whitespace; double quotes enclose a token with spaces and "
         "\\\" escapes a quote. A set predicate on a missing value is UNKNOWN.",
))

# --- CompoundPredicate: three-valued logic ---------------------------------------------------

T, F, U = True, False, None


def _and(a, b):
    if a is F or b is F:
        return F
    return U if (a is U or b is U) else T


def _or(a, b):
    if a is T or b is T:
        return T
    return U if (a is U or b is U) else F


def _xor(a, b):
    return U if (a is U or b is U) else (a != b)


def _surrogate(a, b):
    return a if a is not U else b


_COMBINED = {"and": _and, "or": _or, "xor": _xor, "surrogate": _surrogate}
_VALUES = {"pos": (1.0, T), "neg": (-1.0, F), "missing": (None, U)}

for _operator, _combine in _COMBINED.items():
    _records, _expected = [], []
    for _xname, (_x, _a) in _VALUES.items():
        for _zname, (_z, _b) in _VALUES.items():
            _records.append({"x": _x, "z": _z})
            _truth = _combine(_a, _b)
            # TRUE -> first child (1); FALSE -> next sibling (2); UNKNOWN -> nullPrediction
            _expected.append({"y": {T: 1.0, F: 2.0, U: None}[_truth]})
    CASES.append(SpecCase(
        id=f"tree/compound-{_operator}",
        pmml=_regression_tree(f"""
    <Node score="0"><True/>
      <Node score="1">
        <CompoundPredicate booleanOperator="{_operator}">
          <SimplePredicate field="x" operator="greaterThan" value="0"/>
          <SimplePredicate field="z" operator="greaterThan" value="0"/>
        </CompoundPredicate>
      </Node>
      <Node score="2"><True/></Node>
    </Node>""", attributes=' missingValueStrategy="nullPrediction"'),
        records=_records,
        expected=_expected,
        note=f"CompoundPredicate {_operator} over (x > 0, z > 0) for x, z in "
             "{positive, negative, missing}; nullPrediction exposes UNKNOWN as a missing result.",
    ))

CASES.append(SpecCase(
    id="tree/compound-surrogate-chain-ending-false",
    pmml=_regression_tree("""
    <Node score="0"><True/>
      <Node score="1">
        <CompoundPredicate booleanOperator="surrogate">
          <SimplePredicate field="x" operator="lessThan" value="0"/>
          <SimplePredicate field="z" operator="lessThan" value="0"/>
          <False/>
        </CompoundPredicate>
      </Node>
      <Node score="2"><True/></Node>
    </Node>""", attributes=' missingValueStrategy="nullPrediction"'),
    records=[{"x": -1.0, "z": 5.0}, {"x": None, "z": -5.0}, {"x": None, "z": 5.0},
             {"x": None, "z": None}],
    expected=[{"y": 1.0}, {"y": 1.0}, {"y": 2.0},
              {"y": 2.0}],   # both UNKNOWN: the closing <False/> decides
    note="surrogate takes the first operand that is not UNKNOWN; a trailing False makes the "
         "predicate total.",
))

CASES.append(SpecCase(
    id="tree/true-false-predicates",
    pmml=_regression_tree("""
    <Node score="0"><True/>
      <Node score="1"><False/></Node>
      <Node score="2"><True/></Node>
      <Node score="3"><True/></Node>
    </Node>""", fields=("x",), data_dictionary="""
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>"""),
    records=[{"x": 1.0}, {"x": None}],
    expected=[{"y": 2.0}, {"y": 2.0}],
    note="False never matches; the first True sibling wins regardless of input.",
))

# --- missingValueStrategy / noTrueChildStrategy ----------------------------------------------

def _two_level_tree(defaults=("2", None, "22"), z_ops=("lessThan", "greaterOrEqual")) -> str:
    """Root 0 splits on x < 0 (node 1) / x >= 0 (node 2); node 1 splits on z at 0 with
    ``z_ops``, node 2 on z < 10 / z >= 10.  ``defaults``: defaultChild of nodes 0, 1, 2."""
    d0, d1, d2 = (f' defaultChild="{c}"' if c else "" for c in defaults)
    return f"""
    <Node id="0" score="100"{d0}><True/>
      <Node id="1" score="1"{d1}><SimplePredicate field="x" operator="lessThan" value="0"/>
        <Node id="11" score="11"><SimplePredicate field="z" operator="{z_ops[0]}" value="0"/></Node>
        <Node id="12" score="12"><SimplePredicate field="z" operator="{z_ops[1]}" value="0"/></Node>
      </Node>
      <Node id="2" score="2"{d2}><SimplePredicate field="x" operator="greaterOrEqual" value="0"/>
        <Node id="21" score="21"><SimplePredicate field="z" operator="lessThan" value="10"/></Node>
        <Node id="22" score="22"><SimplePredicate field="z" operator="greaterOrEqual" value="10"/></Node>
      </Node>
    </Node>"""


_STRATEGY_NODES = _two_level_tree()
_ENTITY = """
    <Output><OutputField name="node" optype="categorical" dataType="string" feature="entityId"/></Output>"""
_STRATEGY_RECORDS = [
    {"x": -1.0, "z": -1.0},   # fully known: 0 -> 1 -> 11
    {"x": None, "z": 5.0},    # UNKNOWN at the root's children
    {"x": 1.0, "z": None},    # UNKNOWN under node 2
    {"x": None, "z": None},
    {"x": 5.0, "z": 20.0},    # fully known: 0 -> 2 -> 22
]


def _leaf(score, node):
    return {"y": None, "node": None} if score is None else {"y": float(score), "node": node}


_STRATEGIES = {
    # (missingValueStrategy, noTrueChildStrategy): per record (score, node id)
    ("none", "returnNullPrediction"): [(11, "11"), (None, None), (None, None), (None, None), (22, "22")],
    ("none", "returnLastPrediction"): [(11, "11"), (100, "0"), (2, "2"), (100, "0"), (22, "22")],
    ("nullPrediction", "returnNullPrediction"): [(11, "11"), (None, None), (None, None), (None, None), (22, "22")],
    ("lastPrediction", "returnNullPrediction"): [(11, "11"), (100, "0"), (2, "2"), (100, "0"), (22, "22")],
    # defaultChild: x missing -> root's default child 2, then z = 5 -> 21 / z missing -> 22
    ("defaultChild", "returnNullPrediction"): [(11, "11"), (21, "21"), (22, "22"), (22, "22"), (22, "22")],
}
for (_mvs, _ntc), _results in _STRATEGIES.items():
    CASES.append(SpecCase(
        id=f"tree/strategy-{_mvs}-{_ntc}",
        pmml=_regression_tree(_STRATEGY_NODES, output=_ENTITY,
                              attributes=f' missingValueStrategy="{_mvs}" noTrueChildStrategy="{_ntc}"'),
        records=_STRATEGY_RECORDS,
        expected=[_leaf(score, node) for score, node in _results],
        note=f"missingValueStrategy={_mvs}, noTrueChildStrategy={_ntc}: with 'none' an UNKNOWN child "
             "counts as FALSE, so the missing records fall through to noTrueChildStrategy; "
             "entityId is the id of the node that gave the score.",
    ))

CASES.append(SpecCase(
    id="tree/default-child-first",
    pmml=_regression_tree(_two_level_tree(("1", "11", "21"), ("lessOrEqual", "greaterThan")),
                          output=_ENTITY, attributes=' missingValueStrategy="defaultChild"'),
    records=[{"x": -1.0, "z": -1.0}, {"x": None, "z": 5.0}, {"x": 1.0, "z": None},
             {"x": None, "z": None}, {"x": 5.0, "z": 20.0}, {"x": 0.0, "z": 0.0},
             {"x": 0.0, "z": 10.0}, {"x": -1.0, "z": 0.0}],
    expected=[_leaf(11, "11"),
              _leaf(12, "12"),    # x missing: the first child (default), then z = 5 > 0
              _leaf(21, "21"),    # z missing under node 2: its first child
              _leaf(11, "11"),    # both missing: first child, then its first child
              _leaf(22, "22"), _leaf(21, "21"), _leaf(22, "22"), _leaf(11, "11")],
    note="defaultChild naming the first child: a missing value takes the branch whose test "
         "would be TRUE, the opposite of the case above; on the thresholds (x = 0, z = 10, "
         "z = 0) lessThan is FALSE, greaterOrEqual and lessOrEqual TRUE.",
))

CASES.append(SpecCase(
    id="tree/no-true-child",
    pmml=_regression_tree("""
    <Node id="r" score="100"><True/>
      <Node id="a" score="1"><SimplePredicate field="x" operator="lessThan" value="0"/></Node>
      <Node id="b" score="2"><SimplePredicate field="x" operator="greaterOrEqual" value="10"/>
        <Node id="b1" score="21"><SimplePredicate field="z" operator="lessThan" value="0"/></Node>
      </Node>
      <Node id="c"><SimplePredicate field="x" operator="equal" value="5"/>
        <Node id="c1" score="31"><SimplePredicate field="z" operator="lessThan" value="0"/></Node>
      </Node>
    </Node>""", output=_ENTITY, attributes=' noTrueChildStrategy="returnLastPrediction"'),
    records=[{"x": 3.0, "z": 0.0}, {"x": 15.0, "z": 1.0}, {"x": 15.0, "z": -1.0},
             {"x": 5.0, "z": 1.0}, {"x": 5.0, "z": -1.0}],
    expected=[_leaf(100, "r"), _leaf(2, "b"), _leaf(21, "b1"),
              _leaf(None, None),   # node c has no score to return
              _leaf(31, "c1")],
    note="returnLastPrediction returns the deepest TRUE node's score when none of its children is "
         "TRUE; a node without a score gives a missing prediction.",
))

CASES.append(SpecCase(
    id="tree/no-true-child-default-null",
    pmml=_regression_tree("""
    <Node id="r" score="100"><True/>
      <Node id="a" score="1"><SimplePredicate field="x" operator="lessThan" value="0"/></Node>
    </Node>""", fields=("x",), output=_ENTITY, data_dictionary="""
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>"""),
    records=[{"x": -3.0}, {"x": 3.0}],
    expected=[_leaf(1, "a"), _leaf(None, None)],
    note="The default noTrueChildStrategy is returnNullPrediction.",
))

# --- classification: ScoreDistribution, confidence, entityId ---------------------------------

_DD_CLASS = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string"><Value value="A"/><Value value="B"/></DataField>
"""
_OUT_CLASS = """
    <Output>
      <OutputField name="predicted" optype="categorical" dataType="string" feature="predictedValue"/>
      <OutputField name="probability(A)" optype="continuous" dataType="double" feature="probability" value="A"/>
      <OutputField name="probability(B)" optype="continuous" dataType="double" feature="probability" value="B"/>
      <OutputField name="confidence" optype="continuous" dataType="double" feature="confidence"/>
      <OutputField name="confidence(A)" optype="continuous" dataType="double" feature="confidence" value="A"/>
      <OutputField name="node" optype="categorical" dataType="string" feature="entityId"/>
    </Output>"""


def _classification_tree(nodes: str, attributes: str = "", output: str = _OUT_CLASS) -> str:
    return document(_DD_CLASS, f"""
  <TreeModel functionName="classification"{attributes}>
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>{output}
{nodes}
  </TreeModel>""")


def _class_row(y, p_a, p_b, conf, conf_a, node):
    return {"y": y, "predicted": y, "probability(A)": p_a, "probability(B)": p_b,
            "confidence": conf, "confidence(A)": conf_a, "node": node}


_NULL_ROW = _class_row(None, None, None, None, None, None)

CASES.append(SpecCase(
    id="tree/classification-score-distribution",
    pmml=_classification_tree("""
    <Node id="root" score="A" recordCount="100"><True/>
      <ScoreDistribution value="A" recordCount="60"/><ScoreDistribution value="B" recordCount="40"/>
      <Node id="left" score="A" recordCount="30"><SimplePredicate field="x" operator="lessThan" value="0"/>
        <ScoreDistribution value="A" recordCount="24" confidence="0.75"/>
        <ScoreDistribution value="B" recordCount="6" confidence="0.25"/>
      </Node>
      <Node id="mid" score="B" recordCount="20"><SimplePredicate field="x" operator="lessThan" value="5"/>
        <ScoreDistribution value="A" recordCount="12" probability="0.3" confidence="0.2"/>
        <ScoreDistribution value="B" recordCount="8" probability="0.7" confidence="0.8"/>
      </Node>
      <Node id="right" score="B" recordCount="50"><SimplePredicate field="x" operator="greaterOrEqual" value="5"/>
        <ScoreDistribution value="A" recordCount="30" confidence="0.6"/>
        <ScoreDistribution value="B" recordCount="20" confidence="0.4"/>
      </Node>
    </Node>"""),
    records=[{"x": -2.0}, {"x": 1.0}, {"x": 7.0}, {"x": None}],
    expected=[
        _class_row("A", 24 / 30, 6 / 30, 0.75, 0.75, "left"),
        # the probability attribute overrides the counts (12/20 = 0.6 would be different)
        _class_row("B", 0.3, 0.7, 0.8, 0.2, "mid"),
        # the node's score is the prediction even though A has the larger count (30 of 50)
        _class_row("B", 30 / 50, 20 / 50, 0.4, 0.6, "right"),
        _NULL_ROW,   # missingValueStrategy none + returnNullPrediction
    ],
    note="probability = ScoreDistribution@probability if present, else recordCount / total; "
         "the predicted value is the node's score; confidence without a value is that of the "
         "predicted category.",
))

CASES.append(SpecCase(
    id="tree/classification-default-child-penalty",
    pmml=_classification_tree("""
    <Node id="root" score="A" defaultChild="R"><True/>
      <ScoreDistribution value="A" recordCount="11" confidence="0.55"/>
      <ScoreDistribution value="B" recordCount="9" confidence="0.45"/>
      <Node id="L" score="A"><SimplePredicate field="x" operator="lessThan" value="0"/>
        <ScoreDistribution value="A" recordCount="8" confidence="0.8"/>
        <ScoreDistribution value="B" recordCount="2" confidence="0.2"/>
      </Node>
      <Node id="R" score="B"><SimplePredicate field="x" operator="greaterOrEqual" value="0"/>
        <ScoreDistribution value="A" recordCount="3" confidence="0.3"/>
        <ScoreDistribution value="B" recordCount="7" confidence="0.7"/>
      </Node>
    </Node>""", attributes=' missingValueStrategy="defaultChild" missingValuePenalty="0.8"'),
    records=[{"x": -1.0}, {"x": 1.0}, {"x": None}],
    expected=[
        _class_row("A", 0.8, 0.2, 0.8, 0.8, "L"),
        _class_row("B", 0.3, 0.7, 0.7, 0.3, "R"),
        # one defaultChild step: confidences * 0.8; probabilities unchanged
        _class_row("B", 0.3, 0.7, 0.7 * 0.8, 0.3 * 0.8, "R"),
    ],
    note="defaultChild with missingValuePenalty: each use of a defaultChild multiplies the "
         "confidence (not the probability) by the penalty.",
))

CASES.append(SpecCase(
    id="tree/classification-last-prediction",
    pmml=_classification_tree("""
    <Node id="root" score="A"><True/>
      <ScoreDistribution value="A" recordCount="6"/><ScoreDistribution value="B" recordCount="4"/>
      <Node id="L" score="B"><SimplePredicate field="x" operator="lessThan" value="0"/>
        <ScoreDistribution value="A" recordCount="1"/><ScoreDistribution value="B" recordCount="3"/>
      </Node>
    </Node>""", attributes=' missingValueStrategy="lastPrediction"', output="""
    <Output>
      <OutputField name="probability(A)" optype="continuous" dataType="double" feature="probability" value="A"/>
      <OutputField name="node" optype="categorical" dataType="string" feature="entityId"/>
    </Output>"""),
    records=[{"x": -1.0}, {"x": None}],
    expected=[{"y": "B", "probability(A)": 0.25, "node": "L"},
              {"y": "A", "probability(A)": 0.6, "node": "root"}],
    note="lastPrediction: an UNKNOWN child stops at the parent, whose ScoreDistribution gives the "
         "probabilities.",
))

# --- weightedConfidence and aggregateNodes (JPMML does not implement them) -------------------

_COMBINING_NODES = """
    <Node id="root" score="A" recordCount="100"><True/>
      <ScoreDistribution value="A" recordCount="60" confidence="0.6"/>
      <ScoreDistribution value="B" recordCount="40" confidence="0.4"/>
      <Node id="L" score="A" recordCount="30"><SimplePredicate field="x" operator="lessThan" value="0"/>
        <ScoreDistribution value="A" recordCount="24" confidence="0.8"/>
        <ScoreDistribution value="B" recordCount="6" confidence="0.2"/>
      </Node>
      <Node id="R" score="B" recordCount="70"><SimplePredicate field="x" operator="greaterOrEqual" value="0"/>
        <ScoreDistribution value="A" recordCount="28" confidence="0.4"/>
        <ScoreDistribution value="B" recordCount="42" confidence="0.6"/>
      </Node>
    </Node>"""

_DD_CONF = """
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="categorical" dataType="string"><Value value="A"/><Value value="B"/></DataField>
"""


def _combining_tree(strategy: str, output: str) -> str:
    return document(_DD_CONF, f"""
  <TreeModel functionName="classification" missingValueStrategy="{strategy}">
    <MiningSchema><MiningField name="x"/><MiningField name="y" usageType="target"/></MiningSchema>
    <Output>{output}</Output>
{_COMBINING_NODES}
  </TreeModel>""")


CASES.append(SpecCase(
    id="tree/strategy-weightedConfidence",
    pmml=_combining_tree("weightedConfidence", """
      <OutputField name="confidence(A)" optype="continuous" dataType="double" feature="confidence" value="A"/>
      <OutputField name="confidence(B)" optype="continuous" dataType="double" feature="confidence" value="B"/>"""),
    records=[{"x": -1.0}, {"x": None}],
    expected=[
        {"y": "A", "confidence(A)": 0.8, "confidence(B)": 0.2},
        # both children UNKNOWN: weights 30/100 and 70/100
        {"y": "A", "confidence(A)": 0.3 * 0.8 + 0.7 * 0.4, "confidence(B)": 0.3 * 0.2 + 0.7 * 0.6},
    ],
    note="weightedConfidence: the confidences of every non-FALSE sibling, weighted by its share of "
         "the parent's records (30/100, 70/100): A = 0.52, B = 0.48, the winner is A. JPMML does "
         "not implement this strategy (UnsupportedAttributeException).",
    jpmml_differs=True,
))

CASES.append(SpecCase(
    id="tree/strategy-aggregateNodes",
    pmml=_combining_tree("aggregateNodes", """
      <OutputField name="probability(A)" optype="continuous" dataType="double" feature="probability" value="A"/>
      <OutputField name="probability(B)" optype="continuous" dataType="double" feature="probability" value="B"/>"""),
    records=[{"x": 1.0}, {"x": None}],
    expected=[
        {"y": "B", "probability(A)": 28 / 70, "probability(B)": 42 / 70},
        # leaves L and R both reached: A = 24 + 28 = 52, B = 6 + 42 = 48 of 100
        {"y": "A", "probability(A)": (24 + 28) / 100, "probability(B)": (6 + 42) / 100},
    ],
    note="aggregateNodes: the record counts of every leaf reached through non-FALSE predicates are "
         "summed per category. JPMML does not implement this strategy "
         "(UnsupportedAttributeException).",
    jpmml_differs=True,
))
