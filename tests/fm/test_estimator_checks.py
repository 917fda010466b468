"""scikit-learn's own API conformance checks, run on both FM estimators."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from pmmlserve.fm import FMClassifier, FMRegressor

# fits run at the default max_iter on data they cannot always converge on in time
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# Every check applies and passes, so none is listed as an expected failure.  That includes the
# sample-weight equivalence checks, which hold because their datasets fit in one mini-batch,
# where an integer weight is exactly a repeated row (across several shuffled batches it is so
# only in expectation).
@parametrize_with_checks([FMClassifier(random_state=0), FMRegressor(random_state=0)])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
