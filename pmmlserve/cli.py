"""The ``pmmlserve`` command line: export, publish, inspect, verify, score and benchmark models.

Run ``pmmlserve --help`` or ``pmmlserve COMMAND --help``.  A model is named either by a PMML
file, or with ``--store ROOT`` as ``NAME``, ``NAME@VERSION`` or ``NAME@ALIAS`` in a store.
Errors print one line on stderr and exit with status 1 (2 for usage errors).

Only argparse is imported up front: each command imports what it needs (pandas, scikit-learn
for ``export``), so ``pmmlserve --help`` stays fast.

>>> from pmmlserve.cli import main
>>> main(["verify", "model.pmml"])                                       # doctest: +SKIP
ok: model.pmml reproduces its 10 verification rows
0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from pmmlserve import Model, ModelStore

__all__ = ["main"]

STORE_ENV = "PMMLSERVE_STORE"
DEF = "default: %(default)s"
DROP_HELP = "sample column to leave out, e.g. the label (repeatable)"
ROWS_HELP = "use the first N sample rows; " + DEF
META_HELP = "metadata entry, VALUE is JSON or text (repeatable)"
ACTIVATE_HELP = "publish without moving the current alias"
PROGRESS_HELP = "show progress, or not (default: when stderr is a terminal)"
DURATION_HELP = "time spent on each measurement; " + DEF
NO_VERIFY_HELP = "do not replay the ModelVerification rows when loading the model"


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Examples
    --------
    >>> main(["versions", "--store", "/srv/models", "ctr"])             # doctest: +SKIP
    0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `pmmlserve versions ... | head`
        sys.stderr.close()
        return 0
    except Exception as exc:  # the contract is one clear line, whatever went wrong
        if args.traceback:
            raise
        print(f"pmmlserve {args.command}: error: {_describe(exc)}", file=sys.stderr)
        return 1


def _describe(exc: BaseException) -> str:
    from pmmlserve.exceptions import PMMLServeError

    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (PMMLServeError, OSError, ValueError, LookupError, ImportError)):
        return message
    return f"{type(exc).__name__}: {message} (run with --traceback for details)"


# ---------------------------------------------------------------------------------- parsing


def _parser() -> argparse.ArgumentParser:
    from pmmlserve._version import __version__

    parser = argparse.ArgumentParser(
        prog="pmmlserve",
        description="Export, store, verify and score PMML models without a JVM.",
        epilog="Run 'pmmlserve COMMAND --help' for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"pmmlserve {__version__}")
    parser.add_argument(
        "--traceback", action="store_true", help="show the full traceback of an error"
    )
    parser.set_defaults(command=None)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(
        name: str, run: Callable[[argparse.Namespace], int | None], summary: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=summary, description=summary)
        p.add_argument(
            "--traceback", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
        )
        p.set_defaults(command=name, run=run)
        return p

    p = command("export", _export, "write a fitted scikit-learn pipeline as PMML")
    p.add_argument("estimator", help="joblib/pickle file of the estimator (trusted files only)")
    p.add_argument("--sample", required=True, help="CSV of input rows (types, verification)")
    p.add_argument("-o", "--output", help="PMML file to write (default: ESTIMATOR.pmml)")
    p.add_argument("--drop", action="append", default=[], metavar="COLUMN", help=DROP_HELP)
    p.add_argument("--sample-rows", type=_positive_int, default=100, metavar="N", help=ROWS_HELP)
    p.add_argument("--name", help="modelName of the PMML model element")
    p.add_argument("--target", help="name of the target field (default: y)")
    p.add_argument("--backend", choices=("native", "sklearn2pmml"), default="native")

    p = command("publish", _publish, "verify a PMML document and publish it as a new version")
    _store_arguments(p)
    p.add_argument("pmml", help="PMML file")
    p.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE", help=META_HELP)
    p.add_argument("--metadata", metavar="FILE", help="JSON file of metadata")
    p.add_argument("--no-activate", dest="activate", action="store_false", help=ACTIVATE_HELP)

    p = command("versions", _versions, "list the versions and aliases of a model")
    _store_arguments(p)
    p.add_argument("--json", action="store_true", help="print the manifests as JSON")

    p = command("promote", _promote, "point an alias (default: current) at a version")
    _store_arguments(p, alias=True)
    p.add_argument("version", help="version id")

    p = command("rollback", _rollback, "point an alias back at its previous version")
    _store_arguments(p, alias=True)

    p = command("inspect", _inspect, "show a model's type, fields, sizes and verification rows")
    _model_arguments(p)
    p.add_argument("--json", action="store_true", help="print the description as JSON")

    p = command("verify", _verify, "replay a model's ModelVerification rows")
    _model_arguments(p)
    p.add_argument("--strict", action="store_true", help="fail if there are no verification rows")

    p = command("score", _score, "score a CSV or Parquet file, streaming it in chunks")
    _model_arguments(p, verify_option=True)
    p.add_argument("input", help="CSV or Parquet file ('-': CSV from stdin)")
    p.add_argument("output", help="CSV or Parquet file ('-': CSV to stdout)")
    p.add_argument("--fields", type=_names, help="output columns to keep, comma-separated")
    p.add_argument("--keep", type=_names, default=[], help="input columns to copy, e.g. an id")
    p.add_argument("--chunk-size", type=_positive_int, default=50_000, metavar="ROWS", help=DEF)
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--progress", action="store_true", default=None, help=PROGRESS_HELP)
    shown.add_argument("--no-progress", dest="progress", action="store_false")

    p = command("bench", _bench, "measure a model's latency and throughput on a file")
    _model_arguments(p, verify_option=True)
    p.add_argument("input", help="CSV or Parquet file of input rows")
    p.add_argument("--rows", type=_positive_int, default=10_000, help="rows to read; " + DEF)
    p.add_argument("--batch-sizes", type=_sizes, default="1,100,10000", metavar="N,N", help=DEF)
    p.add_argument("--duration", type=float, default=2.0, metavar="SECONDS", help=DURATION_HELP)
    p.add_argument("--json", action="store_true", help="print the results as JSON")

    p = command("demo", _demo, "run the end-to-end demo (train, export, publish, serve)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="demo arguments, after '--'")
    return parser


def _store_option(p: argparse.ArgumentParser, *, required: bool) -> None:
    if required:
        help = f"store root: a directory or fsspec URL (default: ${STORE_ENV})"
        p.add_argument(
            "--store", "-s", default=os.environ.get(STORE_ENV), metavar="ROOT", help=help
        )
    else:
        p.add_argument("--store", "-s", metavar="ROOT", help="read MODEL from this store")


def _store_arguments(p: argparse.ArgumentParser, *, alias: bool = False) -> None:
    _store_option(p, required=True)
    p.add_argument("name", help="model name")
    if alias:
        p.add_argument("--alias", default="current", help="the alias to move; " + DEF)


def _model_arguments(p: argparse.ArgumentParser, *, verify_option: bool = False) -> None:
    p.add_argument("model", help="PMML file, or with --store: NAME, NAME@VERSION or NAME@ALIAS")
    _store_option(p, required=False)
    if verify_option:
        p.add_argument("--no-verify", dest="verify", action="store_false", help=NO_VERIFY_HELP)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


def _sizes(text: str) -> list[int]:
    try:
        return [_positive_int(n) for n in _names(text)]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


# ---------------------------------------------------------------------------------- store


def _open_store(args: argparse.Namespace) -> ModelStore:
    from pmmlserve import ModelStore

    if not args.store:
        raise ValueError(f"no store given: pass --store ROOT or set {STORE_ENV}")
    return ModelStore(args.store)


def _publish(args: argparse.Namespace) -> None:
    metadata: dict[str, Any] = {}
    if args.metadata:
        metadata.update(json.loads(Path(args.metadata).read_text()))
    for item in args.meta:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--meta takes KEY=VALUE, got {item!r}")
        try:
            metadata[key] = json.loads(value)
        except ValueError:
            metadata[key] = value
    store = _open_store(args)
    v = store.publish(args.name, args.pmml, metadata=metadata, activate=args.activate)
    active = store.aliases(args.name).get("current") == v.id
    state = "current" if active else "not activated"
    print(f"published {args.name} version {v.id} ({v.size} bytes, sha256 {v.sha256[:12]}; {state})")


def _versions(args: argparse.Namespace) -> None:
    store = _open_store(args)
    versions = store.versions(args.name)
    aliases = store.aliases(args.name)
    if args.json:
        print(json.dumps([v.to_manifest() for v in versions], indent=2))
        return
    if not versions:
        raise LookupError(f"model {args.name!r} has no versions in {store.root}")
    by_version: dict[int, list[str]] = {}
    for alias, vid in aliases.items():
        by_version.setdefault(vid, []).append(alias)
    rows = [("VERSION", "CREATED (UTC)", "SIZE", "SHA256", "PRODUCER", "ALIASES")]
    for v in versions:
        producer = " ".join(v.producer.get(k, "") for k in ("application", "version")).strip()
        created = v.created_at.strftime("%Y-%m-%d %H:%M:%S")
        rows.append(
            (
                str(v.id),
                created,
                str(v.size),
                v.sha256[:12],
                producer or "-",
                ",".join(by_version.get(v.id, [])) or "-",
            )
        )
    _print_table(rows)


def _promote(args: argparse.Namespace) -> None:
    store = _open_store(args)
    before = store.aliases(args.name).get(args.alias)
    v = store.promote(args.name, args.version, alias=args.alias)
    print(
        f"{args.name}: {args.alias} -> version {v.id} (was {'unset' if before is None else before})"
    )


def _rollback(args: argparse.Namespace) -> None:
    store = _open_store(args)
    before = store.aliases(args.name).get(args.alias)
    v = store.rollback(args.name, alias=args.alias)
    print(f"{args.name}: {args.alias} -> version {v.id} (was {before})")


# ---------------------------------------------------------------------------------- models


def _document(args: argparse.Namespace) -> tuple[str, bytes]:
    """The document MODEL names, and a label for messages."""
    if args.store is None:
        from pmmlserve.pmml._xml import read_source

        return args.model, read_source(args.model)
    name, _, ref = args.model.partition("@")
    store = _open_store(args)
    version = ref if ref.isdigit() else None
    v = store.version(name, version, alias=ref if ref and version is None else "current")
    return f"{name}@{v.id}", store.get(name, v.id)


def _load(args: argparse.Namespace, *, verify: bool) -> tuple[str, bytes, Model]:
    import pmmlserve

    label, data = _document(args)
    return label, data, pmmlserve.load(data, verify=verify)


def _parse(data: bytes) -> Any:
    from pmmlserve.pmml._xml import parse_xml

    return parse_xml(data)


def _verification_rows(root: Any) -> int:
    """How many ModelVerification rows the scored model of a parsed document carries."""
    from pmmlserve.pmml._reader import read_document

    verification = read_document(root).model.common.verification
    return len(verification.rows) if verification is not None else 0


def _inspect(args: argparse.Namespace) -> None:
    label, data, model = _load(args, verify=False)
    root = _parse(data)
    info = {
        "model": label,
        "type": model.model_type,
        "function": model.function_name,
        "producer": " ".join(
            filter(None, (model.header.get(k) for k in ("application", "version")))
        ),
        "bytes": len(data),
        "elements": sum(1 for _ in root.iter()),
        "verification_rows": _verification_rows(root),
        "inputs": [_field_json(f) for f in model.input_fields],
        "targets": [_field_json(f) for f in model.target_fields],
        "outputs": [_field_json(f) for f in model.output_fields],
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return
    rows = info["verification_rows"]
    print(f"model:         {label}")
    print(f"type:          {info['type']} ({info['function']})")
    print(f"producer:      {info['producer'] or '-'}")
    print(f"size:          {info['bytes']} bytes, {info['elements']} elements")
    print(f"verification:  {f'{rows} rows' if rows else 'none'}")
    for key in ("inputs", "targets", "outputs"):
        print(f"{key} ({len(info[key])}):")
        for f in info[key]:
            extra = f" [{f['feature']}]" if f.get("feature") else ""
            values = f.get("values", [])
            if values:
                extra += f" values: {', '.join(map(str, values[:8]))}{' ...' * (len(values) > 8)}"
            print(f"  {f['name']:<24} {f['data_type']:<8} {f['op_type']}{extra}")


def _field_json(field: Any) -> dict[str, Any]:
    from pmmlserve.store._version import fields_to_json

    return fields_to_json((field,))[0]


def _verify(args: argparse.Namespace) -> int:
    label, data, model = _load(args, verify=False)
    rows = _verification_rows(_parse(data))
    if rows == 0:
        level = "error" if args.strict else "warning"
        print(f"{level}: {label} has no verification rows: nothing checked", file=sys.stderr)
        return 1 if args.strict else 0
    model.verify()
    print(f"ok: {label} reproduces its {rows} verification rows")
    return 0


def _score(args: argparse.Namespace) -> None:
    import pandas as pd

    from pmmlserve.exceptions import EvaluationError

    from pmmlserve._tables import Progress, Sink, read_chunks

    label, _, model = _load(args, verify=args.verify)
    chunks, total = read_chunks(args.input, args.chunk_size, model)
    show = sys.stderr.isatty() if args.progress is None else args.progress
    sink, progress, offset, ok = Sink(args.output), Progress(total, show), 0, False
    try:
        for chunk in chunks:
            missing = [c for c in args.keep if c not in chunk.columns]
            if missing:
                raise ValueError(
                    f"--keep: no column {', '.join(map(repr, missing))} in {args.input}"
                )
            try:
                scores = model.predict(chunk)
            except EvaluationError as exc:
                raise exc.at_row(offset + exc.row) if exc.row is not None else exc from None
            if args.fields is not None:
                unknown = [f for f in args.fields if f not in scores.columns]
                if unknown:
                    outputs = ", ".join(map(repr, scores.columns))
                    raise ValueError(f"--fields: {unknown!r} not among the outputs {outputs}")
                scores = scores[args.fields]
            kept = chunk[args.keep].reset_index(drop=True)
            sink.write(pd.concat([kept, scores.reset_index(drop=True)], axis=1))
            offset += len(chunk)
            progress.update(len(chunk))
        ok = True
    finally:
        progress.close()
        sink.close(ok=ok)
    if args.output != "-":
        print(f"scored {offset} rows with {label} into {args.output}", file=sys.stderr)


def _bench(args: argparse.Namespace) -> None:
    import numpy as np

    from pmmlserve._tables import read_chunks

    label, _, model = _load(args, verify=args.verify)
    chunks, _ = read_chunks(args.input, args.rows, model)
    frame = next(chunks, None)
    if frame is None or frame.empty:
        raise ValueError(f"{args.input} has no rows")
    frame = frame.reset_index(drop=True)
    records = frame.to_dict("records")
    model.predict(frame.head(100))  # warm caches before measuring

    latencies = []
    end = time.perf_counter() + args.duration
    while time.perf_counter() < end or len(latencies) < 10:
        record = records[len(latencies) % len(records)]
        start = time.perf_counter()
        model.predict_one(record)
        latencies.append(time.perf_counter() - start)
    us = np.percentile(np.array(latencies) * 1e6, [50, 90, 99])
    results: dict[str, Any] = {
        "model": label,
        "rows": len(frame),
        "predict_one_us": {"p50": us[0], "p90": us[1], "p99": us[2], "calls": len(latencies)},
        "throughput_rows_per_s": {},
    }
    for size in args.batch_sizes:
        batch = frame.iloc[np.arange(size) % len(frame)].reset_index(drop=True)
        scored, start = 0, time.perf_counter()
        while scored == 0 or time.perf_counter() - start < args.duration:
            model.predict(batch)
            scored += size
        results["throughput_rows_per_s"][str(size)] = scored / (time.perf_counter() - start)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    p = results["predict_one_us"]
    print(f"{label} on {len(frame)} rows of {args.input}")
    quantiles = ", ".join(f"{q} {p[q]:.1f} us" for q in ("p50", "p90", "p99"))
    print(f"predict_one latency: {quantiles} ({p['calls']} calls)")
    _print_table(
        [("BATCH", "ROWS/S")]
        + [(s, f"{r:,.0f}") for s, r in results["throughput_rows_per_s"].items()]
    )


# ---------------------------------------------------------------------------------- others


def _export(args: argparse.Namespace) -> None:
    import pandas as pd

    import pmmlserve

    estimator = _unpickle(args.estimator)
    sample = pd.read_csv(args.sample, nrows=args.sample_rows)
    missing = [c for c in args.drop if c not in sample.columns]
    if missing:
        raise ValueError(f"--drop: no column {', '.join(map(repr, missing))} in {args.sample}")
    output = args.output or str(Path(args.estimator).with_suffix(".pmml"))
    document = pmmlserve.export(
        estimator,
        output,
        sample=sample.drop(columns=args.drop),
        model_name=args.name,
        backend=args.backend,
        **({"target_name": args.target} if args.target else {}),
    )
    print(f"wrote {output} ({len(document)} bytes)")


def _unpickle(path: str) -> Any:
    try:
        import joblib
    except ImportError:  # joblib comes with scikit-learn; plain pickle files still load
        import pickle

        with open(path, "rb") as f:
            return pickle.load(f)
    return joblib.load(path)


def _demo(args: argparse.Namespace) -> int:
    import importlib

    try:
        demo = importlib.import_module("pmmlserve._demo")
    except ModuleNotFoundError as exc:
        if exc.name != "pmmlserve._demo":
            raise
        missing = "the demo is not available in this installation (pmmlserve._demo is missing)"
        print(f"pmmlserve demo: error: {missing}", file=sys.stderr)
        return 2
    forwarded = args.args[1:] if args.args[:1] == ["--"] else args.args
    return demo.main(forwarded) or 0


def _print_table(rows: list[tuple[Any, ...]]) -> None:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
