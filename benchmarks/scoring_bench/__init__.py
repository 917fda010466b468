"""The scoring benchmark behind ``make bench`` (``benchmarks/run.py``).

Three sklearn pipelines on a CTR-like table are exported with sklearn2pmml and skl2onnx, then
scored by five engines in one run: pmmlserve, scikit-learn itself, onnxruntime, jpmml_evaluator
(JPype) and pypmml (py4j).  The modules, in the order the run uses them:

``data``      the synthetic CTR table and the JSON-like single records
``models``    the three pipelines, their PMML / ONNX / pickle artifacts
``engines``   one small adapter per engine: load, score one record, score a batch
``timing``    interleaved latency, batch and load measurements
``memory``    per-(model, engine) memory probes, each in a fresh child process
``machine``   CPU, RAM, OS and library versions
``report``    results JSON -> docs/performance.md (tables, ratios, targets)
``plots``     results JSON -> PNG charts

This is a benchmark, not a test: nothing here asserts on a timing.
"""
