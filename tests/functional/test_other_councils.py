"""Councils other than Cambridgeshire: each bundled config loads, passes `check`, and runs
one short replication in which every child is accounted for."""

from __future__ import annotations

import pytest
import yaml

from carejourney.cli import main
from carejourney.config.loader import load_config
from tests.conftest import ROOT
from tests.functional.helpers import run


def _two_year_dict(tmp_path, name: str) -> dict:
    """The council's config over two years: a small file that `extends:` it (as
    experiment_helpers.write_experiment does), read back with `extends:` resolved."""
    from carejourney.config.loader import read_config_data

    path = tmp_path / f"{name}-2y.yaml"
    path.write_text(yaml.safe_dump({"extends": str(ROOT / "configs" / f"{name}.yaml"),
                                    "horizon": {"end_date": "2017-03-31"}}))
    return read_config_data(path)


def _check_accounting(cfg, res):
    ev = res.events
    children, periods, edge = ev["children"], ev["care_periods"], ev["edge_of_care"]
    assert children.child_id.is_unique
    # every child who reached the edge of care has exactly one recorded outcome
    assert sorted(edge.child_id) == sorted(children[children.source == "edge_of_care"].child_id)
    home = edge[edge.outcome.isin(["stayed_home", "diverted"])].child_id
    assert not periods.child_id.isin(home).any()
    # every opening child is there, with a first period that started before the run
    opening = children[children.source == "opening"].child_id
    assert len(opening) == sum(cfg.opening.age_band_counts.values())
    first = periods[periods.period == 1].set_index("child_id")
    assert first.loc[opening, "start_day"].lt(0).all()
    # every child who entered care has a period, each period ends once (or is open at the horizon)
    assert periods.child_id.isin(children.child_id).all()
    p = periods.sort_values(["child_id", "period"])
    same = p.child_id.eq(p.child_id.shift())
    assert (p.start_day[same] >= p.end_day.shift()[same]).all()
    assert (periods.exit_route == "censored").sum() == periods.end_day.isna().sum()


COUNCILS = [  # config, geography, children looked after at 31 March 2015, population 0-17 in 2015
    ("wiltshire-2015", "Wiltshire", 406, 104103),
    ("buckinghamshire-2015", "Buckinghamshire", 436, 117568),
]


@pytest.mark.parametrize("name,geography,opening,population", COUNCILS)
def test_council_config_loads_and_passes_check(capsys, name, geography, opening, population):
    path = ROOT / "configs" / f"{name}.yaml"
    cfg = load_config(path)
    assert cfg.meta.geography == geography
    assert sum(cfg.opening.age_band_counts.values()) == opening
    assert sum(cfg.opening.legal_status_counts.values()) == opening
    assert sum(cfg.opening.placement_type_counts.values()) == opening
    # nothing of Cambridgeshire's population years leaks through `extends:`
    assert set(cfg.population.children_0_17_by_year) == {2015, 2016}
    assert cfg.population.children_0_17_by_year[2015] == pytest.approx(population)
    assert main(["check", str(path)]) == 0
    assert "OK" in capsys.readouterr().out


@pytest.mark.parametrize("name", [c[0] for c in COUNCILS])
def test_council_short_run_accounts_for_every_child(tmp_path, name):
    cfg, res = run(_two_year_dict(tmp_path, name), seed=5)
    assert str(cfg.horizon.end_date) == "2017-03-31"
    _check_accounting(cfg, res)
