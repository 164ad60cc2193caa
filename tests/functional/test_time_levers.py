"""Time levers reach children already in care: the clock runs faster from the lever's
start, whenever it was drawn (model/warp.py).

A known answer with fixed durations, the opening stock going home sooner, and nothing at
all changing before a lever starts.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from carejourney.config import parse_config
from carejourney.levers import ActiveLever, Lever, LeverModifiers
from carejourney.model.legal import PO
from carejourney.model.system import CareSystem
from carejourney.vocab import AGE_BANDS, EXIT_CODE, PLACEMENT_TYPES
from tests.conftest import small_dict, with_changes
from tests.functional.helpers import littles_law_dict, run

HOME_DAYS, PROTECTION_DAYS, LEVER_DAY, SPEED = 30.0, 3.0, 100.0, 0.5


def _lever(cfg, kind: str, day: float, effect: float, ramp: float = 0.0, **kw) -> ActiveLever:
    start = cfg.horizon.start_date
    spec = Lever(kind=kind, evidence="evidence", start_date=start + dt.timedelta(days=day),
                 ramp_up_days=ramp, effect={"dist": "fixed", "value": effect}, **kw)
    return ActiveLever(kind, spec, effect, start)


def _quicker_home(cfg, day: float, effect: float, ramp: float = 0.0) -> LeverModifiers:
    return LeverModifiers(cfg, [_lever(cfg, "exit_speed", day, effect, ramp, route="returned_home")])


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


def _before(log, day: float) -> dict:
    """What the log says happened before `day`: closed periods, placements and legal
    statuses that ended before it, and every period and placement begun before it."""
    return {"periods_ended": sorted(r for r in log.periods if r[3] < day),
            "placements_ended": sorted(r for r in log.placements if r[3] < day),
            "legal_ended": sorted(r for r in log.legal if r[3] < day),
            "periods_begun": sorted(r[:3] for r in log.periods if r[2] < day),
            "placements_begun": sorted(r[:3] for r in log.placements if r[2] < day)}


@pytest.mark.parametrize("levers", [
    [("exit_speed", 0.3, {"route": "returned_home"})],
    [("exit_speed", 0.3, {"route": "adopted"})],
    [("exit_speed", 0.5, {"route": "sgo"}), ("exit_speed", 2.0, {"route": "independent_living"})],
    [("placement_stability", 0.6, {}), ("high_cost_review", 0.4,
                                        {"cohort": {"placement_types": ["external_childrens_home"]}})],
])
def test_nothing_changes_before_a_time_lever_starts(levers):
    """A lever cannot reach back: until its start the run is the baseline's, event for event,
    although clocks drawn before the start and due after it run at the lever's speed (a
    different exit route winning later must not shift the child's earlier draws)."""
    cfg = parse_config(small_dict(), "small")
    day = 400.0
    mods = LeverModifiers(cfg, [_lever(cfg, kind, day, effect, 90.0, **kw) for kind, effect, kw in levers])
    for rep in range(3):
        base = CareSystem(cfg, 9, rep).run()
        lever = CareSystem(cfg, 9, rep, mods=mods).run()
        assert _before(lever, day) == _before(base, day)
        assert _before(lever, day + 200) != _before(base, day + 200)  # and it does act after


def test_an_adoption_lever_finds_families_sooner():
    """QA: `exit_speed` on adoption (lever 5.2, "scorecard 14 then 12 months") shortened only
    placement with adopters to the order, so the scorecard's time from a placement order to
    placement with adopters never moved. Family finding now runs on the same lever clock."""
    cfg = parse_config(small_dict(3), "small")
    mods = LeverModifiers(cfg, [_lever(cfg, "exit_speed", 0.0, 0.5, route="adopted")])
    pfa = PLACEMENT_TYPES.index("placed_for_adoption")
    means = []
    for m in (None, mods):
        waits = []
        for rep in range(3):
            log = CareSystem(cfg, 2, rep, **({"mods": m} if m else {})).run()
            po = {(c, p): start for c, p, start, _, status in log.legal if status == PO and start >= 0}
            waits += [start - po[(c, p)] for c, p, start, _, ptype, *_ in log.placements
                      if ptype == pfa and (c, p) in po]
        assert len(waits) > 20
        means.append(np.mean(waits))
    base, lever = means
    assert lever < 0.9 * base, means
