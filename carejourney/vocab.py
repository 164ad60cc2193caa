"""The shared vocabulary: placement types, legal statuses, exit routes, age bands and needs.

Every other module names things with these identifiers, so config keys, event-log codes,
output tables and the SSDA903 mapping all agree. Order matters: the integer code of a
name is its index in the tuple, and the event log stores codes, not strings.
"""

from __future__ import annotations

# Placement types, roughly cheapest to dearest (DOMAIN.md).
PLACEMENT_TYPES: tuple[str, ...] = (
    "placed_with_parents",
    "kinship_foster",
    "inhouse_foster",
    "concurrent_foster_to_adopt",
    "ifa_foster",
    "supported_accommodation",
    "inhouse_childrens_home",
    "external_childrens_home",
    "residential_school",
    "secure_disability_residential",
    "placed_for_adoption",
    "other",
)
PLACEMENT_CODE = {name: i for i, name in enumerate(PLACEMENT_TYPES)}
FOSTER_TYPES = ("kinship_foster", "inhouse_foster", "concurrent_foster_to_adopt", "ifa_foster")
RESIDENTIAL_TYPES = (
    "inhouse_childrens_home",
    "external_childrens_home",
    "residential_school",
    "secure_disability_residential",
)
# Types run by the council itself with a finite number of places.
INHOUSE_TYPES = ("inhouse_foster", "inhouse_childrens_home")
# DfE "placement" groups used in published tables (stock at 31 March by placement).
DFE_PLACEMENT_GROUP = {
    "placed_with_parents": "placed with parents",
    "kinship_foster": "foster placements",
    "inhouse_foster": "foster placements",
    "concurrent_foster_to_adopt": "foster placements",
    "ifa_foster": "foster placements",
    "supported_accommodation": "secure units, children's homes and semi-independent living",
    "inhouse_childrens_home": "secure units, children's homes and semi-independent living",
    "external_childrens_home": "secure units, children's homes and semi-independent living",
    "secure_disability_residential": "secure units, children's homes and semi-independent living",
    "residential_school": "residential schools",
    "placed_for_adoption": "placed for adoption",
    "other": "other placements",
}

# Legal statuses of a looked-after child. Short breaks (V3/V4) are not looked after.
LEGAL_STATUSES: tuple[str, ...] = (
    "s20",  # V2 (single-period s20) - voluntary accommodation
    "police_protection",  # L1-L3: police protection, EPO, child assessment order
    "interim_care_order",  # C1
    "care_order",  # C2
    "placement_order",  # E1 (and D1 freeing order)
    "remand",  # J1-J3 youth justice
)
LEGAL_CODE = {name: i for i, name in enumerate(LEGAL_STATUSES)}
# The legal statuses a placement can be held under; a type not listed takes any. A looked-after
# child is placed with a parent only under a care order or an interim care order (Children Act
# 1989 s22C: s20 accommodation simply ends when the child goes home); a child placed for adoption
# holds a placement order; concurrent (foster-to-adopt) carers take a child in proceedings, on a
# placement order, or accommodated with consent, but not on a full care order (adoption is then
# not the plan). The opening stock and the placement policy both keep to it.
PLACEMENT_LEGAL_STATUSES: dict[str, tuple[str, ...]] = {
    "placed_with_parents": ("interim_care_order", "care_order"),
    "concurrent_foster_to_adopt": ("s20", "interim_care_order", "placement_order"),
    "placed_for_adoption": ("placement_order",),
}
DFE_LEGAL_GROUP = {
    "s20": "voluntary agreement (s20)",
    "police_protection": "detained for child protection",
    "interim_care_order": "interim care order",
    "care_order": "full care order",
    "placement_order": "placement order",
    "remand": "youth justice legal status",
}

# Routes out of care; SSDA903 reason-episode-ceased (REC) codes in comments.
EXIT_ROUTES: tuple[str, ...] = (
    "adopted",  # E11, E12
    "sgo_former_foster_carer",  # E45
    "sgo_other_carer",  # E46
    "child_arrangements_order",  # E41, E47, E48
    "returned_home_planned",  # E4A
    "returned_home_unplanned",  # E4B
    "lives_with_relatives_no_pr",  # E13
    "independent_living_supported",  # E5
    "independent_living_unsupported",  # E6
    "adult_social_care",  # E7
    "custody",  # E9
    "remand_ended",  # E14
    "age_assessment_18_plus",  # E15
    "staying_put_18",  # E17: aged 18, remained with current carers
    "turned_18_other",  # E8 as DfE counts it: "any other reason", mostly the 18th birthday
    "transferred_or_other",  # E3, E16, E2, E8 not at 18
    "censored",  # still looked after at the end of the run (not an exit)
)
EXIT_CODE = {name: i for i, name in enumerate(EXIT_ROUTES)}
DFE_EXIT_GROUP = {
    "adopted": "adopted",
    "sgo_former_foster_carer": "SGO to former foster carers",
    "sgo_other_carer": "SGO to other carers",
    "child_arrangements_order": "residence order / child arrangements order",
    "returned_home_planned": "returned home to parents/relatives - planned",
    "returned_home_unplanned": "returned home to parents/relatives - not planned",
    "lives_with_relatives_no_pr": "lives with parents/relatives without parental responsibility",
    "independent_living_supported": "independent living with supportive accommodation",
    "independent_living_unsupported": "independent living no formalised support",
    "adult_social_care": "transferred to adult residential care",
    "custody": "sentenced to custody",
    "remand_ended": "remand ended",
    "age_assessment_18_plus": "age assessment determined 18+",
    "staying_put_18": "care ceased for any other reason (mostly 18th birthday)",
    "turned_18_other": "care ceased for any other reason (mostly 18th birthday)",
    "transferred_or_other": "care ceased for any other reason (mostly 18th birthday)",
}
# Exits after which a child may come back into care (re-entry / order breakdown).
REENTRY_ROUTES = (
    "returned_home_planned",
    "returned_home_unplanned",
    "lives_with_relatives_no_pr",
    "sgo_former_foster_carer",
    "sgo_other_carer",
    "child_arrangements_order",
)

# DfE age bands (age in whole years at the date).
AGE_BANDS: tuple[str, ...] = ("under_1", "1_to_4", "5_to_9", "10_to_15", "16_to_17")
AGE_BAND_LOWER_YEARS = (0, 1, 5, 10, 16)
YEARS_OF_AGE = 18  # children are aged 0-17
# each band's ages in whole years: (first, last)
AGE_BAND_AGES = {band: (first, end - 1) for band, first, end
                 in zip(AGE_BANDS, AGE_BAND_LOWER_YEARS, AGE_BAND_LOWER_YEARS[1:] + (YEARS_OF_AGE,))}
AGE_BAND_LABEL = {
    "under_1": "under 1",
    "1_to_4": "1 to 4",
    "5_to_9": "5 to 9",
    "10_to_15": "10 to 15",
    "16_to_17": "16 and over",
}

# SSDA903 category of need (CIN codes).
NEEDS: tuple[str, ...] = (
    "N1_abuse_or_neglect",
    "N2_disability",
    "N3_parental_illness",
    "N4_acute_stress",
    "N5_family_dysfunction",
    "N6_socially_unacceptable_behaviour",
    "N7_low_income",
    "N8_absent_parenting",
)
NEED_CODE = {name: i for i, name in enumerate(NEEDS)}

# Parental factors the levers 1.2-1.4 act on.
PARENTAL_FACTORS: tuple[str, ...] = ("mental_health", "domestic_abuse", "substance_misuse")

DAYS_PER_YEAR = 365.25
DAYS_PER_52_WEEK_PLACEMENT = 364  # DOMAIN.md: placement-days / 364
