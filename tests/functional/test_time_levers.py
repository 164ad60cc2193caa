"""Time levers reach children already in care: the clock runs faster from the lever's
start, whenever it was drawn (model/warp.py).

A known answer with fixed durations, and the opening stock going home sooner.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from carejourney.config import parse_config
from carejourney.levers import ActiveLever, Lever, LeverModifiers
from carejourney.model.system import CareSystem
from carejourney.vocab import AGE_BANDS, EXIT_CODE
from tests.conftest import small_dict, with_changes
from tests.functional.helpers import littles_law_dict, run

HOME_DAYS, PROTECTION_DAYS, LEVER_DAY, SPEED = 30.0, 3.0, 100.0, 0.5


def _quicker_home(cfg, day: float, effect: float, ramp: float = 0.0) -> LeverModifiers:
    start = cfg.horizon.start_date
    spec = Lever(kind="exit_speed", evidence="evidence", route="returned_home",
                 start_date=start + dt.timedelta(days=day), ramp_up_days=ramp,
                 effect={"dist": "fixed", "value": effect})
    return LeverModifiers(cfg, [ActiveLever("quicker_home", spec, effect, start)])


def test_a_stay_straddling_the_start_is_quickened_only_after_it():
    """Babies enter in an emergency, go on to s20 after 3 days and go home exactly 30 days
    later. From day 100 time to go home is halved: a stay that began at day 80 runs 20 days
    at the old speed, then its last 10 drawn days take 5."""
    d = with_changes(littles_law_dict(rate_per_day=2.0, stay_days=PROTECTION_DAYS, years=1), {
        "legal.after_police_protection": {"s20": 1.0},
        "legal.s20_proceedings_probability_by_age_band": {b: 0.0 for b in AGE_BANDS},
        "exits.returned_home.days": {"kind": "fixed", "days": HOME_DAYS},
        "exits.returned_home.multiplier_by_age_band": {b: 1.0 for b in AGE_BANDS},
        "exits.other.days": {"kind": "fixed", "days": 1e6},
    })
    cfg = parse_config(d, "test")
    _, res = run(d, mods=_quicker_home(cfg, LEVER_DAY, SPEED))
    p = res.events["care_periods"]
    home = p[p.exit_route.isin(["returned_home_planned", "returned_home_unplanned"])]
    assert len(home) == len(p[p.end_day.notna()]) > 300
    s20_from = home.start_day.to_numpy() + PROTECTION_DAYS
    before = np.minimum(np.maximum(LEVER_DAY - s20_from, 0.0), HOME_DAYS)  # drawn days at the old speed
    expected = s20_from + before + (HOME_DAYS - before) * SPEED
    np.testing.assert_allclose(home.end_day.to_numpy(), expected, atol=1e-9)
    # all three cases occur: wholly before, straddling, wholly after
    assert (s20_from + HOME_DAYS <= LEVER_DAY).any() and (s20_from >= LEVER_DAY).any()
    assert ((s20_from < LEVER_DAY) & (s20_from + HOME_DAYS > LEVER_DAY)).sum() >= 10


def test_children_in_care_at_the_start_go_home_sooner():
    """The plan's 5.1 counts on children already looked after: with time to go home halved
    from day 60, clearly more of the opening stock goes home in the first year, in every
    replication (drawing the clock only after the start changed almost nothing)."""
    cfg = parse_config(small_dict(), "small")
    home = {c for r, c in EXIT_CODE.items() if r.startswith("returned_home")}
    for rep in range(3):
        counts = []
        for mods in (None, _quicker_home(cfg, 60.0, 0.5)):
            log = CareSystem(cfg, 5, rep, **({"mods": mods} if mods else {})).run()
            counts.append(sum(1 for _, _, start, end, _, route in log.periods
                              if start < 0 and route in home and end < 365))
        base, lever = counts
        assert base > 30
        assert lever >= 1.25 * base, counts
