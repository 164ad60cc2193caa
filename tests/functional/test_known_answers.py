"""Cases with a known answer: fixed stays, and Little's law for the mean stock."""

import numpy as np
import pytest

from tests.functional.helpers import littles_law_dict, run


def test_fixed_stays_give_exactly_that_duration():
    _, res = run(littles_law_dict(rate_per_day=2.0, stay_days=17.0, years=1))
    p = res.events["care_periods"]
    closed = p[p.end_day.notna()]
    assert len(closed) > 500
    assert np.allclose(closed.end_day - closed.start_day, 17.0)
    assert (closed.exit_route.isin(["returned_home_planned", "returned_home_unplanned"])).all()


def test_mean_stock_is_arrival_rate_times_stay():
    rate, stay = 5.0, 10.0
    stocks = []
    for rep in range(3):
        _, res = run(littles_law_dict(rate, stay, years=2), seed=10, rep=rep)
        m = res.monthly
        s = m[(m.measure == "lac_children") & (m.breakdown == "total")].value.to_numpy()
        stocks.extend(s[1:])  # skip the first month-end only to be safe: stays are 10 days
    mean = float(np.mean(stocks))
    expected = rate * stay
    # month-end snapshots 10-day stays apart are independent Poisson(50) counts
    tolerance = 4 * np.sqrt(expected / len(stocks))
    assert mean == pytest.approx(expected, abs=tolerance)


def test_fixed_arrival_envelope_keeps_common_random_numbers_across_rates():
    """With a fixed envelope (what `fit` sets), raising a referral rate only adds
    edge-of-care children: everyone who arrived at the lower rate arrives at the higher."""
    from tests.conftest import small_dict, with_changes
    base = small_dict(1)
    rates = base["demand"]["referrals"]["per_year_by_age_band"]
    envelope = {b: 2 * v for b, v in rates.items()}
    ids = []
    for scale in (1.0, 1.3):
        d = with_changes(base, {"demand.referrals.envelope_per_year_by_age_band": envelope,
                                "demand.referrals.per_year_by_age_band": {b: v * scale for b, v in rates.items()}})
        _, res = run(d, seed=3)
        ids.append(set(res.events["edge_of_care"].child_id))
    assert ids[0] < ids[1]
