"""Tree nodes read as columns (NodeColumns) against the same nodes read one by one."""

import re

import pytest
from lxml import etree

import pmmlserve
from pmmlserve.exceptions import InvalidMarkupError
from pmmlserve.pmml import _nodes
from pmmlserve.pmml._xml import parse_xml
from pmmlserve.scoring import _forest

from tests.scoring._forests import document

NS = "http://www.dmg.org/PMML-4_4"


def _roots(document: str) -> list:
    root = parse_xml(document.encode())
    return [tm.find(f"{{{NS}}}Node") for tm in root.iter(f"{{{NS}}}TreeModel")]


@pytest.mark.parametrize("chains", [False, True], ids=["pairs", "chains"])
@pytest.mark.parametrize("strategy", ["defaultChild", "nullPrediction"])
def test_node_columns_build_the_same_nodes_as_the_node_reader(chains, strategy):
    roots = _roots(document(5, "sum", "continue", strategy, False, chains))
    assert roots
    for node in roots:
        columns = _nodes.node_columns(node)
        assert columns is not None
        assert columns.root() == _nodes.tree_node(node)


def _tree(body: str) -> etree._Element:
    return parse_xml(f'<PMML xmlns="{NS}" version="4.4"><TreeModel>{body}</TreeModel></PMML>'
                     .encode())[0][0]


SPLIT = ('<Node score="1"><SimplePredicate field="x" operator="lessOrEqual" value="0"/>{}</Node>'
         '<Node score="2"><SimplePredicate field="x" operator="greaterThan" value="0"/></Node>')

OTHER_SHAPES = {
    "score distribution": '<Node><True/><ScoreDistribution value="a" recordCount="1"/></Node>',
    "extension": f'<Node><Extension/><True/>{SPLIT.format("")}</Node>',
    "extension below": f'<Node><True/>{SPLIT.format("<Extension/>")}</Node>',
    "record count": f'<Node recordCount="3"><True/>{SPLIT.format("")}</Node>',
    "compound predicate": '<Node><True/><Node score="1"><CompoundPredicate booleanOperator="or">'
                          '<True/><False/></CompoundPredicate></Node></Node>',
    "attribute of another name": '<Node><True/><Node score="1"><SimplePredicate field="x" '
                                 'operator="equal" value="0" extra="1"/></Node></Node>',
    "True below the root": '<Node><True/><Node score="1"><True/></Node></Node>',
    "no predicate": '<Node score="1"/>',
    "predicate after the child Nodes": '<Node><True/><Node score="1"/><SimplePredicate '
                                       'field="x" operator="equal" value="0"/></Node>',
    "predicate second": '<Node><True/><Node score="1"><Extension/><SimplePredicate '
                        'field="x" operator="equal" value="0"/></Node></Node>',
    "two predicates": f'<Node><True/><False/>{SPLIT.format("")}</Node>',
    "Array beside a set predicate": '<Node><True/><Node score="1"><SimpleSetPredicate '
                                    'field="x" booleanOperator="isIn"/><Array type="string">'
                                    'a</Array></Node></Node>',
    "Node inside an Extension": f'<Node><True/><Extension>{SPLIT.format("")}</Extension></Node>',
    "predicate with a child": '<Node><True/><Node score="1"><SimplePredicate field="x" '
                              'operator="equal" value="0"><Extension/></SimplePredicate>'
                              '</Node></Node>',
}


@pytest.mark.parametrize("body", OTHER_SHAPES.values(), ids=OTHER_SHAPES.keys())
def test_other_shapes_are_read_node_by_node(body):
    assert _nodes.node_columns(_tree(body)) is None


def test_errors_in_trees_read_as_columns_name_the_node_line(monkeypatch):
    # a leaf whose score is not a number: the direct lowering leaves it to the IR path, which
    # reports it from the nodes the columns build, with the line of its Node (one per line)
    monkeypatch.setattr(_forest, "_BITS_PATHS", 0)
    text = document(5, "sum", "continue", "nullPrediction", False).replace("<Node", "\n<Node")
    text = re.sub(r'score="[^"]*"(><SimplePredicate[^>]*/></Node>)', r'score="x"\1', text,
                  count=1)
    line = next(i + 1 for i, part in enumerate(text.split("\n")) if 'score="x"' in part)
    with pytest.raises(InvalidMarkupError) as caught:
        pmmlserve.load(text)
    assert caught.value.line == line and "score" in str(caught.value)
