"""The one error the report raises: a results folder it cannot read or trust."""

from __future__ import annotations


class ReportError(ValueError):
    """A required file in the results folder is missing or malformed.

    The message names the file and what is missing or wrong, e.g.
    ``summary.parquet: missing column(s) q95``.
    """
