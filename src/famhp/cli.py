"""The ``famhp`` command. ``famhp calculate`` is a public interface: see contracts/calculate.md.

Kept free of Django at import time so that a calculation starts in milliseconds.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import IO, NoReturn

from famhp.rules.errors import InvalidInput, Problem

EXIT_INVALID = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"famhp: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="famhp", description="The FAMHP medical-device contribution scheme.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    calculate = commands.add_parser(
        "calculate",
        help="assess a contribution year from a JSON file (contracts/calculate.md)",
        description=(
            "Assess every operator of a contribution year: activity tax (entities × cost per entity) and "
            "turnover levy (levied turnover × rate), each amount explained by the rule behind it. Prints one "
            "JSON object on standard output; bad input prints one line per problem on standard error and "
            "exits 2."
        ),
    )
    calculate.add_argument("file", metavar="FILE", help="the input JSON file, or - for standard input")
    calculate.add_argument(
        "--format",
        choices=("json", "table"),
        default="json",
        help="json (default, the contract) or table (a readable summary for people)",
    )
    calculate.add_argument(
        "--explain", action="store_true", help="with --format table: print each operator's explanation lines"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "calculate":
            return calculate(args.file, args.format, explain=args.explain)
    except BrokenPipeError:
        # The reader went away (`famhp calculate year.json | head`): stop quietly, as other commands do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    raise AssertionError(args.command)  # pragma: no cover - argparse only allows known commands


def _fail(problems: Sequence[Problem | str]) -> int:
    for problem in problems:
        sys.stderr.write(f"famhp calculate: {problem}\n")
    return EXIT_INVALID


def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.buffer.read().decode("utf-8")
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _json_integer(text: str) -> int | Decimal:
    """A JSON integer: an int when it is small enough to be a year or a count, else an exact Decimal.

    Python refuses to turn more than 4,300 digits into an int (a ValueError out of json.loads, which would name
    no operator); as a Decimal the amount reaches the contract's bounds check, which names the operator and the
    field (contracts/calculate.md, bounds revision 2).
    """
    return int(text) if len(text) <= 18 else Decimal(text)


def calculate(path: str, output_format: str, *, explain: bool = False, out: IO[str] | None = None) -> int:
    # A calculation builds millions of small acyclic objects and then exits: the cyclic garbage collector
    # would only re-scan them again and again (a third of the run time at 100,000 operators, bench/).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _calculate(path, output_format, explain=explain, out=out)
    finally:
        if collecting:
            gc.enable()


def _calculate(path: str, output_format: str, *, explain: bool, out: IO[str] | None) -> int:
    from famhp.rules.assessment import YearAssessment
    from famhp.rules.jsonio import read_document, write_result

    try:
        text = _read_text(path)
    except OSError as error:
        return _fail([f"cannot read {path!r}: {error.strerror or error}"])
    except UnicodeDecodeError as error:
        return _fail([f"{path!r} is not UTF-8 text: {error.reason} at byte {error.start}"])
    try:
        document = json.loads(text, parse_float=Decimal, parse_int=_json_integer, parse_constant=Decimal)
    except json.JSONDecodeError as error:
        return _fail([f"{path!r} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"])
    except RecursionError:
        return _fail([f"{path!r} is nested too deeply to be a calculation input"])
    try:
        calculation = read_document(document)
        assessment = YearAssessment(parameters=calculation.parameters, operators=calculation.operators)
    except InvalidInput as invalid:
        return _fail(invalid.problems)
    stream = out if out is not None else sys.stdout
    if output_format == "table":
        from famhp.rules.table import render_table

        stream.write(render_table(assessment.result(), explain=explain))
    else:
        write_result(assessment, stream.write)
    stream.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
