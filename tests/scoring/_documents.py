"""A small hand-written document: a regression on x with one transformedValue OutputField."""


def output_document(expression: str = '<FieldRef field="x"/>', mining: str = "",
                    values: str = "") -> str:
    """A regression on x with one transformedValue output; its line 5 holds the output's
    expression, line 4 the MiningField of x."""
    return f"""<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/>
<DataDictionary><DataField name="x" optype="continuous" dataType="double">{values}</DataField>
<DataField name="y" optype="continuous" dataType="double"/></DataDictionary>
<RegressionModel functionName="regression"><MiningSchema><MiningField name="x" {mining}/>
<MiningField name="y" usageType="target"/></MiningSchema><Output><OutputField name="o" feature="transformedValue" dataType="double" optype="continuous">{expression}
</OutputField></Output><RegressionTable intercept="1"><NumericPredictor name="x" coefficient="2"/>
</RegressionTable></RegressionModel></PMML>"""
