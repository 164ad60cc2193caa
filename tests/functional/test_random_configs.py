"""Hypothesis generates valid configs nobody thought of; the run's invariants must hold."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carejourney.vocab import AGE_BANDS
from tests.conftest import small_dict, with_changes
from tests.functional.helpers import run


def _mix(draw, keys):
    w = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=len(keys), max_size=len(keys))))
    w = np.round(w / w.sum(), 6)
    w[-1] = round(1.0 - w[:-1].sum(), 6)
    return dict(zip(keys, w.tolist()))


@st.composite
def configs(draw):
    d = small_dict(draw(st.integers(1, 2)))
    scale = draw(st.floats(0.2, 2.5))
    rates = {b: v * scale for b, v in d["demand"]["referrals"]["per_year_by_age_band"].items()}
    changes = {
        "demand.referrals.per_year_by_age_band": rates,
        "demand.referrals.early_help_share": draw(st.floats(0, 1)),
        "demand.referrals.trend_per_year": draw(st.floats(-0.1, 0.2)),
        "edge_of_care.entry_probability_without_service": draw(st.floats(0, 1)),
        "edge_of_care.emergency_share_by_age_band": {b: draw(st.floats(0, 0.5)) for b in AGE_BANDS},
        "edge_of_care.services.0.caseload_capacity": draw(st.integers(0, 40)),
        "edge_of_care.services.0.success_probability": draw(st.floats(0, 1)),
        "placements.capacity.inhouse_foster.initial_places": draw(st.integers(0, 250)),
        "placements.capacity.inhouse_foster.match_probability_per_vacancy": draw(st.floats(0.01, 1)),
        "placements.capacity.inhouse_foster.attrition_per_year": draw(st.floats(0, 0.5)),
        "placements.capacity.inhouse_childrens_home.initial_places": draw(st.integers(0, 30)),
        "legal.proceedings_days": {"kind": "lognormal", "mean_days": draw(st.floats(60, 600)),
                                   "sd_days": draw(st.floats(10, 300))},
        "legal.after_police_protection": _mix(draw, ["s20", "interim_care_order", "returned_home"]),
        "exits.returned_home.days": {"kind": "weibull", "shape": draw(st.floats(0.5, 3)),
                                     "scale_days": draw(st.floats(100, 3000))},
        "exits.reentry_after_return_home.probability": draw(st.floats(0, 0.9)),
        "exits.adoption.adopter_approvals_per_year": draw(st.floats(0, 100)),
        "exits.at_18.staying_put_share_from_foster": draw(st.floats(0, 1)),
    }
    return with_changes(d, changes), draw(st.integers(0, 2**31))


@given(configs())
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_invariants_hold_for_any_valid_config(case):
    d, seed = case
    cfg, res = run(d, seed=seed)
    ev, a = res.events, res.annual
    # conservation of the stock, year by year
    lac = a[(a.measure == "lac_children") & (a.breakdown == "total")].value.to_numpy()
    starts = a[a.measure == "care_period_starts"].value.to_numpy()
    ends = a[a.measure == "care_period_ends"].value.to_numpy()
    opening = sum(cfg.opening.age_band_counts.values())
    assert np.array_equal(lac, opening + np.cumsum(starts - ends))
    # capacity never exceeded
    cap = ev["capacity"]
    assert (cap.occupied <= cap.places).all()
    # nobody looked after past 18 (within a day of the calendar birthday)
    p = ev["care_periods"].merge(ev["children"][["child_id", "dob_day"]], on="child_id")
    end = p.end_day.fillna(-np.inf)
    assert (end <= p.dob_day + 18 * 365.25 + 1.5).all()
    # durations are never negative; every period has a placement
    assert (ev["placements"].end_day.fillna(np.inf) >= ev["placements"].start_day).all()
    keys = set(zip(ev["placements"].child_id, ev["placements"].period))
    assert set(zip(p.child_id, p.period)) <= keys
