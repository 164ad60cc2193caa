"""read_ssda903: a folder of SSDA903 CSV returns -> validated, pseudonymised tables.

Every problem in every file is collected and raised together as one Ssda903Error. What comes
back holds no CHILD, UPN, postcode or URN: CHILD is replaced by a salted pseudonym before
the tables are returned, and identifying columns are never kept.

Reading the same files gives the same tables, row for row, in any process: files are taken in
sorted order and, unless a salt is given, the salt is derived from the files' bytes
(`privacy.salt_from_contents`), so the pseudonyms, and every order by child_id, repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..calendar import fy_label
from . import codes, privacy
from .csvfile import FALLBACK_ENCODING, ReadNotes, read_csv_noting
from .discover import (
    SourceFile,
    find_files,
    missing_file_hint,
    not_csv_files,
    not_read_hint,
)
from .errors import Problem, Ssda903Error
from .ids import ids_carried_over, zeros_differ
from .validate import (
    CHECKS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    check_columns,
    inferred_year,
    upper_case_codes,
    years_spanned,
)

SOURCE_COLUMNS = ["year", "source_file", "source_row"]


@dataclass
class Ssda903Data:
    """Validated SSDA903 returns, one row per input row, identifiers removed.

    header:   child_id, SEX, DOB, ETHNIC (if given), year, source_file, source_row
    episodes: child_id, DECOM, RNE, LS, CIN, PLACE, PLACE_PROVIDER, DEC, REC,
              REASON_PLACE_CHANGE (if given), year, source_file, source_row
    uasc:     child_id, DUC, SEX and DOB (if given), year, source_file, source_row
    Codes are strings (NaN when blank); dates are datetime64 (NaT when blank); `child_id` is
    the pseudonym; `year` is the collection year (2016 = 2015-16); `source_row` counts the
    column header as row 1. `warnings`: what was read but is not an error, e.g. a year whose
    episodes file has only its column header (that year has no episodes).
    What reading changed, for the cleaning report: `read_as_cp1252`, files that are not UTF-8;
    `spaces_removed`, (file, column, cells) for cells of a kept column that had spaces around
    them; `upper_cased`, codes read in upper case (child_id, field, value as written,
    source_file, source_row).
    """

    header: pd.DataFrame
    episodes: pd.DataFrame
    uasc: pd.DataFrame
    warnings: tuple[str, ...] = ()  # e.g. an episodes file with no rows
    read_as_cp1252: tuple[str, ...] = ()
    spaces_removed: tuple[tuple[str, str, int], ...] = ()
    upper_cased: pd.DataFrame | None = None  # None: not recorded

    @property
    def years(self) -> list[int]:
        return sorted(int(y) for y in self.episodes["year"].unique())


@dataclass
class _Loaded:
    source: SourceFile
    table: pd.DataFrame
    notes: ReadNotes
    year: int | None = None


def read_ssda903(path: str | Path, *, salt: str | None = None) -> Ssda903Data:
    """Read every header / episodes / uasc CSV under `path` (one folder per year, or together).

    `salt` fixes the pseudonyms (same salt and CHILD -> same child_id). By default the salt is
    derived from the bytes of the files read, so the same returns always give the same
    pseudonyms (and identical cleaned tables and calibrated configs), yet nobody without the
    returns can compute it; pass a secret salt of your own (or `privacy.new_salt()` for
    pseudonyms that differ on every call) if pseudonyms must not be recomputable from the returns.
    Raises Ssda903Error listing every problem found (file, row, field).
    """
    root = Path(path)
    sources, problems = find_files(root)
    loaded: list[_Loaded] = []
    contents: list[bytes] = []
    empty_uasc: list[str] = []
    for source in sources:
        try:
            raw = source.path.read_bytes()
        except OSError as err:  # some errors (EIO) carry no file name: name it here
            problems.append(Problem(source.label, None, None, f"cannot be read ({err.strerror or err})"))
            continue
        contents.append(raw)
        if source.kind == "uasc" and not raw.strip():
            # systems export a year with no UASC children so: read as its column header alone,
            # as such a file is (QA14: it stopped the run)
            empty_uasc.append(f"{source.label}: empty: read as a return with no UASC children")
            raw = (",".join(REQUIRED_COLUMNS["uasc"]) + "\n").encode()
        table, file_problems, notes = read_csv_noting(source.path, source.label, raw,
                                                      expected=REQUIRED_COLUMNS[source.kind])
        problems += file_problems
        if table is not None:
            col_problems = check_columns(table, source.kind, source.label)
            problems += col_problems
            if not col_problems:
                loaded.append(_Loaded(source, table, notes))
    problems += _assign_years(loaded)
    problems += _check_one_file_per_kind(loaded, sources, root)

    checked: dict[str, list[pd.DataFrame]] = {"header": [], "episodes": [], "uasc": []}
    upper_cased: list[pd.DataFrame] = []
    for item in loaded:
        if item.year is None:
            continue
        if item.year < codes.FIRST_YEAR:
            problems.append(
                Problem(
                    item.source.label,
                    None,
                    None,
                    f"collection year {item.year} is before 2014-15 (not supported)",
                )
            )
            continue
        item.table, changed = upper_case_codes(item.table, item.year)
        upper_cased += [codes_changed.assign(source_file=item.source.label) for codes_changed in changed]
        dates, file_problems = CHECKS[item.source.kind](item.table, item.source.label, item.year)
        problems += file_problems
        checked[item.source.kind].append(_typed(item, dates))
    tables = {kind: _concat(frames, kind) for kind, frames in checked.items()}
    episode_files = [item.source.label for item in loaded if item.source.kind == "episodes" and item.year is not None]
    if episode_files and tables["episodes"].empty and not problems:
        # every episodes file has only its column header: nothing to read a journey from
        raise Ssda903Error([Problem(label, None, None, "no episodes (only the column header), and no other "
                                    "return has any: nothing to read") for label in episode_files])
    header_years = {item.year for item in loaded if item.source.kind == "header"}
    problems += _check_children_known(tables, header_years)
    problems += _check_starts_after_birth(tables)
    problems += _check_uasc_against_header(tables)
    problems += ids_carried_over(tables, other_problems=bool(problems))
    if problems:
        raise Ssda903Error(problems)
    salt = salt if salt is not None else privacy.salt_from_contents(contents)
    data = _pseudonymised(tables, salt)
    data.read_as_cp1252 = tuple(item.source.label for item in loaded if item.notes.encoding == FALLBACK_ENCODING)
    data.spaces_removed = _spaces_removed(loaded)
    data.upper_cased = _with_child_id(_concat_upper_cased(upper_cased), salt)
    data.warnings = tuple(
        f"{item.source.label}: no episodes (only the column header){_header_lists(loaded, item.year)}: collection "
        f"year {item.year} is left out"
        for item in loaded
        if item.source.kind == "episodes" and item.year is not None and item.table.empty
    ) + tuple(empty_uasc) + _missing_uasc_files(loaded)
    return data


def _header_lists(loaded: list[_Loaded], year: int) -> str:
    """', though HEADER lists N children (cut short?)' for a year's header file with rows: an
    episodes file cut to its column row (QA18: only a later 'no return for the year' named it)."""
    for item in loaded:
        if item.source.kind == "header" and item.year == year and len(item.table):
            return f", though {item.source.label} lists {len(item.table)} children (was it cut short?)"
    return ""


def _spaces_removed(loaded: list[_Loaded]) -> tuple[tuple[str, str, int], ...]:
    """(file, column, cells stripped) for the columns kept: the others are never used."""
    return tuple(
        (item.source.label, column, item.notes.spaces_removed[column])
        for item in loaded
        for column in REQUIRED_COLUMNS[item.source.kind] + OPTIONAL_COLUMNS[item.source.kind]
        if item.notes.spaces_removed[column]
    )


def _concat_upper_cased(frames: list[pd.DataFrame]) -> pd.DataFrame:
    if frames:
        return pd.concat(frames, ignore_index=True)
    return pd.DataFrame({"source_row": pd.Series(dtype="int64"),
                         **{c: pd.Series(dtype=object) for c in ("CHILD", "field", "value", "source_file")}})


def _missing_uasc_files(loaded: list[_Loaded]) -> tuple[str, ...]:
    """A year with episodes but no UASC file is read (no child of it counts as UASC), with a
    warning named like the missing header / episodes file errors of _check_one_file_per_kind."""
    by_year: dict[int, dict[str, _Loaded]] = {}
    for item in loaded:
        if item.year is not None:
            by_year.setdefault(item.year, {})[item.source.kind] = item
    return tuple(
        f"{kinds['episodes'].source.label}: no UASC file for collection year {year} "
        "(no child of that year's return is counted as UASC)"
        for year, kinds in sorted(by_year.items())
        if "uasc" not in kinds and "episodes" in kinds and not kinds["episodes"].table.empty
    )


def _assign_years(loaded: list[_Loaded]) -> list[Problem]:
    """Named years first; an episodes file without one takes the year of its latest date, and a
    header / uasc file without one takes the year of the only episodes file in its folder."""
    problems: list[Problem] = []
    for item in loaded:
        if item.source.named_year is not None:
            item.year = item.source.named_year
        elif item.source.kind == "episodes":
            year = inferred_year(item.table)
            spanned = years_spanned(item.table)
            if year is None:
                problems.append(
                    Problem(item.source.label, None, None, "no year in the name and no dates to infer it")
                )
            elif len(spanned) > 1:
                # every row outside the guessed year would be an error of its own (thousands)
                problems.append(Problem(item.source.label, None, None, (
                    f"no year in the name, and its episodes end in collection years {fy_label(spanned[0] - 1)} "
                    f"to {fy_label(spanned[-1] - 1)}: a return holds one year; give each year its own file (or "
                    "folder) with the year in its name")))
            else:
                item.year = year
    for item in loaded:
        if item.year is not None:
            continue
        folder = item.source.path.parent
        siblings = [o for o in loaded if o.source.kind == "episodes" and o.source.path.parent == folder]
        if len(siblings) == 1 and siblings[0].year is not None:
            item.year = siblings[0].year
        elif item.source.kind != "episodes":
            problems.append(
                Problem(
                    item.source.label,
                    None,
                    None,
                    "cannot tell which collection year this file is for: put the year in the file or folder name",
                )
            )
    return problems


def _check_one_file_per_kind(loaded: list[_Loaded], sources: list[SourceFile], root: Path) -> list[Problem]:
    problems: list[Problem] = []
    loaded_paths = {item.source.path for item in loaded}
    failed_kinds = {s.kind for s in sources if s.path not in loaded_paths}
    by_year: dict[int, dict[str, list[str]]] = {}
    path_of = {item.source.label: item.source.path for item in loaded}
    for item in loaded:
        if item.year is not None:
            by_year.setdefault(item.year, {}).setdefault(item.source.kind, []).append(item.source.label)
    for year, kinds in sorted(by_year.items()):
        for kind, labels in kinds.items():
            if len(labels) > 1:
                problems += [
                    Problem(lab, None, None, f"more than one {kind} file for {year}: {labels}")
                    for lab in labels
                ]
        for kind in ("header", "episodes"):
            # a file that failed to load is reported already; flag only a file never given
            if kind not in kinds and kind not in failed_kinds:
                other = next(iter(kinds.values()))[0]
                problems.append(Problem(other, None, None, f"no {kind} file for collection year {year}"
                                        + (not_read_hint(not_csv_files(root, (kind,), year))
                                           or missing_file_hint(root, path_of[other], kind))))
    return problems


def _typed(item: _Loaded, dates: dict[str, pd.Series]) -> pd.DataFrame:
    kind = item.source.kind
    keep = [c for c in REQUIRED_COLUMNS[kind] + OPTIONAL_COLUMNS[kind] if c in item.table]
    out = item.table[keep].copy()
    for field, parsed in dates.items():
        out[field] = parsed
    for field in keep:
        if field not in dates:
            out[field] = out[field].astype(object).where(out[field].ne(""))
    if "SEX" in out:  # M/F and 1/2 are both valid: one spelling, so a change of spelling is no change
        out["SEX"] = out["SEX"].map(codes.SEX_CANONICAL).where(out["SEX"].notna())
    out["year"] = item.year
    out["source_file"] = item.source.label
    out["source_row"] = item.table["source_row"]
    return out


def _concat(frames: list[pd.DataFrame], kind: str) -> pd.DataFrame:
    if frames:
        return pd.concat(frames, ignore_index=True)
    empty = {c: pd.Series(dtype=object) for c in REQUIRED_COLUMNS[kind]}
    return pd.DataFrame(empty | {c: pd.Series(dtype="int64") for c in ("year", "source_row")}).assign(
        source_file=pd.Series(dtype=object)
    )


def _check_children_known(tables: dict[str, pd.DataFrame], header_years: set[int | None]) -> list[Problem]:
    """Every CHILD of an episodes / uasc file has a header row in the same year's return.
    (Years whose header file could not be read are skipped: that file's problem is reported.)"""
    known = set(zip(tables["header"]["CHILD"], tables["header"]["year"]))
    with_rows = set(tables["header"]["year"])
    problems: list[Problem] = []
    for kind in ("episodes", "uasc"):
        t = tables[kind]
        if t.empty:
            continue
        # a header file with no rows at all: one problem, not one per episode
        for (label, year), rows in t[~t["year"].isin(with_rows) & t["year"].isin(header_years)].groupby(
                ["source_file", "year"]):
            problems.append(Problem(label, None, None, f"{len(rows)} rows, but the {year} header file has no rows"))
        missing = pd.Series([(c, y) not in known and y in header_years and y in with_rows
                             for c, y in zip(t["CHILD"], t["year"])], index=t.index)
        for (label, year), rows in t[missing].groupby(["source_file", "year"], sort=False):
            header = tables["header"][tables["header"]["year"] == year]
            zeros = zeros_differ(set(rows["CHILD"].astype(str)), len(rows), set(header["CHILD"].astype(str)), label,
                                 header["source_file"].iloc[0])
            if zeros:  # one diagnosis, not one unexplained error a row (QA21)
                problems.append(zeros)
                continue
            problems += [Problem(label, int(row), "CHILD", "CHILD is not in the header file for that year")
                         for row in rows["source_row"]]
    return problems


def in_file_order(df: pd.DataFrame) -> pd.DataFrame:
    """Rows by return year, then file and row: the last of a child's rows is the latest return's,
    the one cleaning keeps."""
    return df.sort_values(["year", "source_file", "source_row"], kind="stable")


def _header_fields(header: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    """CHILD, year and `fields`: one row per child and year of the header files."""
    return header.drop_duplicates(["CHILD", "year"], keep="last")[["CHILD", "year", *fields]]


def _check_starts_after_birth(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    header, episodes = tables["header"], tables["episodes"]
    if episodes.empty or header.empty:
        return []
    dob = _header_fields(header, ["DOB", "source_file", "source_row"])
    joined = episodes.merge(dob, on=["CHILD", "year"], how="inner", suffixes=("", "_dob"))
    early = joined["DECOM"] < joined["DOB"]
    # the DOB may be what is wrong: name where it is (QA17: only the episode was named)
    problems = [
        Problem(label, int(row), "DECOM", f"episode starts before the child's date of birth ({dob_file}, row {dob_row})")
        for label, row, dob_file, dob_row in zip(joined.loc[early, "source_file"], joined.loc[early, "source_row"],
                                                 joined.loc[early, "source_file_dob"], joined.loc[early, "source_row_dob"])
    ]
    # cleaning keeps the latest return's DOB: a later return must not move it past an
    # earlier episode's start (a period would begin at age -1)
    latest = in_file_order(header).drop_duplicates("CHILD", keep="last")[
        ["CHILD", "year", "DOB", "source_file", "source_row"]]
    joined = episodes.merge(latest, on="CHILD", how="inner", suffixes=("", "_latest"))
    early = (joined["DECOM"] < joined["DOB"]) & (joined["year_latest"] != joined["year"])
    told = {(p.file, p.row) for p in problems}  # before its own return's DOB too: one message (QA14: two)
    problems += [
        Problem(label, int(row), "DECOM",
                f"episode starts before the child's date of birth in {later}, the latest return's header (which is kept)")
        for label, row, later in zip(joined.loc[early, "source_file"], joined.loc[early, "source_row"],
                                     joined.loc[early, "source_file_latest"])
        if (label, int(row)) not in told
    ]
    # nor make an earlier return's child an adult: cleaning would drop the episode as starting
    # after the 18th birthday, and with it the child (QA18: a date of birth ten years early in
    # the latest header lost 17 children from the opening stock, with exit 0 and no warning)
    # An age assessment that finds a UASC an adult corrects the date of birth past an earlier
    # episode's start, rightly: those children (in a UASC file, or leaving E15) are not refused
    joined = joined.merge(dob[["CHILD", "year", "DOB"]], on=["CHILD", "year"], how="left", suffixes=("", "_own"))
    assessed = set(tables["uasc"]["CHILD"]) | set(episodes.loc[episodes["REC"] == "E15", "CHILD"])
    adult = ((joined["DECOM"] >= codes.add_years(joined["DOB"], 18)) & (joined["year_latest"] != joined["year"])
             & (joined["DECOM"] < codes.add_years(joined["DOB_own"], 18)) & ~joined["CHILD"].isin(assessed))
    problems += [
        Problem(label, int(row), "DECOM",
                f"episode starts on or after the 18th birthday by the date of birth in {later}, row {later_row} (the latest "
                f"return's header, which is kept), but not by this return's: which date of birth is right?")
        for label, row, later, later_row in zip(
            joined.loc[adult, "source_file"], joined.loc[adult, "source_row"],
            joined.loc[adult, "source_file_latest"], joined.loc[adult, "source_row_latest"])
    ]
    return problems


def _check_uasc_against_header(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    """A UASC row's DOB and SEX, where given, are the header's for that child and year."""
    header, uasc = tables["header"], tables["uasc"]
    fields = [f for f in ("DOB", "SEX") if f in uasc]
    if uasc.empty or header.empty or not fields:
        return []
    joined = uasc.merge(_header_fields(header, fields), on=["CHILD", "year"], how="inner", suffixes=("", "_header"))
    problems = []
    for field in fields:
        differs = joined[field].notna() & joined[f"{field}_header"].notna() & (joined[field] != joined[f"{field}_header"])
        problems += [
            Problem(label, int(row), field, f"differs from the child's {field} in the header file")
            for label, row in zip(joined.loc[differs, "source_file"], joined.loc[differs, "source_row"])
        ]
    return problems


def _pseudonymised(tables: dict[str, pd.DataFrame], salt: str) -> Ssda903Data:
    return Ssda903Data(**{kind: _with_child_id(table, salt) for kind, table in tables.items()})


def _with_child_id(table: pd.DataFrame, salt: str) -> pd.DataFrame:
    """`table` with CHILD replaced by its pseudonym, child_id, and identifying columns dropped."""
    t = table.copy()
    child_id = privacy.pseudonymise(t["CHILD"], salt) if len(t) else pd.Series(dtype=object)
    t.insert(0, "child_id", child_id)
    t = t.drop(columns=["CHILD", *[c for c in privacy.DROPPED_FIELDS if c in t]])
    return t.reset_index(drop=True)
