"""The `sdfirst` command line. Mistakes get one line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sdfirst import __version__, stopping
from sdfirst.exceptions import DataFirstError
from sdfirst.newproject import ENVIRONMENTS, LICENCES

DEFAULT_PEOPLE = 100_000
DEFAULT_SEED = 42


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line like every other error of this tool."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise DataFirstError(message)


def _count(text: str) -> int:
    """A whole number, allowing 1_000_000 and 1,000,000 and 1e6 (common ways to write big sizes)."""
    cleaned = text.replace("_", "").replace(",", "")
    try:
        value = float(cleaned) if "e" in cleaned.lower() else int(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value != int(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return int(value)


_ENVIRONMENTS = dict(zip(("srs", "sail"), ENVIRONMENTS, strict=True))  # short names for --environment


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sdfirst",
        description="Synthetic Data First: generate and explore synthetic "
        "copies of the MoJ Data First linked datasets. Everything it makes is synthetic.",
    )
    parser.add_argument("--version", action="version", version=f"sdfirst {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    synth = sub.add_parser("synth", help="generate a synthetic population and its records, or report on one")
    synth.add_argument("--people", type=_count, default=DEFAULT_PEOPLE, help=f"people to simulate ({DEFAULT_PEOPLE:,})")
    synth.add_argument("--seed", type=_count, default=DEFAULT_SEED, help=f"random seed ({DEFAULT_SEED})")
    synth.add_argument("--out", help="output folder (must not exist, or be empty, unless --overwrite)")
    synth.add_argument("--years", default="2000-2023", help="years to record, like 2011-2020 (2000-2023)")
    synth.add_argument("--datasets", default="all", help="comma-separated datasets (all); the truth is always written")
    synth.add_argument("--workers", type=_count, default=1, help="processes to use (1); output does not depend on it")
    synth.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    synth.add_argument(
        "--config", metavar="FILE", help="YAML of partial spec files keyed by file name, merged over the specs"
    )
    synth.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    synth.add_argument("--report", metavar="DIR", help="print published figures against this generated folder's")
    link = sub.add_parser("link", help="link the person records of a generated folder with Splink, and score it")
    link.add_argument("folder", metavar="DIR", help="a generated folder; output goes to DIR/linking/")
    link.add_argument("--threshold", type=float, help="match probability for the chosen clusters (0-1)")
    link.add_argument("--overwrite", action="store_true", help="replace an existing DIR/linking/")
    link.add_argument("--quiet", action="store_true", help="no progress or evaluation printed")
    link.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb", help="where to link (duckdb)")
    link.add_argument("--master", metavar="URL", help="Spark master URL (local mode, local[N] from --threads)")
    link.add_argument("--threads", type=_count, help="DuckDB threads, or the cores of Spark's local mode (all)")
    link.add_argument(
        "--evaluate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="score the output against DIR/truth/ (by default when it exists)",
    )
    evaluate = sub.add_parser("evaluate", help="score a linked folder's DIR/linking/ against its truth, with DuckDB")
    evaluate.add_argument("folder", metavar="DIR", help="a generated folder linked by `sdfirst link`")
    evaluate.add_argument("--quiet", action="store_true", help="write evaluation.json, print nothing")
    check = sub.add_parser("check-schema", help="check an extract folder's tables, columns and types against the specs")
    check.add_argument("folder", metavar="DIR", help="a folder laid out as DIR/<dataset>/<table>/*.parquet")
    check.add_argument("--datasets", default="all", help="comma-separated datasets expected in DIR (all but the truth)")
    new = sub.add_parser("new-project", help="scaffold a research project from the bundled template (offline)")
    new.add_argument("--title", help="project title")
    new.add_argument("--slug", help="folder and Python package name (derived from the title)")
    new.add_argument("--lead", help="lead researcher")
    new.add_argument("--organisation", help="organisation")
    new.add_argument("--environment", choices=_ENVIRONMENTS, help="secure environment: srs (ONS SRS) or sail")
    new.add_argument("--datasets", help="comma-separated Data First datasets the project will use")
    new.add_argument("--licence", choices=LICENCES, help="licence of the project's code")
    new.add_argument("--output-dir", default=".", help="where to create the project folder (.)")
    new.add_argument("--no-input", action="store_true", help="ask nothing: defaults for every answer not given")
    return parser


def _not_empty(option: str, value: str | None, what: str = "a folder name") -> str | None:
    """An option's value, refused when given but blank (`--out ""` would otherwise mean the current folder)."""
    if value is not None and not value.strip():
        raise DataFirstError(f"{option} needs {what}, not an empty string")
    return value


def _synth(args: argparse.Namespace) -> int:
    config = _not_empty("--config", args.config, "a file name")
    if _not_empty("--report", args.report) is not None:
        if config is not None:
            raise DataFirstError("--config is for generating; --report reads the overrides from the folder's manifest")
        from sdfirst.calibration import report

        print(report(args.report))
        return 0
    if _not_empty("--out", args.out) is None:
        raise DataFirstError("synth needs --out DIR (or --report DIR)")
    from sdfirst.synth import generate

    manifest = generate(
        args.out,
        people=args.people,
        seed=args.seed,
        years=args.years,
        datasets=args.datasets,
        workers=args.workers,
        overwrite=args.overwrite,
        progress=not args.quiet and args.people >= 200_000,
        config=config,
    )
    if not args.quiet:
        total = sum(t["rows"] for k, t in manifest["tables"].items() if not k.startswith("truth."))
        print(f"wrote {total:,} synthetic records for {args.people:,} people to {args.out} (seed {args.seed})")
    return 0


def _link(args: argparse.Namespace) -> int:
    from sdfirst.linkage import link
    from sdfirst.linkage.config import check_threshold

    _not_empty("DIR", args.folder)
    if args.threshold is not None:
        check_threshold(args.threshold)  # before any work
    if args.threads is not None and args.threads < 1:
        raise DataFirstError(f"--threads must be at least 1, not {args.threads}")
    say = None if args.quiet else (lambda msg: print(msg, flush=True))
    evaluation = link(
        args.folder,
        threshold=args.threshold,
        overwrite=args.overwrite,
        progress=say,
        notice=_notice,
        threads=args.threads,
        engine=args.engine,
        master=_not_empty("--master", args.master, "a Spark master URL"),
        evaluate=args.evaluate,
    )
    if not args.quiet:
        from sdfirst.linkage.evaluate import summary

        print(summary(evaluation))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from sdfirst.linkage.evaluate import evaluate_folder, summary

    evaluation = evaluate_folder(_not_empty("DIR", args.folder))
    if not args.quiet:
        print(summary(evaluation))
    return 0


def _notice(message: str) -> None:
    """One line on stderr about something a command left out, and why (it still succeeds)."""
    print(f"sdfirst: note: {message}", file=sys.stderr, flush=True)


def _check_schema(args: argparse.Namespace) -> int:
    from sdfirst.schema_check import report

    text, ok = report(args.folder, args.datasets)
    print(text, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


def _new_project(args: argparse.Namespace) -> int:
    from sdfirst.newproject import new_project

    given = {
        "project_title": args.title,
        "project_slug": args.slug,
        "lead_researcher": args.lead,
        "organisation": args.organisation,
        "secure_environment": _ENVIRONMENTS.get(args.environment or ""),
        "datasets": args.datasets,
        "licence": args.licence,
    }
    answers = {key: value for key, value in given.items() if value is not None}
    no_input = args.no_input or not sys.stdin.isatty()
    folder = new_project(args.output_dir, answers, no_input=no_input)
    print(f"created {folder}; next: cd {folder} and follow its README (a new environment, make install, make hooks)")
    return 0


def _handle_signals(handlers: dict[int, Any]) -> dict[int, Any]:
    """Install signal handlers and return the previous ones (none off the main thread, where none can be set)."""
    try:
        return {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    except ValueError:
        return {}


def main(argv: Sequence[str] | None = None) -> int:
    stopping.received.clear()
    previous = _handle_signals(dict.fromkeys(stopping.SIGNALS, stopping.on_signal))
    try:
        return _main(argv)
    finally:
        _handle_signals({signum: handler for signum, handler in previous.items() if handler is not None})
        stopping.received.clear()  # a library call after this command (a test, a notebook) is not stopped by it


def _interrupted_query(exc: BaseException | None) -> bool:
    """Whether DuckDB stopped a query because of a signal: it raises its own error (which Splink may wrap in
    another), not the signal's exception."""
    seen = 0
    while exc is not None and stopping.received and seen < 20:
        if isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower():
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _damaged_file(exc: BaseException, folder: str | None) -> Path | None:
    """The damaged file behind a DuckDB or Arrow error, found by reading the whole folder (None if all read).

    Footers are checked before any work, but damage inside a file shows only when its rows are decoded, in any of
    DuckDB's error classes and without the file's name. Only a file proven damaged turns the error into one line;
    anything else is a bug and keeps its traceback.
    """
    duckdb, pyarrow = sys.modules.get("duckdb"), sys.modules.get("pyarrow")
    kinds = tuple(k for k in (getattr(duckdb, "Error", None), getattr(pyarrow, "ArrowException", None)) if k)
    if folder is None or not isinstance(exc, kinds):
        return None
    from sdfirst.database import find_damaged

    return find_damaged(folder)


def _main(argv: Sequence[str] | None) -> int:
    args = None
    try:
        args = _parser().parse_args(argv)
        if args.command != "new-project":
            from sdfirst.specs import check_specs

            check_specs()  # a mistake in an edited copy of the specs stops the command before its work
        if args.command == "synth":
            return _synth(args)
        if args.command == "link":
            return _link(args)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "check-schema":
            return _check_schema(args)
        if args.command == "new-project":
            return _new_project(args)
    except DataFirstError as exc:
        print(f"sdfirst: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the machine, not the input: a full disk, a vanished folder, a permission
        where = f": {exc.filename}" if exc.filename else ""
        print(f"sdfirst: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        return _stopped(signal.SIGTERM if isinstance(exc, stopping.Terminated) else signal.SIGINT)
    except Exception as exc:
        if _interrupted_query(exc):
            return _stopped(stopping.received[-1])
        damaged = _damaged_file(exc, getattr(args, "folder", None) or getattr(args, "report", None))
        if damaged is None:
            raise  # a bug: its traceback is wanted
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"sdfirst: error: {damaged} is damaged (its rows cannot be read): {reason}", file=sys.stderr)
        return 2
    return 0


def _stopped(signum: int) -> int:
    """The one line and exit status of a run stopped by Ctrl-C (SIGINT) or SIGTERM, after its clean-up."""
    word = "terminated" if signum == signal.SIGTERM else "interrupted"
    print(f"sdfirst: {word}; nothing was written", file=sys.stderr)
    return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
