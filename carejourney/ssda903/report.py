"""The cleaning report: one row per input row that cleaning removed, changed or flagged, and
one per code, file or column that reading changed or flagged (reading's rules, below)."""

from __future__ import annotations

import pandas as pd

# `field`: the column a rule acted on, where it acted on one; `row` and `child_id` are blank
# for a rule about a whole file or column
REPORT_COLUMNS = ["file", "row", "field", "child_id", "action", "rule", "why"]
ACTIONS = ("removed", "changed", "flagged")

# rules whose rows are listed one by one in summaries (file, row, why): likely data errors to fix at source
LISTED_RULES = ("aged_18_or_over", "ended_at_18", "missing_from_next_return", "absent_from_previous_return",
                "header_without_episode_that_year", "changed_in_later_return", "uasc_ceased_before_care",
                "uasc_ceased_after_return")
# rules about a whole file (row blank): listed in summaries one line per report row (file: why)
FILE_RULES = ("read_as_cp1252", "spaces_removed")
# rules with one row per cell changed: counted per field in summaries (there can be thousands)
COUNTED_BY_FIELD = ("code_upper_cased",)
LISTED_MAX = 10
# what a rule's report rows count, in summaries, where not input rows
RULE_UNITS = {"read_as_cp1252": "file", "spaces_removed": "column", "code_upper_cased": "code"}
# rule -> what it means, for summaries
RULE_LABELS = {
    "read_as_cp1252": "not UTF-8: read as cp1252, as Excel on Windows writes (check any accented letters)",
    "spaces_removed": "spaces around cells' values removed",
    "code_upper_cased": "code in lower case, read in upper case (e.g. c2 as C2)",
    "duplicate_header_row": "header row repeated exactly in the same file",
    "header_superseded": "header row differs from the child's latest return (latest kept)",
    "exact_duplicate": "episode repeated exactly in the same return",
    "same_start_in_return": "two episodes of a child start the same day in one return (later row kept)",
    "repeated_in_later_return": "episode repeated in a later year's return (latest version kept)",
    "changed_in_later_return": "episode a later year's return gives differently (a correction? latest kept)",
    "short_breaks_only": "episode of a child only ever on short breaks (V3/V4): not looked after",
    "short_breaks_only_header": "header row of a child only ever on short breaks (V3/V4)",
    "short_break_episode": "short-break episode (V3/V4) of a looked-after child",
    "superseded_by_later_return": "episode starting inside a later return's episode: superseded by it (a corrected date)",
    "overlap_trimmed": "episode overlapped the next one: ended where the next starts",
    "missing_from_next_return": "open at 31 March but the child is absent from the next return: ended 1 April, E8",
    "absent_from_previous_return": "in care before its first return's year but not in the return before (CHILD changed?)",
    "header_without_episode_that_year": "in a return's header with no episode in that return (a file cut short?)",
    "continues_after_exit": "episode starting the day an exit ended the one before, with an RNE saying care continued",
    "absent_from_middle_return": "open at the end of a return, absent from the next, back in a later one",
    "period_closed_after_x1": "period ends at an X1 episode with no episode following (exit: transferred_or_other)",
    "aged_18_or_over": "episode starting on or after the child's 18th birthday: unusable (wrong DOB or DECOM?)",
    "ended_at_18": "episode running past the 18th birthday: ended on it (wrong DOB or DEC?)",
    "child_without_episodes": "header row of a child with no episode",
    "uasc_very_young": "UASC row of a child under 10 when first looked after (a file of other children?)",
    "uasc_child_without_episodes": "UASC row of a child with no looked-after episode",
    "uasc_ceased_before_care": "UASC row whose DUC is before the child was first looked after (a mistyped date?)",
    "uasc_ceased_after_return": "UASC row whose DUC is after the end of its return's year (a mistyped date?)",
}


class ReportBuilder:
    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def add(self, rows: pd.DataFrame, action: str, rule: str, why: str | pd.Series,
            field: str | pd.Series | None = None) -> None:
        """Record `rows` (with source_file, source_row, child_id; the last two blank for a
        whole file) under one action and rule, with the `field` acted on if one."""
        assert action in ACTIONS and rule in RULE_LABELS
        if rows.empty:
            return
        part = pd.DataFrame(
            {
                "file": rows["source_file"].astype(object).to_numpy(),
                "row": rows["source_row"].astype("Int64").array,
                "field": field.astype(object).to_numpy() if isinstance(field, pd.Series) else field,
                "child_id": rows["child_id"].astype(object).to_numpy(),
                "action": action,
                "rule": rule,
                "why": why.astype(object).to_numpy() if isinstance(why, pd.Series) else why,
            }
        )
        self._parts.append(part)

    def count(self, rule: str) -> int:
        """Rows recorded so far under `rule`."""
        return sum(int((part["rule"] == rule).sum()) for part in self._parts)

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame(
                {c: pd.Series(dtype="Int64" if c == "row" else object) for c in REPORT_COLUMNS}
            )
        out = pd.concat(self._parts, ignore_index=True)
        # a file's own rows (row blank) first: how it was read bears on every row after
        return out.sort_values(["file", "row", "rule"], kind="stable", na_position="first").reset_index(drop=True)


# The cleaning report as `calibrate` writes it beside its config (CONFIG stem + .cleaning.csv):
# every row removed, changed or flagged, for the data owner to check at source. `child` is the
# read-time pseudonym (never CHILD); `reason` can hold that row's dates. The header line is
# also how calibrate recognises a file it wrote (results.check_own_out_file).
CLEANING_CSV_COLUMNS = {"file": "file", "row": "row", "child_id": "child", "action": "action", "rule": "rule",
                        "why": "reason"}
CLEANING_CSV_HEADER = ",".join(CLEANING_CSV_COLUMNS.values())


def cleaning_csv(report: pd.DataFrame) -> str:
    """The cleaning report (ReportBuilder.frame()) as CSV text: file, row, child, action, rule, reason."""
    out = report[list(CLEANING_CSV_COLUMNS)].rename(columns=CLEANING_CSV_COLUMNS)
    return out.to_csv(index=False, lineterminator="\n")


def summarise(report: pd.DataFrame) -> list[str]:
    """Lines like '  - 3 rows removed: episode repeated exactly in the same return'."""
    if report.empty:
        return ["  nothing removed, changed or flagged"]
    lines = []
    counts = report.groupby(["action", "rule"], sort=False).size()
    for action in ACTIONS:
        for (act, rule), n in counts.items():
            if act == action:
                unit = RULE_UNITS.get(rule, "row")
                lines.append(f"  - {n} {unit}{'s' if n != 1 else ''} {action}: {RULE_LABELS[rule]}")
                lines += _details(report[report["rule"] == rule], rule)
    return lines


def _details(rows: pd.DataFrame, rule: str) -> list[str]:
    """The lines under a rule's count: its rows, up to LISTED_MAX, or its count per field."""
    if rule in COUNTED_BY_FIELD:
        return [f"      {field}: {n}" for field, n in rows.groupby("field").size().items()]
    shown = rows.head(LISTED_MAX)
    if rule in LISTED_RULES:
        lines = [f"      {f} row {r}: {w}" for f, r, w in shown[["file", "row", "why"]].itertuples(index=False)]
    elif rule in FILE_RULES:
        lines = [f"      {f}: {w}" for f, w in shown[["file", "why"]].itertuples(index=False)]
    else:
        return []
    return lines + ([f"      ... and {len(rows) - LISTED_MAX} more"] if len(rows) > LISTED_MAX else [])
