"""Benchmark pmmlserve's scorer against scikit-learn, onnxruntime, jpmml_evaluator and pypmml.

Fits three pipelines on a synthetic CTR table, exports them with sklearn2pmml and skl2onnx,
checks that every engine's scores agree with sklearn, then times single-record latency, a
10,000-row batch and loading, and probes memory.  Writes the results as JSON and renders
docs/performance.md with PNG charts in docs/img/.  A benchmark, not a test.

Run with::

    make bench                                      # = .venv/bin/python benchmarks/run.py
    python benchmarks/run.py --quick                # smoke run with few repetitions
    python benchmarks/run.py --engines pmmlserve,onnxruntime --models gbc
    python benchmarks/run.py --render benchmarks/results/latest.json   # only re-render the docs

An engine that cannot run here (not installed, no Java, scorer not written yet) shows as
"n/a: <reason>" instead of stopping the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # scoring_bench, next to this file

from scoring_bench import report  # noqa: E402
from scoring_bench.engines import ENGINES  # noqa: E402
from scoring_bench.models import MODELS  # noqa: E402


def _write_atomic(path: Path, text: str) -> None:
    """Temp file in the same directory, fsync, rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _names(value: str | None, known: list[str], what: str) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SystemExit(f"unknown {what}: {unknown}; known: {known}")
    return names


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: few rounds and repeats (numbers not for publishing)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json",
                        help="results JSON (default: benchmarks/results/latest.json)")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "performance.md",
                        help="Markdown page to render (default: docs/performance.md)")
    parser.add_argument("--img-dir", type=Path, default=ROOT / "docs" / "img",
                        help="where the PNG charts go (default: docs/img)")
    parser.add_argument("--engines", help="comma-separated subset of: "
                        + ",".join(e.name for e in ENGINES))
    parser.add_argument("--models", help="comma-separated subset of: "
                        + ",".join(m.key for m in MODELS))
    parser.add_argument("--no-memory", action="store_true", help="skip the memory probes")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="cap every engine at N threads (OpenMP/BLAS, onnxruntime intra-op, "
                        "jpmml evaluateAll); default: each library's own default")
    parser.add_argument("--render", type=Path, metavar="RESULTS_JSON",
                        help="do not measure: render the docs from an existing results file")
    return parser.parse_args(argv)


def _render(results: dict, out: Path, docs: Path, img_dir: Path) -> None:
    try:
        from scoring_bench.plots import render_plots

        for path in render_plots(results, img_dir):
            print(f"wrote {path}", file=sys.stderr)
        images = img_dir
    except ImportError as exc:  # matplotlib is in the [test] extra; the page works without it
        print(f"no charts ({exc}); install matplotlib for them", file=sys.stderr)
        images = None
    shown = os.path.relpath(out, ROOT) if out.is_relative_to(ROOT) else str(out)
    _write_atomic(docs, report.render_markdown(results, shown, images, docs))
    print(f"wrote {docs}", file=sys.stderr)


def _cap_threads(n: int) -> None:
    """Cap thread pools in this process and, through the environment, in the memory probes."""
    from scoring_bench.engines import THREADS_ENV

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", THREADS_ENV):
        os.environ[var] = str(n)
    # numpy's BLAS is already loaded (it read its variable at import): cap it directly
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)


def _print_summary(results: dict) -> None:
    for key, model in results["models"].items():
        print(f"\n{model['title']}")
        for name, row in model["engines"].items():
            if row.get("status") != "ok":
                print(f"  {name:12s} {row.get('status')}")
                continue
            lat, bat, lod = row["latency_us"], row["batch_s"], row["load_ms"]
            print(f"  {name:12s} one: median {lat.get('median', float('nan')):9.1f} µs "
                  f"p99 {lat.get('p99', float('nan')):9.1f} µs | batch "
                  f"{bat.get('median', float('nan')) * 1e3:9.1f} ms | load "
                  f"{lod.get('median', float('nan')):8.1f} ms | agrees "
                  f"{row.get('agreement', {}).get('ok')}")
    print()
    for t in results["targets"]:
        print(f"target {t['model']:6s} {t['target']:17s} met={t['met']}  {t.get('detail', '')}")


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.render is not None:
        results = json.loads(args.render.read_text(encoding="utf-8"))
        _render(results, args.render, args.docs, args.img_dir)
        return 0
    if args.threads is not None:
        _cap_threads(args.threads)
    from scoring_bench.suite import Settings, run

    settings = Settings.quick_run() if args.quick else Settings()
    settings = dataclasses.replace(settings, memory=not args.no_memory, threads=args.threads)
    command = shlex.join(["python", "benchmarks/run.py", *(sys.argv[1:] if argv is None
                                                           else argv)])
    results = run(
        settings,
        engine_names=_names(args.engines, [e.name for e in ENGINES], "engines"),
        model_keys=_names(args.models, [m.key for m in MODELS], "models"),
        command=command,
    )
    results["targets"] = report.targets(results)
    _write_atomic(args.out, json.dumps(results, indent=1, allow_nan=False) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    _print_summary(results)
    _render(results, args.out, args.docs, args.img_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
