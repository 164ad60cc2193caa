"""THE mapping from published quantities to model measures: one table, `MAPPING`.

Each row says which published quantity (as written in published_figures.csv, without the
" (revised series)" suffix, which is recognised separately) is compared with which sum of
model cells: `measure`, `breakdown`, and the `categories` summed. A row with
`measure=None` is a published quantity the model does NOT reproduce, with the reason in
`note`; `compare` lists those as "not compared", so nothing is silently dropped.

A row whose `parts` are given is a *derived* comparison: the published parts are summed
(e.g. the two adoption rows) and compared under the row's `quantity` label. Parts missing
for a year are summed as absent and named in the note ("partial"). Each part, looked at
on its own, is then reported as "not compared: compared as part of ...".

Decisions (model categories are in carejourney/vocab.py):

Stock at 31 March (`lac_children`; the model's 31 March snapshot of that financial year)
  - placement groups follow vocab.DFE_PLACEMENT_GROUP:
      foster placements            kinship_foster + inhouse_foster + concurrent_foster_to_adopt + ifa_foster
      placed for adoption          placed_for_adoption (foster-to-adopt before a placement order is fostering, U-codes)
      placed with parents          placed_with_parents
      secure units, children's homes and semi-independent living
                                   supported_accommodation + inhouse/external children's homes + secure_disability_residential
      residential schools          residential_school
      other placements             other
    The model has ONE supported_accommodation type for semi-independent living (H5, in the
    DfE group above) and living independently (P2, DfE "other placements in the community"),
    and counts residential care homes (R1, DfE "other residential settings") as children's
    homes. So "other placements in the community" and "other residential settings" are not
    compared alone; the like-for-like row is the derived
      "secure units, children's homes, semi-independent living, other placements in the
       community and other residential settings (combined)".
    The single "secure units ..." row is still shown (simulated value slightly high).
  - provider: the model knows only whether a place is the council's own. "LA's own
    provision" ~ inhouse_foster + inhouse_childrens_home + kinship_foster (family and
    friends carers are council-approved) + concurrent_foster_to_adopt (paid as in-house
    fostering). APPROXIMATE: placed-for-adoption with the council's own adopters is also
    own provision in DfE returns and is left out (no split in the model). "parents
    (provider)" = placed_with_parents. Private / voluntary / other LA / other public are
    not compared (they mix IFA, external homes and supported accommodation).
  - legal status follows vocab.DFE_LEGAL_GROUP; the model's placement_order includes the
    legacy freeing order (D1), so "freed for adoption" is not compared on its own.
  - age bands follow vocab.AGE_BAND_LABEL; UASC; inside / outside the council boundary;
    rate per 10,000 (`lac_rate_per_10000`, denominator from config population).
Starts (`starts_children`: DfE counts a child's first start in the year)
  - total, by age (age on starting), by legal status on starting (vocab.DFE_LEGAL_GROUP).
    The model's police_protection is L1-L3 (police protection, EPO, child assessment
    order): compared with "police protection" + "emergency protection order" (derived).
    The model's remand is J1-J3: compared with "remand/committed for trial" + "PACE".
Ceased (`ceased_children`: DfE counts a child's last exit in the year)
  - total, by age on ceasing (the model's top band includes children leaving at 18, so
    it is compared with "16 and over", or with 16 + 17 + "18 and over" from 2016 on),
  - by reason via vocab.DFE_EXIT_GROUP. "adopted" = the two adopted rows summed. The
    model's transferred_or_other is E3/E16/E2/E8-not-at-18, so "any other reason" is
    compared together with "care taken by another LA", "child moved abroad" and "died".
Groups (`group`) label rows for the calibration defaults and the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..vocab import (
    AGE_BAND_LABEL,
    AGE_BANDS,
    DFE_EXIT_GROUP,
    DFE_LEGAL_GROUP,
    DFE_PLACEMENT_GROUP,
    EXIT_ROUTES,
    LEGAL_STATUSES,
    PLACEMENT_TYPES,
)


@dataclass(frozen=True)
class MappedQuantity:
    """One published quantity and the model cells compared with it (or why not)."""

    quantity: str
    measure: str | None
    breakdown: str = "total"
    categories: tuple[str, ...] = ("all",)
    group: str = ""
    note: str = ""
    parts: tuple[str, ...] = field(default=())

    @property
    def compared(self) -> bool:
        return self.measure is not None

    @property
    def sources(self) -> tuple[str, ...]:
        """The published quantities summed for this row."""
        return self.parts or (self.quantity,)

    def describe(self) -> str:
        if not self.compared:
            return ""
        if self.breakdown == "total":
            return self.measure
        return f"{self.measure}[{self.breakdown}: {' + '.join(self.categories)}]"


def _types(group: str) -> tuple[str, ...]:
    return tuple(t for t in PLACEMENT_TYPES if DFE_PLACEMENT_GROUP[t] == group)


def _routes(group: str) -> tuple[str, ...]:
    return tuple(r for r in EXIT_ROUTES if DFE_EXIT_GROUP.get(r) == group)


def _legal(label: str) -> tuple[str, ...]:
    return tuple(s for s in LEGAL_STATUSES if DFE_LEGAL_GROUP[s] == label)


_CLA = "CLA at 31 March"
_STARTS = "Children starting to be looked after during year"
_CEASED = "Children ceasing to be looked after during year"
_SECURE = "secure units, children's homes and semi-independent living"
_COMMUNITY = "other placements in the community (incl living independently)"
_OTHER_RES = "other residential settings"
_OTHER_REASON = "care ceased for any other reason (mostly 18th birthday)"
_PERCENT = "a percentage of a total; the counts it is made from are compared where published"
_COST = "a cost, price or spend figure: evidence for the config's unit costs, not an outcome the model simulates"

MAPPING: list[MappedQuantity] = [
    # ------------------------------------------------------------ stock at 31 March
    MappedQuantity(_CLA, "lac_children", group="stock"),
    MappedQuantity("CLA rate per 10,000 children under 18", "lac_rate_per_10000", group="rate",
                   note="denominator: the config's population of children 0-17"),
    *[MappedQuantity(f"{_CLA} by age: {AGE_BAND_LABEL[b]}", "lac_children", "age_band", (b,), "stock_age")
      for b in AGE_BANDS],
    *[MappedQuantity(f"{_CLA} by legal status: {label}", "lac_children", "legal_status", _legal(label),
                     "stock_legal",
                     "the model's placement_order includes the legacy freeing order (D1)"
                     if label == "placement order" else "")
      for label in dict.fromkeys(DFE_LEGAL_GROUP.values())],
    MappedQuantity(f"{_CLA} by legal status: freed for adoption", None,
                   note="a legacy status the model counts inside placement_order"),
    *[MappedQuantity(f"{_CLA} by placement: {g}", "lac_children", "placement_type", _types(g),
                     "placement_partial" if g == _SECURE else "placement",
                     ("the model's supported_accommodation also holds children living independently "
                      "(DfE 'other placements in the community'): simulated value slightly high; "
                      "see the combined row") if g == _SECURE else "")
      for g in dict.fromkeys(DFE_PLACEMENT_GROUP.values())],
    MappedQuantity(f"{_CLA} by placement: {_SECURE}, other placements in the community and other "
                   "residential settings (combined)", "lac_children", "placement_type", _types(_SECURE),
                   "placement",
                   "like-for-like: the model's supported_accommodation is semi-independent (H5) and "
                   "independent (P2) living; residential care homes (R1) are children's homes",
                   parts=(f"{_CLA} by placement: {_SECURE}", f"{_CLA} by placement: {_COMMUNITY}",
                          f"{_CLA} by placement: {_OTHER_RES}")),
    MappedQuantity(f"{_CLA} by placement: {_COMMUNITY}", None,
                   note="the model's supported_accommodation mixes this with semi-independent living"),
    MappedQuantity(f"{_CLA} by placement: {_OTHER_RES}", None,
                   note="the model has no separate type (R1 homes count as children's homes, R2/R3/R5 as other)"),
    MappedQuantity("CLA in foster placements at 31 March", "lac_children", "placement_type",
                   _types("foster placements"), "placement"),
    MappedQuantity(f"{_CLA} by placement provider: LA's own provision", "lac_children", "placement_type",
                   ("kinship_foster", "inhouse_foster", "concurrent_foster_to_adopt", "inhouse_childrens_home"),
                   "provider",
                   "APPROXIMATE: own provision ~ in-house fostering and homes + kinship + foster-to-adopt; "
                   "adoptive placements with the council's own adopters are not in the model's sum"),
    MappedQuantity(f"{_CLA} by placement provider: parents (provider)", "lac_children", "placement_type",
                   ("placed_with_parents",), "provider"),
    *[MappedQuantity(f"{_CLA} by placement provider: {p}", None,
                     note="the model does not split placements by provider beyond the council's own")
      for p in ("other LA provision", "other public provision", "private provision", "voluntary provision",
                "provider not reported")],
    MappedQuantity(f"{_CLA} who were UASC", "lac_children", "uasc", ("uasc",), "uasc"),
    MappedQuantity("UASC CLA at 31 March (not UASC / UASC split)", "lac_children", "uasc", ("uasc",), "uasc",
                   "the value is the UASC total (inside + outside the council)"),
    MappedQuantity(f"{_CLA} placed inside LA boundary", "lac_children", "location", ("inside_area",), "location"),
    MappedQuantity(f"{_CLA} placed outside LA boundary", "lac_children", "location", ("outside_area",), "location"),
    MappedQuantity(f"{_CLA}: male", "lac_children", "sex", ("male",), "stock_sex"),
    MappedQuantity("Children looked after at any time during year", None,
                   note="no output measure (stock at 31 March + starts is an upper bound)"),
    MappedQuantity("Children looked after at any time during the year", None,
                   note="no output measure (stock at 31 March + starts is an upper bound)"),
    MappedQuantity("Children looked after only under series of short-term placements during year", None,
                   note="short breaks are not looked-after care in the model"),
    # ------------------------------------------------------------ starts
    MappedQuantity(_STARTS, "starts_children", group="starts"),
    MappedQuantity("Children starting to be looked after during the year", "starts_children", group="starts"),
    MappedQuantity("Children starting to be looked after in year", "starts_children", group="starts"),
    *[MappedQuantity(f"Starts by age on starting: {AGE_BAND_LABEL[b]}", "starts_children", "age_band", (b,),
                     "starts_age") for b in AGE_BANDS],
    MappedQuantity("Starts by legal status on starting: voluntary agreement (s20)", "starts_children",
                   "legal_status", ("s20",), "starts_legal"),
    MappedQuantity("Starts by legal status on starting: interim care order", "starts_children", "legal_status",
                   ("interim_care_order",), "starts_legal"),
    MappedQuantity("Starts by legal status on starting: full care order", "starts_children", "legal_status",
                   ("care_order",), "starts_legal"),
    MappedQuantity("Starts by legal status on starting: placement order", "starts_children", "legal_status",
                   ("placement_order",), "starts_legal"),
    MappedQuantity("Starts by legal status on starting: police protection or emergency protection order (combined)",
                   "starts_children", "legal_status", ("police_protection",), "starts_legal",
                   "the model's police_protection is L1-L3 (police protection, EPO, child assessment order)",
                   parts=("Starts by legal status on starting: police protection",
                          "Starts by legal status on starting: emergency protection order")),
    MappedQuantity("Starts by legal status on starting: youth justice (remand/committed for trial or PACE, combined)",
                   "starts_children", "legal_status", ("remand",), "starts_legal",
                   "the model's remand is J1-J3",
                   parts=("Starts by legal status on starting: remand/committed for trial",
                          "Starts by legal status on starting: PACE")),
    MappedQuantity("Starts aged 16 and over (% of starts)", None, note=_PERCENT),
    MappedQuantity("Children taken into care during year (care order/PPO/EPO starts)", None,
                   note="a DfE derived count of court-route starts with no model measure"),
    MappedQuantity("Children taken into care (care order/PPO/EPO/CAO starts)", None,
                   note="a DfE derived count of court-route starts with no model measure"),
    *[MappedQuantity(f"Starts by category of need: {label}", "starts_children", "need", (code,), "starts_need",
                     "UASC are N8 absent parenting" if code == "N8_absent_parenting" else "")
      for label, code in (("abuse or neglect", "N1_abuse_or_neglect"), ("child disability", "N2_disability"),
                          ("parental illness/disability", "N3_parental_illness"),
                          ("family in acute stress", "N4_acute_stress"), ("family dysfunction", "N5_family_dysfunction"),
                          ("socially unacceptable behaviour", "N6_socially_unacceptable_behaviour"),
                          ("low income", "N7_low_income"), ("absent parenting", "N8_absent_parenting"))],
    # ------------------------------------------------------------ ceased
    MappedQuantity(_CEASED, "ceased_children", group="ceased"),
    MappedQuantity("Children ceasing to be looked after during the year", "ceased_children", group="ceased"),
    *[MappedQuantity(f"Ceased by age on ceasing: {AGE_BAND_LABEL[b]}", "ceased_children", "age_band", (b,),
                     "ceased_age",
                     "the model's top band includes children leaving at 18" if b == "16_to_17" else "")
      for b in AGE_BANDS],
    MappedQuantity("Ceased by age on ceasing: 16 and over (16 + 17 + 18 and over, combined)", "ceased_children",
                   "age_band", ("16_to_17",), "ceased_age",
                   "the model's top band includes children leaving at 18",
                   parts=("Ceased by age on ceasing: 16", "Ceased by age on ceasing: 17",
                          "Ceased by age on ceasing: 18 and over")),
    MappedQuantity("Ceased by reason: adopted (application unopposed + consent dispensed with, combined)",
                   "ceased_children", "exit_route", _routes("adopted"), "ceased_reason",
                   parts=("Ceased by reason: adopted - application unopposed",
                          "Ceased by reason: adopted - consent dispensed with")),
    MappedQuantity("Ceased: adopted", "ceased_children", "exit_route", _routes("adopted"), "ceased_reason"),
    MappedQuantity("Adoptions of looked after children", "ceased_children", "exit_route", _routes("adopted"),
                   "ceased_reason"),
    *[MappedQuantity(f"Ceased by reason: {g}", "ceased_children", "exit_route", _routes(g), "ceased_reason")
      for g in dict.fromkeys(DFE_EXIT_GROUP.values()) if g not in ("adopted", _OTHER_REASON)],
    MappedQuantity("Ceased by reason: any other reason incl. 18th birthday, care taken by another LA, "
                   "moved abroad, died (combined)", "ceased_children", "exit_route", _routes(_OTHER_REASON),
                   "ceased_reason",
                   "the model's transferred_or_other is E3/E16/E2 and E8 not at 18",
                   parts=(f"Ceased by reason: {_OTHER_REASON}", "Ceased by reason: care taken by another LA",
                          "Ceased by reason: child moved abroad", "Ceased by reason: died")),
    MappedQuantity("Ceased: returned home to parents or relatives (% of ceased)", None, note=_PERCENT),
    MappedQuantity("Duration of care for ceased: less than 2 weeks (% of ceased)", None, note=_PERCENT),
    MappedQuantity("Duration of care for ceased: less than 1 year (% of ceased)", None, note=_PERCENT),
    MappedQuantity("Re-entry: children who returned home from care in 2006/07 and re-entered care within 5 years "
                   "(to 31 March 2012)", None, note="a cohort re-entry rate with no model measure"),
    # ------------------------------------------------------------ adoption timeliness
    MappedQuantity("Adoption scorecard A1: average days from entering care to moving in with adoptive family",
                   "adoption_entry_to_placed_days_mean", group="adoption",
                   note="model mean over children placed for adoption in the year"),
    MappedQuantity("Adoption scorecard A1 threshold (entry to care -> move in with adopters)", None,
                   note="a government target, not an observed outcome"),
    MappedQuantity("Average time entry into care to adoption", None,
                   note="entry to the adoption ORDER in months; the model measures entry to placement"),
    MappedQuantity("Average wait from entering care to moving in with adoptive parents", None,
                   note="a multi-year average in months, not a financial year"),
    MappedQuantity("Children's homes in England / children placed", None,
                   note="an Ofsted count including children who are not looked after"),
]

# Generic reasons for quantities with no row, by unit or wording.
GENERIC_REASONS = (
    (("percent", "%"), _PERCENT),
    (("gbp", "£", "cost", "price", "spend", "expenditure"), _COST),
)
NO_ROW_REASON = "no row in the mapping table: the model has no output measure for it"


def _norm(q: str) -> str:
    return " ".join(str(q).lower().split())


_BY_NAME: dict[str, MappedQuantity] = {}
_PART_OF: dict[str, MappedQuantity] = {}
for _row in MAPPING:
    key = _norm(_row.quantity)
    if key in _BY_NAME:
        raise RuntimeError(f"duplicate mapping row for {_row.quantity!r}")
    _BY_NAME[key] = _row
    for _p in _row.parts:
        _PART_OF[_norm(_p)] = _row


def row_for(quantity: str) -> MappedQuantity | None:
    """The mapping row whose own quantity this is (not as a part of a derived row)."""
    return _BY_NAME.get(_norm(quantity))


def derived_rows_using(quantity: str) -> MappedQuantity | None:
    """The derived row that sums this published quantity, if any."""
    return _PART_OF.get(_norm(quantity))


def reason_not_compared(quantity: str, unit: str = "") -> str:
    """Why a published quantity is not compared on its own."""
    row = row_for(quantity)
    if row is not None and not row.compared:
        return row.note
    parent = derived_rows_using(quantity)
    if parent is not None:
        return f"compared as part of '{parent.quantity}'"
    text = f"{quantity} {unit}".lower()
    for words, reason in GENERIC_REASONS:
        if any(w in text for w in words):
            return reason
    return NO_ROW_REASON


def unit_of_measure(measure: str) -> str:
    """The unit a model measure is counted in, as published_figures.csv writes it."""
    if measure == "lac_rate_per_10000":
        return "per 10,000"
    return "days" if measure.endswith("_days_mean") else "children"


def expected_unit(quantity: str) -> str | None:
    """The unit a published `quantity` is compared in (alone or as part of a derived row), else None."""
    row = row_for(quantity)
    if row is None or not row.compared:
        row = derived_rows_using(quantity)
    return unit_of_measure(row.measure) if row is not None and row.compared else None


def groups() -> list[str]:
    return list(dict.fromkeys(r.group for r in MAPPING if r.compared))


def mapping_table():
    """MAPPING as a DataFrame (for documentation and the report)."""
    import pandas as pd
    return pd.DataFrame([{"quantity": r.quantity, "measure": r.measure or "", "breakdown": r.breakdown if r.compared else "",
                          "categories": " + ".join(r.categories) if r.compared else "", "group": r.group,
                          "published parts summed": " + ".join(r.parts), "note": r.note} for r in MAPPING])
