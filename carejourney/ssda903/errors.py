"""The error raised for malformed SSDA903 files: every problem found, each with file, row, field."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

MAX_SHOWN = 20  # problems listed in the message; the rest are counted


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input file. `row` is 1-based with the column header as row 1."""

    file: str
    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field {self.field}")
        # a value echoed with a NUL or other control character in it shows it escaped (\x00):
        # printed raw, '\x00N1' looked like the valid 'N1' (QA14)
        message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in self.message)
        return f"{', '.join(where)}: {message}"


class Ssda903Error(ValueError):
    """Malformed SSDA903 input. `problems` holds all of them; the message shows the first 20."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.row or 0, p.field or ""))
        shown = [f"  - {p}" for p in self.problems[:MAX_SHOWN]]
        more = len(self.problems) - MAX_SHOWN
        if more > 0:
            shown.append(f"  ... and {more} more; all {len(self.problems)} by file and field:")
            shown += _counts(self.problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the SSDA903 files:"
        super().__init__("\n".join([head, *shown]))


def _counts(problems: list[Problem], most: int = 30) -> list[str]:
    """How many problems each file and field has, so none is hidden behind the first ones."""
    counts = Counter((p.file, p.field) for p in problems)
    lines = [f"      {file}{', field ' + field if field else ''}: {n}" for (file, field), n in sorted(counts.items(),
             key=lambda item: (item[0][0], item[0][1] or ""))]
    if len(lines) > most:
        lines = lines[:most] + [f"      ... and {len(lines) - most} more file and field pairs"]
    return lines
