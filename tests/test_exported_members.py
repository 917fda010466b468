"""Pin the public API: what ``import pmmlserve`` offers is a deliberate decision."""

import pmmlserve


def test_public_names():
    assert set(pmmlserve.__all__) == {
        "__version__", "load", "Model", "Field", "Interval", "export", "ModelStore", "Version",
        "LiveModel", "PMMLServeError", "MarkupError", "PMMLSyntaxError", "InvalidMarkupError",
        "UnsupportedMarkupError", "VerificationError", "EvaluationError", "ExportError",
        "UnsupportedEstimatorError", "StoreError", "VersionNotFoundError",
    }
    for name in pmmlserve.__all__:
        assert getattr(pmmlserve, name) is not None


def test_exceptions_form_one_hierarchy_with_natural_builtins():
    assert issubclass(pmmlserve.MarkupError, ValueError)
    assert issubclass(pmmlserve.EvaluationError, ValueError)
    assert issubclass(pmmlserve.StoreError, OSError)
    assert issubclass(pmmlserve.VersionNotFoundError, LookupError)
    for name in ("MarkupError", "EvaluationError", "ExportError", "StoreError"):
        assert issubclass(getattr(pmmlserve, name), pmmlserve.PMMLServeError)
    for name in ("PMMLSyntaxError", "InvalidMarkupError", "UnsupportedMarkupError",
                 "VerificationError"):
        assert issubclass(getattr(pmmlserve, name), pmmlserve.MarkupError)


def test_scoring_does_not_import_the_training_stack():
    import subprocess
    import sys

    code = ("import sys, pmmlserve; pmmlserve.load(open(sys.argv[1]).read()) if len(sys.argv) > 1 "
            "else None; print(any(m.startswith(('sklearn', 'scipy', 'xgboost', 'lightgbm')) "
            "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
