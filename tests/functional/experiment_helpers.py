"""A small experiment (two-year horizon) written into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import DEFAULT_CONFIG

LEVERS = {
    "fewer_teens": {"kind": "entry_reduction", "evidence": "plan-implied", "start_date": "2015-06-01",
                    "ramp_up_days": 90, "cohort": {"age_years": [10, 17]},
                    "effect": {"dist": "uniform", "low": 0.2, "high": 0.4}},
    "nothing": {"kind": "entry_reduction", "evidence": "plan-implied", "start_date": "2015-06-01",
                "effect": {"dist": "fixed", "value": 0.0}},
    "atc": {"kind": "edge_service", "evidence": "evidence", "start_date": "2015-07-01",
            "new_service": {"name": "alternatives_to_care", "eligible_age_years": [11, 17], "referral_share": 0.5,
                            "caseload_capacity": 15, "intervention_days": {"kind": "fixed", "days": 84},
                            "cost_per_case_gbp": 3600},
            "effect": {"dist": "beta", "alpha": 26.8, "beta": 35.2}},
    "cheaper_ifa": {"kind": "unit_cost", "evidence": "plan-implied", "start_date": "2016-01-01",
                    "cohort": {"placement_types": ["ifa_foster"]}, "effect": {"dist": "fixed", "value": 0.5}},
}


def write_experiment(folder: Path, levers=None, scenarios=None, years: int = 2, extra=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "council.yaml"
    cfg.write_text(yaml.safe_dump({"extends": str(DEFAULT_CONFIG), "horizon": {"end_date": f"{2015 + years}-03-31"}}))
    levers = LEVERS if levers is None else levers
    scenarios = scenarios or [{"name": "baseline"}] + [{"name": n, "levers": [n]} for n in levers] + \
        [{"name": "combined_plan", "levers": "all"}]
    doc = {"experiment": {"name": "small", "config": "council.yaml", "replications": 4, "seed": 11},
           "levers": levers, "scenarios": scenarios,
           "targets": [{"name": "LAC 2017 <= 600", "measure": "lac_children", "period": "2016-17", "at_most": 600},
                       {"name": "saving 2016-17", "measure": "spend_gbp_saving", "period": "2016-17", "at_least": 1}]}
    doc.update(extra or {})
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
