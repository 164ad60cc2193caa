"""How counts and chances are shown to people: one rule for the command line, the report and
its charts, so the same figure reads the same everywhere."""

from __future__ import annotations


def count_text(value: float) -> str:
    """A count as a whole number with thousands separators, except a median halfway between
    two replications' counts, shown as '442.5': rounded, Python's half-to-even made 442.5 read
    442 and 445.5 read 446, where the docs and `compare` say 442.5 (QA20). Never '-0'."""
    v = float(value)
    if (2 * v).is_integer() and not v.is_integer():
        return f"{v:,.1f}"
    return f"{round(v) + 0:,}"


def percent_text(p: float) -> str:
    """A probability to the whole per cent, but 0% and 100% only when it is exactly that:
    0.995 (one replication in 200 lost money) read '100%', a certainty (QA20)."""
    p = float(p)
    text = f"{p:.0%}"
    if text == "0%" and p > 0:
        return "<1%"
    if text == "100%" and p < 1:
        return ">99%"
    return text
