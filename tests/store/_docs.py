"""Small hand-written PMML documents for the store and command-line tests.

A RegressionModel ``y = intercept + coefficient * x``: the expected verification values are
computed here from that formula, independently of any scorer, so a document's identity (its
intercept) can be read back from any prediction.
"""

from __future__ import annotations

X_VALUES = (0.0, 1.0, 2.5, -4.0)


def regression_pmml(
    intercept: float,
    coefficient: float = 1.0,
    *,
    verification: bool = True,
    wrong_verification: bool = False,
    application: str = "pmmlserve-tests",
) -> bytes:
    """A PMML 4.4 RegressionModel; ``wrong_verification`` makes its ModelVerification fail."""
    rows = ""
    for x in X_VALUES:
        y = intercept + coefficient * x + (1.0 if wrong_verification else 0.0)
        rows += f"        <row><x>{x!r}</x><y>{y!r}</y></row>\n"
    block = (
        f"""    <ModelVerification recordCount="{len(X_VALUES)}" fieldCount="2">
      <VerificationFields>
        <VerificationField field="x"/>
        <VerificationField field="y" precision="1E-9"/>
      </VerificationFields>
      <InlineTable>
{rows}      </InlineTable>
    </ModelVerification>
"""
        if verification
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">
  <Header>
    <Application name="{application}" version="1.0"/>
  </Header>
  <DataDictionary numberOfFields="2">
    <DataField name="x" optype="continuous" dataType="double"/>
    <DataField name="y" optype="continuous" dataType="double"/>
  </DataDictionary>
  <RegressionModel functionName="regression" modelName="intercept-{intercept!r}">
    <MiningSchema>
      <MiningField name="y" usageType="target"/>
      <MiningField name="x"/>
    </MiningSchema>
    <RegressionTable intercept="{intercept!r}">
      <NumericPredictor name="x" coefficient="{coefficient!r}"/>
    </RegressionTable>
{block}  </RegressionModel>
</PMML>
""".encode()
