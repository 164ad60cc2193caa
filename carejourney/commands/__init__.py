"""Command-line subcommands beyond run/check, one module each with add_parser(subparsers)."""

from __future__ import annotations

import sys


def say(msg: str):
    """Progress for the user, on stderr so tables on stdout stay clean."""
    print(msg, file=sys.stderr, flush=True)


def bad_input_exits_2(body):
    """A command's `func`: bad input (config, figures, params, an impossible fit) prints
    its message and returns exit code 2 instead of a traceback."""

    def run(args) -> int:
        from ..calibrate.aggregate import FitError, ParamsError
        from ..config import ConfigError
        from ..validate.figures import FiguresError

        try:
            return body(args)
        except (ConfigError, FiguresError, ParamsError, FitError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2

    return run
