"""The `carejourney` command's entry point: the command line's modules (numpy, pandas, SimPy)
take about a second to import, and a Ctrl-C in that second gave a traceback (QA19), so they
are imported here, inside the handling of an interrupt."""

from __future__ import annotations

import sys


def main(argv=None) -> int:
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return 130
    return run(argv)
