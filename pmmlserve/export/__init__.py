"""Export fitted scikit-learn estimators and pipelines to PMML 4.4, without Java.

>>> import pmmlserve
>>> document = pmmlserve.export(pipeline, "model.pmml", sample=X_valid)   # doctest: +SKIP

Converters are looked up by class path in a registry (``_registry.py``), so optional libraries
(xgboost, lightgbm) are imported only when one of their models is exported.

What PMML cannot reproduce exactly, and what the exporter does about it:

* XGBoost adds leaf values in float32.  Standard PMML has no float arithmetic context
  (JPMML's ``x-mathContext`` is outside the 4.4 schema), so each tree is a model-chain segment
  whose output is a ``dataType="float"`` running sum: margins are bit-exact, probabilities
  within a few float32 ULPs (the sigmoid/softmax is computed in double, then rounded).  A
  binary model's ``probability(0)`` is ``1 - p`` in float32 as in XGBoost; ModelVerification
  checks the positive class only.
* scikit-learn trees compare ``float32(x) <= threshold``: splits read a float copy of their
  input and thresholds are rounded down to float32, which selects exactly the same rows.
* HistGradientBoosting and LightGBM categorical splits read integer codes; a non-integer code
  in the input is truncated by those libraries, whereas the document treats it as an unseen
  category.  The exporter reads HistGradientBoosting's private tree arrays (``_private.py``)
  and refuses scikit-learn versions it was not checked against.
* Refused with ``ExportError``: SimpleImputer/MissingIndicator with ``missing_values`` other
  than NaN/None, FunctionTransformer other than numpy log/log1p/exp/expm1/sqrt/abs (or with
  ``kw_args``), ``transformer_weights``, KBinsDiscretizer other encodings, multi-output models,
  SGDClassifier losses without probabilities, GradientBoosting with a custom ``init``,
  XGBoost ``missing`` other than NaN or non-``gbtree`` boosters, LightGBM ``linear_tree``,
  ``boosting_type="rf"`` and ``zero_as_missing``, and objectives outside the supported links
  (logistic, softmax, identity, log).
* Errors are not reproduced: a document accepts what the estimator would reject (for example
  NaN into a LogisticRegression gives a missing prediction, not an exception), except unseen
  categories for encoders with ``handle_unknown="error"``, which stay invalid values.
"""

from pmmlserve.export._api import export

__all__ = ["export"]
