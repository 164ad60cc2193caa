"""Helpers for whole-run tests: run a config dict, and a Little's-law config."""

from __future__ import annotations

from carejourney.config import parse_config
from carejourney.runner import run_replication
from carejourney.vocab import AGE_BANDS, PLACEMENT_TYPES
from tests.conftest import small_dict, with_changes


def run(d: dict, seed=1, rep=0, **kw):
    cfg = parse_config(d, "test")
    return cfg, run_replication(cfg, seed, rep, keep_events=True, **kw)


def littles_law_dict(rate_per_day: float, stay_days: float, years: int = 2) -> dict:
    """Babies arrive as a Poisson stream, all enter care at once, and each stays exactly
    `stay_days` (police protection ending in a return home), with no moves and no re-entry."""
    d = small_dict(years)
    zero_bands = {b: 0 for b in AGE_BANDS}
    changes = {
        "opening.age_band_counts": zero_bands,
        "opening.legal_status_counts": {"s20": 0},
        "opening.placement_type_counts": {"ifa_foster": 0},
        "opening.uasc_count": 0,
        "demand.uasc.periods": [],
        "demand.referrals.per_year_by_age_band": {**zero_bands, "under_1": rate_per_day * 365.25},
        "demand.referrals.early_help_share": 0.0,
        "demand.referrals.edge_of_care_probability_without_early_help": 1.0,
        "demand.referrals.trend_per_year": 0.0,
        "edge_of_care.emergency_share_by_age_band": {b: 1.0 for b in AGE_BANDS},
        "edge_of_care.services": [],
        "legal.police_protection_days": {"kind": "fixed", "days": stay_days},
        "legal.after_police_protection": {"returned_home": 1.0},
        "exits.reentry_after_return_home.probability": 0.0,
    }
    for p in PLACEMENT_TYPES:
        changes[f"placements.types.{p}.days_to_move"] = None
    return with_changes(d, changes)
