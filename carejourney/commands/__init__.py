"""Command-line subcommands beyond run/check, one module each with add_parser(subparsers)."""

from __future__ import annotations

import argparse
import sys


def non_negative_int(text: str) -> int:
    """argparse type for --seed and similar: a whole number, 0 or more (numpy seeds cannot be negative).

    A bad value is reported by argparse as `argument --seed: ...` with exit code 2."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def say(msg: str):
    """Progress for the user, on stderr so tables on stdout stay clean."""
    print(msg, file=sys.stderr, flush=True)


def os_error_text(err: OSError) -> str:
    """'PATH: reason' for an OSError, instead of Python's '[Errno 17] File exists: 'PATH''."""
    if err.filename is None:
        return err.strerror or str(err)
    return f"{err.filename}: {(err.strerror or str(err)).lower()}"


def input_file(path, flag: str):
    """Refuse a folder given where a file is read (it would fail later with a traceback)."""
    from pathlib import Path

    from ..results import PathError

    if Path(path).is_dir():
        raise PathError(f"{path}: {flag} is a folder, not a file")


def read_figures_of(against, geography: str | None):
    """The figures file, refused for a bad row of `geography` (or of none named); a bad row of
    another council only gets a warning: it must not stop this council's comparison or fit."""
    from ..validate.figures import read_figures

    elsewhere: list[str] = []
    figures = read_figures(against, geography or None, elsewhere)
    if elsewhere:
        more = f"; and {len(elsewhere) - 1} more" if len(elsewhere) > 1 else ""
        say(f"warning: {against}: {len(elsewhere)} problem(s) in rows of other geographies, left out: "
            f"{elsewhere[0]}{more}")
    return figures


def bad_input_exits_2(body):
    """A command's `func`: bad input (config, figures, params, an impossible fit) prints
    its message and returns exit code 2 instead of a traceback."""

    def run(args) -> int:
        from ..calibrate.aggregate import FitError, ParamsError
        from ..config import ConfigError
        from ..validate.figures import FiguresError

        try:
            return body(args)
        except (ConfigError, FiguresError, ParamsError, FitError) as err:  # PathError, OSError: cli.main
            print(f"error: {err}", file=sys.stderr)
            return 2

    return run
