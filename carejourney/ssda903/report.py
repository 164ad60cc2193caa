"""The cleaning report: one row per input row that cleaning removed, changed or flagged."""

from __future__ import annotations

import pandas as pd

REPORT_COLUMNS = ["file", "row", "child_id", "action", "rule", "why"]
ACTIONS = ("removed", "changed", "flagged")

# rules whose rows are listed one by one in summaries (file, row, why): likely data errors to fix at source
LISTED_RULES = ("aged_18_or_over", "ended_at_18", "missing_from_next_return")
LISTED_MAX = 10
# rule -> what it means, for summaries
RULE_LABELS = {
    "duplicate_header_row": "header row repeated exactly in the same file",
    "header_superseded": "header row differs from the child's latest return (latest kept)",
    "exact_duplicate": "episode repeated exactly in the same return",
    "same_start_in_return": "two episodes of a child start the same day in one return (later row kept)",
    "repeated_in_later_return": "episode repeated in a later year's return (latest version kept)",
    "short_breaks_only": "child only ever on short breaks (V3/V4): not looked after",
    "short_break_episode": "short-break episode (V3/V4) of a looked-after child",
    "superseded_by_later_return": "episode starting inside a later return's episode: superseded by it (a corrected date)",
    "overlap_trimmed": "episode overlapped the next one: ended where the next starts",
    "missing_from_next_return": "open at 31 March but the child is absent from the next return: ended 1 April, E8",
    "period_closed_after_x1": "period ends at an X1 episode with no episode following (exit: transferred_or_other)",
    "aged_18_or_over": "episode starting on or after the child's 18th birthday: unusable (wrong DOB or DECOM?)",
    "ended_at_18": "episode running past the 18th birthday: ended on it (wrong DOB or DEC?)",
    "child_without_episodes": "header row of a child with no episode",
    "uasc_child_without_episodes": "UASC row of a child with no looked-after episode",
}


class ReportBuilder:
    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []

    def add(self, rows: pd.DataFrame, action: str, rule: str, why: str | pd.Series) -> None:
        """Record `rows` (with source_file, source_row, child_id) under one action and rule."""
        assert action in ACTIONS and rule in RULE_LABELS
        if rows.empty:
            return
        part = pd.DataFrame(
            {
                "file": rows["source_file"].astype(object).to_numpy(),
                "row": rows["source_row"].astype("int64").to_numpy(),
                "child_id": rows["child_id"].astype(object).to_numpy(),
                "action": action,
                "rule": rule,
                "why": why.astype(object).to_numpy() if isinstance(why, pd.Series) else why,
            }
        )
        self._parts.append(part)

    def frame(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame(
                {c: pd.Series(dtype="int64" if c == "row" else object) for c in REPORT_COLUMNS}
            )
        out = pd.concat(self._parts, ignore_index=True)
        return out.sort_values(["file", "row", "rule"], kind="stable").reset_index(drop=True)


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
                lines.append(f"  - {n} row{'s' if n != 1 else ''} {action}: {RULE_LABELS[rule]}")
                if rule in LISTED_RULES:
                    rows = report.loc[report["rule"] == rule, ["file", "row", "why"]].head(LISTED_MAX)
                    lines += [f"      {f} row {r}: {w}" for f, r, w in rows.itertuples(index=False)]
                    lines += [f"      ... and {n - LISTED_MAX} more"] if n > LISTED_MAX else []
    return lines
