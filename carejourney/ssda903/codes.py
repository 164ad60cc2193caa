"""SSDA903 code lists per collection year, and the one mapping from codes to model vocabulary.

A collection year is named by the year it ends: 2016 is 1 April 2015 to 31 March 2016.
Everything that maps a code to a model name is in the tables in this file, so a correction
is a one-line edit here; `MAPPING` shows the tables as a DataFrame and `MAPPING.md` (written
by `python -m carejourney.ssda903`) shows them to readers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from carejourney import vocab

FIRST_YEAR = 2015  # returns from 2014-15 on; earlier code lists are not kept
LAST_KNOWN_YEAR = 2025  # later years are checked against this year's lists

# ---------------------------------------------------------------------------------------------
# Code lists
# ---------------------------------------------------------------------------------------------

_U = [f"U{i}" for i in range(1, 7)]
_T = [f"T{i}" for i in range(5)]
# Code lists as they stood in 2014-15; later additions and removals are in CODE_CHANGES.
_CODES_2015: dict[str, frozenset[str]] = {
    "PLACE": frozenset(
        ["A3", "A4", "A5", "A6", "H5", "K1", "K2", "P1", "P2", "P3"]
        + ["R1", "R2", "R3", "R5", "S1", "Z1"]
        + _T
        + _U
    ),
    "PLACE_PROVIDER": frozenset(f"PR{i}" for i in range(6)),
    "LS": frozenset(["C1", "C2", "D1", "E1", "V2", "V3", "V4", "J1", "J2", "J3", "L1", "L2", "L3"]),
    "RNE": frozenset(["S", "P", "L", "T", "U", "B"]),
    "CIN": frozenset(f"N{i}" for i in range(1, 9)),
    # E43/E44 (SGO) were replaced by E45-E48 from 2014-15, so they are absent here.
    # ASSUMPTION: E4A/E4B, E13 and E14 were already valid in 2014-15 (when unsure we accept a
    # code: wrongly accepting one is less harmful than rejecting a council's valid file).
    "REC": frozenset(
        ["E11", "E12", "E2", "E3", "E4A", "E4B", "E13", "E41", "E45", "E46", "E47", "E48"]
        + ["E5", "E6", "E7", "E8", "E9", "E14", "X1"]
    ),
    # SEX is 1 (male) / 2 (female) in the return; M/F accepted because local extracts use them.
    "SEX": frozenset(["1", "2", "M", "F"]),
}

# (first collection year, field, codes added, codes removed). Edit here to correct a year.
CODE_CHANGES: tuple[tuple[int, str, frozenset[str], frozenset[str]], ...] = (
    (2016, "REC", frozenset(["E15", "E16"]), frozenset()),  # documented: added 2015-16
    (2017, "REC", frozenset(["E17"]), frozenset()),  # documented: added 2016-17
    # ASSUMPTION: K3 (supported accommodation) arrived with the Ofsted regulation of supported
    # accommodation in 2023-24; it is absent from code lists used around 2021-22.
    (2024, "PLACE", frozenset(["K3"]), frozenset()),
)

CODED_FIELDS = tuple(_CODES_2015)


def _build_valid_codes() -> dict[int, dict[str, frozenset[str]]]:
    table: dict[int, dict[str, frozenset[str]]] = {}
    current = dict(_CODES_2015)
    for year in range(FIRST_YEAR, LAST_KNOWN_YEAR + 1):
        for first_year, field, added, removed in CODE_CHANGES:
            if first_year == year:
                current[field] = (current[field] | added) - removed
        table[year] = dict(current)
    return table


# year -> field -> set of valid codes
VALID_CODES: dict[int, dict[str, frozenset[str]]] = _build_valid_codes()


def valid_codes(year: int) -> dict[str, frozenset[str]]:
    """Valid codes per field for a collection year (years after the table use its last year)."""
    if year < FIRST_YEAR:
        raise ValueError(f"collection year {year} is before 2014-15; no code lists are kept")
    return VALID_CODES[min(year, LAST_KNOWN_YEAR)]


ALL_CODES: dict[str, frozenset[str]] = {
    field: frozenset().union(*(VALID_CODES[y][field] for y in VALID_CODES)) for field in CODED_FIELDS
}

# ---------------------------------------------------------------------------------------------
# The mapping from codes to model vocabulary
# ---------------------------------------------------------------------------------------------

PUBLIC_PROVIDERS = ("PR1", "PR2", "PR3")  # own council, other council, other public body
PRIVATE_PROVIDERS = ("PR4", "PR5")  # private, voluntary / third sector
# A placement counts as in-house when its provider is public (the analysts' proxy, README).
IN_HOUSE_PROVIDERS = PUBLIC_PROVIDERS

# (PLACE codes, providers or None for any, placement type). Codes not listed map to "other";
# provider-dependent codes with a provider not listed (PR0, blank) also map to "other".
PLACEMENT_RULES: tuple[tuple[tuple[str, ...], tuple[str, ...] | None, str], ...] = (
    (("U1", "U2", "U3"), None, "kinship_foster"),
    (("U4", "U5", "U6"), PUBLIC_PROVIDERS, "inhouse_foster"),
    (("U4", "U5", "U6"), PRIVATE_PROVIDERS, "ifa_foster"),
    (("K2", "R1"), PUBLIC_PROVIDERS, "inhouse_childrens_home"),
    (("K2", "R1"), PRIVATE_PROVIDERS, "external_childrens_home"),
    (("S1",), None, "residential_school"),
    (("H5", "K3", "P2"), None, "supported_accommodation"),
    (("A3", "A4", "A5", "A6"), None, "placed_for_adoption"),
    (("P1",), None, "placed_with_parents"),
    (("K1",), None, "secure_disability_residential"),
)
OTHER_PLACEMENT = "other"
# PLACE codes whose placement type depends on PLACE_PROVIDER, which is then required.
PROVIDER_DEPENDENT_PLACES = frozenset(c for codes, prov, _ in PLACEMENT_RULES if prov for c in codes)

# LS -> legal status; V3/V4 are short breaks: the child is not looked after (None).
SHORT_BREAK_LS = ("V3", "V4")
LEGAL_STATUS_BY_LS: dict[str, str | None] = {
    "V2": "s20",
    "L1": "police_protection",
    "L2": "police_protection",
    "L3": "police_protection",
    "C1": "interim_care_order",
    "C2": "care_order",
    "E1": "placement_order",
    "D1": "placement_order",
    "J1": "remand",
    "J2": "remand",
    "J3": "remand",
    "V3": None,
    "V4": None,
}

CONTINUES_PERIOD_REC = "X1"  # episode ends and a new one begins: not an exit
# REC -> exit route (vocab.EXIT_ROUTES comments). E8 depends on age: see exit_route().
EXIT_ROUTE_BY_REC: dict[str, str] = {
    "E11": "adopted",
    "E12": "adopted",
    "E45": "sgo_former_foster_carer",
    "E46": "sgo_other_carer",
    "E43": "sgo_former_foster_carer",  # pre-2014-15 code, invalid in every year kept here
    "E44": "sgo_other_carer",  # pre-2014-15 code, invalid in every year kept here
    "E41": "child_arrangements_order",
    "E47": "child_arrangements_order",
    "E48": "child_arrangements_order",
    "E4A": "returned_home_planned",
    "E4B": "returned_home_unplanned",
    "E13": "lives_with_relatives_no_pr",
    "E5": "independent_living_supported",
    "E6": "independent_living_unsupported",
    "E7": "adult_social_care",
    "E9": "custody",
    "E14": "remand_ended",
    "E15": "age_assessment_18_plus",
    "E17": "staying_put_18",
    "E2": "transferred_or_other",
    "E3": "transferred_or_other",
    "E16": "transferred_or_other",
}
E8_AT_18 = "turned_18_other"  # E8 on or after the 18th birthday, as DfE counts it
E8_BEFORE_18 = "transferred_or_other"

NEED_BY_CIN: dict[str, str] = {name.split("_", 1)[0]: name for name in vocab.NEEDS}

# Short descriptions for the mapping table (from the DfE guide to the SSDA903 collection).
DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("PLACE", "A3"): "placed for adoption with consent with current foster carer",
    ("PLACE", "A4"): "placed for adoption with consent not with current foster carer",
    ("PLACE", "A5"): "placed for adoption with placement order with current foster carer",
    ("PLACE", "A6"): "placed for adoption with placement order not with current foster carer",
    ("PLACE", "H5"): "semi-independent living / residential accommodation not a children's home",
    ("PLACE", "K1"): "secure children's home",
    ("PLACE", "K2"): "children's home",
    ("PLACE", "K3"): "supported accommodation (code year assumed, see CODE_CHANGES)",
    ("PLACE", "P1"): "placed with own parents or other person with parental responsibility",
    ("PLACE", "P2"): "independent living, e.g. flat, lodgings, bedsit",
    ("PLACE", "P3"): "residential employment",
    ("PLACE", "R1"): "residential care home",
    ("PLACE", "R2"): "NHS / health trust or other establishment providing medical care",
    ("PLACE", "R3"): "family centre or mother and baby unit",
    ("PLACE", "R5"): "young offender institution or prison",
    ("PLACE", "S1"): "residential school",
    ("PLACE", "T0"): "temporary placement",
    ("PLACE", "T1"): "temporary placement",
    ("PLACE", "T2"): "temporary placement",
    ("PLACE", "T3"): "temporary placement",
    ("PLACE", "T4"): "temporary placement",
    ("PLACE", "U1"): "foster placement with relative or friend: long term",
    ("PLACE", "U2"): "foster placement with relative or friend: FFA / concurrent planning",
    ("PLACE", "U3"): "foster placement with relative or friend: not long term or FFA",
    ("PLACE", "U4"): "foster placement with other foster carer: long term",
    ("PLACE", "U5"): "foster placement with other foster carer: FFA / concurrent planning",
    ("PLACE", "U6"): "foster placement with other foster carer: not long term or FFA",
    ("PLACE", "Z1"): "other placement",
    ("LS", "V2"): "single period of accommodation under section 20",
    ("LS", "V3"): "short break: accommodated under an agreed series of short-term breaks",
    ("LS", "V4"): "short break: accommodated under an agreed series, individual episodes",
    ("LS", "L1"): "under police protection and in local authority accommodation",
    ("LS", "L2"): "emergency protection order",
    ("LS", "L3"): "child assessment order and in local authority accommodation",
    ("LS", "C1"): "interim care order",
    ("LS", "C2"): "full care order",
    ("LS", "E1"): "placement order granted",
    ("LS", "D1"): "freeing order granted",
    ("LS", "J1"): "remanded to local authority accommodation or youth detention",
    ("LS", "J2"): "placed in local authority accommodation under PACE",
    ("LS", "J3"): "sentenced to youth rehabilitation order with residence requirement",
    ("REC", "X1"): "episode ceases and a new one begins: not an exit",
    ("REC", "E11"): "adopted: application for an adoption order unopposed",
    ("REC", "E12"): "adopted: consent dispensed with by the court",
    (
        "REC",
        "E13",
    ): "left care to live with parent(s), relative(s) or other(s) with no parental responsibility",
    ("REC", "E14"): "accommodation on remand ended",
    ("REC", "E15"): "age assessment determined the child is 18 or over",
    ("REC", "E16"): "child moved abroad",
    ("REC", "E17"): "aged 18, remained with current carers (staying put)",
    ("REC", "E2"): "died",
    ("REC", "E3"): "care taken over by another local authority in the UK",
    ("REC", "E41"): "residence order / child arrangements order granted",
    ("REC", "E43"): "special guardianship order to former foster carers (before 2014-15)",
    ("REC", "E44"): "special guardianship order to other carers (before 2014-15)",
    ("REC", "E45"): "special guardianship order made to former foster carers",
    ("REC", "E46"): "special guardianship order made to carers other than former foster carers",
    ("REC", "E47"): "child arrangements order to former foster carers",
    ("REC", "E48"): "child arrangements order to carers other than former foster carers",
    ("REC", "E4A"): "returned home to parents or others with parental responsibility: planned",
    ("REC", "E4B"): "returned home to parents or others with parental responsibility: not planned",
    ("REC", "E5"): "moved into independent living with supportive accommodation",
    ("REC", "E6"): "moved into independent living with no formalised support",
    ("REC", "E7"): "transferred to residential care funded by adult social care",
    ("REC", "E8"): "period of care ceased for any other reason",
    ("REC", "E9"): "sentenced to custody",
}


def placement_type(place: pd.Series, provider: pd.Series) -> pd.Series:
    """Model placement type for PLACE and PLACE_PROVIDER codes (vectorised)."""
    result = pd.Series(OTHER_PLACEMENT, index=place.index, dtype=object)
    for codes, providers, name in PLACEMENT_RULES:
        hit = place.isin(codes)
        if providers is not None:
            hit &= provider.isin(providers)
        result[hit] = name
    return result


def in_house(provider: pd.Series) -> pd.Series:
    """True where the placement is provided by a public body (PR1-PR3)."""
    return provider.isin(IN_HOUSE_PROVIDERS)


def legal_status(ls: pd.Series) -> pd.Series:
    """Model legal status for LS codes; missing (NaN) for short breaks."""
    return ls.map(LEGAL_STATUS_BY_LS).astype(object)


def need(cin: pd.Series) -> pd.Series:
    return cin.map(NEED_BY_CIN).astype(object)


def exit_route(rec: pd.Series, dec: pd.Series, dob: pd.Series) -> pd.Series:
    """Exit route for REC codes; missing for X1 and blank. E8 splits on the 18th birthday."""
    routes = rec.map(EXIT_ROUTE_BY_REC).astype(object)
    e8 = rec.eq("E8").fillna(False).astype(bool)
    if e8.any():
        at_18 = dec >= add_years(dob, 18)
        routes[e8] = np.where(at_18[e8], E8_AT_18, E8_BEFORE_18)
    return routes


def add_years(dates: pd.Series, years: int) -> pd.Series:
    """Same day `years` later; 29 February goes to 1 March in other years (as in age_in_years)."""
    year = dates.dt.year + years
    month, day = dates.dt.month, dates.dt.day
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    moved = (month == 2) & (day == 29) & ~leap
    parts = pd.DataFrame({"year": year, "month": month.mask(moved, 3), "day": day.mask(moved, 1)})
    return pd.to_datetime(parts, errors="coerce").astype("datetime64[ns]")


def age_in_years(dob: pd.Series, on: pd.Series) -> pd.Series:
    """Whole years of age on a date, as DfE counts age."""
    years = on.dt.year - dob.dt.year
    before_birthday = (on.dt.month < dob.dt.month) | (
        (on.dt.month == dob.dt.month) & (on.dt.day < dob.dt.day)
    )
    return (years - before_birthday.astype(int)).astype("Int64")


# ---------------------------------------------------------------------------------------------
# Codes the export writes for model names (read back through the mapping above)
# ---------------------------------------------------------------------------------------------

# placement type -> (PLACE, provider if in-house, provider if not in-house)
# U4/K2 etc. with PR1 for in-house and PR4 (private) otherwise; placed with parents uses PR0.
# concurrent_foster_to_adopt is written as U5 (FFA / concurrent) but the analysts' mapping
# reads U5 back as in-house or IFA fostering by provider: that type does not round-trip.
EXPORT_PLACEMENT: dict[str, tuple[str, str, str]] = {
    "placed_with_parents": ("P1", "PR0", "PR0"),
    "kinship_foster": ("U1", "PR1", "PR1"),
    "inhouse_foster": ("U4", "PR1", "PR1"),
    "concurrent_foster_to_adopt": ("U5", "PR1", "PR4"),
    "ifa_foster": ("U4", "PR4", "PR4"),
    "supported_accommodation": ("H5", "PR1", "PR4"),
    "inhouse_childrens_home": ("K2", "PR1", "PR1"),
    "external_childrens_home": ("K2", "PR4", "PR4"),
    "residential_school": ("S1", "PR1", "PR4"),
    "secure_disability_residential": ("K1", "PR1", "PR4"),
    "placed_for_adoption": ("A4", "PR1", "PR4"),  # A6 when under a placement order
    "other": ("Z1", "PR1", "PR4"),
}
EXPORT_ADOPTION_UNDER_PLACEMENT_ORDER = "A6"
EXPORT_LS: dict[str, str] = {
    "s20": "V2",
    "police_protection": "L1",
    "interim_care_order": "C1",
    "care_order": "C2",
    "placement_order": "E1",
    "remand": "J1",
}
# E8 written for turned_18_other; transferred_or_other written as E3 (transfer to another LA)
# so that it reads back the same whatever the child's age.
EXPORT_REC: dict[str, str] = {
    "adopted": "E11",
    "sgo_former_foster_carer": "E45",
    "sgo_other_carer": "E46",
    "child_arrangements_order": "E48",
    "returned_home_planned": "E4A",
    "returned_home_unplanned": "E4B",
    "lives_with_relatives_no_pr": "E13",
    "independent_living_supported": "E5",
    "independent_living_unsupported": "E6",
    "adult_social_care": "E7",
    "custody": "E9",
    "remand_ended": "E14",
    "age_assessment_18_plus": "E15",
    "staying_put_18": "E17",
    "turned_18_other": "E8",
    "transferred_or_other": "E3",
}
# Written instead when a code is not valid in the year the episode ends (before it existed).
EXPORT_REC_FALLBACK: dict[str, str] = {"E15": "E8", "E16": "E8", "E17": "E8"}
EXPORT_SEX = {"M": "1", "F": "2"}
SEX_BY_CODE = {"1": "M", "2": "F", "M": "M", "F": "F"}
SEX_CANONICAL = {"1": "1", "2": "2", "M": "1", "F": "2"}  # returns use either; compared as one
# RNE written by the export; on reading, these decide where placements and legal spells change.
RNE_START, RNE_PLACEMENT, RNE_LEGAL, RNE_BOTH = "S", "P", "L", "B"
# ASSUMPTION: T is read as a placement change; U and B as both (as the DfE validator treats them).
RNE_PLACEMENT_CHANGE = frozenset(["S", "P", "T", "U", "B"])
RNE_LEGAL_CHANGE = frozenset(["S", "L", "U", "B"])


# ---------------------------------------------------------------------------------------------
# The mapping as a table (for README / docs)
# ---------------------------------------------------------------------------------------------


def _first_year(field: str, code: str) -> int | None:
    years = [y for y, lists in VALID_CODES.items() if code in lists[field]]
    return min(years) if years else None


def mapping_table() -> pd.DataFrame:
    """Every code the mapping knows: field, code, condition, model_value, valid_from, meaning."""
    rows: list[dict[str, object]] = []

    def add(field: str, code: str, condition: str, value: str) -> None:
        first = _first_year(field, code)
        rows.append(
            {
                "field": field,
                "code": code,
                "condition": condition,
                "model_value": value,
                "valid_from": f"{first - 1}-{str(first)[2:]}" if first else "not valid",
                "meaning": DESCRIPTIONS.get((field, code), ""),
            }
        )

    ruled: set[str] = set()
    for codes, providers, name in PLACEMENT_RULES:
        for code in codes:
            cond = f"PLACE_PROVIDER in {'/'.join(providers)}" if providers else ""
            add("PLACE", code, cond, name)
            ruled.add(code)
    for code in sorted(PROVIDER_DEPENDENT_PLACES):
        add("PLACE", code, "PLACE_PROVIDER PR0 (blank is rejected at read)", OTHER_PLACEMENT)
    for code in sorted(ALL_CODES["PLACE"] - ruled):
        add("PLACE", code, "", OTHER_PLACEMENT)
    for code, value in LEGAL_STATUS_BY_LS.items():
        add("LS", code, "", value if value else "(short break: not looked after, dropped)")
    add("REC", "X1", "", "(not an exit: the period goes on)")
    for code, value in EXIT_ROUTE_BY_REC.items():
        add("REC", code, "", value)
    add("REC", "E8", "aged 18 or over at DEC", E8_AT_18)
    add("REC", "E8", "aged under 18 at DEC", E8_BEFORE_18)
    for code, value in NEED_BY_CIN.items():
        add("CIN", code, "", value)
    table = pd.DataFrame(rows)
    order = {"PLACE": 0, "LS": 1, "REC": 2, "CIN": 3}
    table["_o"] = table["field"].map(order)
    table = table.sort_values(["_o", "code", "condition"], kind="stable").drop(columns="_o")
    return table.reset_index(drop=True)


MAPPING: pd.DataFrame = mapping_table()
MAPPING_MD_PATH = Path(__file__).with_name("MAPPING.md")


def mapping_markdown() -> str:
    """MAPPING.md: the mapping table, the export's code choices and the code-list changes."""
    lines = [
        "# SSDA903 codes → carejourney vocabulary",
        "",
        "Generated from `carejourney/ssda903/codes.py` by `python -m carejourney.ssda903 > carejourney/ssda903/MAPPING.md`;",
        "edit the tables there, not this file.",
        "`valid_from` is the first collection year (from 2014-15, the first kept) in which",
        "the code is accepted.",
        "",
        _markdown_table(MAPPING),
        "",
        "## Codes the export writes",
        "",
        "In-house placements get provider PR1, others PR4. Placed for adoption is A6 under a",
        "placement order, else A4. A REC not valid in the year the episode ends is written as",
        "its fallback (E15/E16/E17 before they existed → E8).",
        "",
        _markdown_table(
            pd.DataFrame(
                [
                    {"model_value": k, "PLACE": v[0], "provider in-house": v[1], "provider otherwise": v[2]}
                    for k, v in EXPORT_PLACEMENT.items()
                ]
            )
        ),
        "",
        _markdown_table(pd.DataFrame([{"legal status": k, "LS": v} for k, v in EXPORT_LS.items()])),
        "",
        _markdown_table(pd.DataFrame([{"exit route": k, "REC": v} for k, v in EXPORT_REC.items()])),
        "",
        "## Code-list changes by collection year",
        "",
        _markdown_table(
            pd.DataFrame(
                [
                    {
                        "from": f"{y - 1}-{str(y)[2:]}",
                        "field": f,
                        "added": " ".join(sorted(a)),
                        "removed": " ".join(sorted(r)),
                    }
                    for y, f, a, r in CODE_CHANGES
                ]
            )
        ),
        "",
        "E43/E44 were replaced by E45-E48 from 2014-15 and are invalid in every year kept.",
        "Assumed years (see comments in codes.py): E4A/E4B, E13, E14 valid from 2014-15; K3 from",
        "2023-24.",
        "",
    ]
    return "\n".join(lines)


def _markdown_table(df: pd.DataFrame) -> str:
    cells = df.astype(str).replace({"nan": "", "None": ""})
    head = "| " + " | ".join(cells.columns) + " |"
    rule = "|" + "|".join("---" for _ in cells.columns) + "|"
    body = ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join([head, rule, *body])
