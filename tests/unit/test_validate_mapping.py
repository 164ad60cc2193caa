"""The published-quantity -> model-measure mapping, and how figures are matched to it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carejourney.config import parse_config
from carejourney.runner import run_replications
from carejourney.validate.compare import compare_annual, match_figures
from carejourney.validate.figures import figures_from_frame
from carejourney.validate.mapping import (
    MAPPING,
    NO_ROW_REASON,
    reason_not_compared,
    row_for,
)
from tests.conftest import small_dict

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "published_figures.csv"
START, END = dt.date(2015, 4, 1), dt.date(2016, 3, 31)


@pytest.fixture(scope="module")
def annual():
    # three years: adoption waits are given only from a year starting two years into the run
    cfg = parse_config(small_dict(3), "three years")
    return run_replications(cfg, 1, 3).annual


def figures(rows):
    cols = ["quantity", "geography", "period", "value", "unit", "source_title", "source_address", "note"]
    return figures_from_frame(pd.DataFrame([dict(zip(cols, r + ("",) * (8 - len(r)))) for r in rows], dtype=str))


def test_every_mapped_row_names_cells_of_a_real_run(annual):
    cells = set(zip(annual["measure"], annual["breakdown"], annual["category"]))
    compared = [r for r in MAPPING if r.compared]
    assert len(compared) >= 60
    for row in compared:
        for c in row.categories:
            assert (row.measure, row.breakdown, c) in cells, f"{row.quantity!r}: no cell {row.measure}/{row.breakdown}/{c}"


def test_rows_are_unique_and_not_compared_rows_say_why():
    names = [r.quantity.lower() for r in MAPPING]
    assert len(names) == len(set(names))
    for r in MAPPING:
        if not r.compared:
            assert r.note, r.quantity
        if r.parts:
            assert r.compared and len(r.parts) >= 2


def test_required_quantities_are_mapped():
    expect = {
        "CLA at 31 March": ("lac_children", "total"),
        "CLA rate per 10,000 children under 18": ("lac_rate_per_10000", "total"),
        "CLA at 31 March by age: under 1": ("lac_children", "age_band"),
        "CLA at 31 March by age: 16 and over": ("lac_children", "age_band"),
        "CLA at 31 March by legal status: voluntary agreement (s20)": ("lac_children", "legal_status"),
        "CLA at 31 March by placement: foster placements": ("lac_children", "placement_type"),
        "CLA at 31 March by placement: residential schools": ("lac_children", "placement_type"),
        "CLA at 31 March by placement: other placements": ("lac_children", "placement_type"),
        "CLA at 31 March by placement provider: LA's own provision": ("lac_children", "placement_type"),
        "CLA at 31 March placed inside LA boundary": ("lac_children", "location"),
        "CLA at 31 March who were UASC": ("lac_children", "uasc"),
        "Children starting to be looked after during year": ("starts_children", "total"),
        "Starts by age on starting: 10 to 15": ("starts_children", "age_band"),
        "Starts by legal status on starting: interim care order": ("starts_children", "legal_status"),
        "Children ceasing to be looked after during year": ("ceased_children", "total"),
        "Ceased by reason: SGO to other carers": ("ceased_children", "exit_route"),
        "Ceased by age on ceasing: 5 to 9": ("ceased_children", "age_band"),
    }
    for q, (m, b) in expect.items():
        row = row_for(q)
        assert row is not None and (row.measure, row.breakdown) == (m, b), q
    foster = row_for("CLA at 31 March by placement: foster placements")
    assert set(foster.categories) == {"kinship_foster", "inhouse_foster", "concurrent_foster_to_adopt", "ifa_foster"}


def test_every_quantity_in_the_shared_data_has_a_decision():
    if not SHARED.exists():
        pytest.skip(f"{SHARED} not present")
    raw = pd.read_csv(SHARED, dtype=str, keep_default_na=False)
    for q, unit in zip(raw["quantity"], raw["unit"]):
        base = q.removesuffix(" (revised series)")
        row = row_for(base)
        if row is None or not row.compared:
            assert reason_not_compared(base, unit) != NO_ROW_REASON, q


def test_adopted_rows_are_summed_and_partial_sums_say_so():
    f = figures([("Ceased by reason: adopted - application unopposed", "X", "2016", "33", "children"),
                 ("Ceased by reason: adopted - consent dispensed with", "X", "2016", "7", "children"),
                 ("Ceased by reason: adopted - application unopposed", "X", "2017", "30", "children")])
    targets, skipped = match_figures(f)
    by_year = {t["period"]: t for t in targets}
    assert by_year["2016"]["observed"] == 40 and by_year["2017"]["observed"] == 30
    assert by_year["2016"]["row"].categories == ("adopted",)
    assert not any("partial" in n for n in by_year["2016"]["notes"])
    assert any("partial" in n and "consent dispensed" in n for n in by_year["2017"]["notes"])
    assert len(skipped) == 3 and all("compared as part of" in s["note"] for s in skipped)


def test_periods_map_to_financial_years_and_outside_years_are_listed(annual):
    f = figures([("CLA at 31 March", "X", "2016", "600", "children"),
                 ("CLA at 31 March", "X", "2015", "535", "children"),
                 ("Children starting to be looked after during year", "X", "2016", "340", "children"),
                 ("Children starting to be looked after during year", "X", "2017", "350", "children"),
                 ("Starts by category of need: abuse or neglect", "X", "2016", "219", "children"),
                 ("Weekly unit cost: LA own foster care services", "X", "c.2005", "234", "GBP per week")])
    t = compare_annual(annual, f, "X", START, END)
    got = {(q, p): r for q, p, r in zip(t["quantity"], t["period"], t.to_dict("records"))}
    stock16 = got[("CLA at 31 March", "2016")]
    assert stock16["status"] == "compared" and stock16["model_period"] == "2015-16"
    lac = annual[(annual.measure == "lac_children") & (annual.breakdown == "total") & (annual.period == "2015-16")]
    assert stock16["sim_median"] == pytest.approx(float(lac["value"].iloc[0]))
    assert "opening stock is an input" in got[("CLA at 31 March", "2015")]["note"]
    assert "after the run ends" in got[("Children starting to be looked after during year", "2017")]["note"]
    need = got[("Starts by category of need: abuse or neglect", "2016")]
    assert need["status"] == "compared" and need["measure"].startswith("starts_children")
    assert "cost" in got[("Weekly unit cost: LA own foster care services", "c.2005")]["note"]
    assert (t["status"] == "not compared").sum() == 3


def test_rounded_national_counts_widen_the_interval():
    annual = pd.DataFrame({"replication": np.arange(20), "period": "2015-16", "measure": "lac_children",
                           "breakdown": "total", "category": "all", "value": np.linspace(100, 119, 20)})
    # 5%-95% quantiles are 100.95 and 118.05
    f = figures([("CLA at 31 March", "England", "2016", "120", "children"),
                 ("CLA at 31 March", "Cambridgeshire", "2016", "120", "children")])
    eng = compare_annual(annual, f, "England", START, END)
    cam = compare_annual(annual, f, "Cambridgeshire", START, END)
    assert bool(eng.loc[0, "inside"]) and "rounded to the nearest 10" in eng.loc[0, "note"]
    assert not bool(cam.loc[0, "inside"])
    assert cam.loc[0, "sim_q05"] == pytest.approx(100.95) and cam.loc[0, "sim_q95"] == pytest.approx(118.05)


def test_unknown_geography_is_an_error():
    from carejourney.validate.figures import FiguresError
    f = figures([("CLA at 31 March", "Cambridgeshire", "2016", "600", "children")])
    with pytest.raises(FiguresError, match="Cambridgeshire"):
        compare_annual(pd.DataFrame(columns=["replication", "period", "measure", "breakdown", "category", "value"]),
                       f, "Narnia", START, END)


@pytest.mark.parametrize("value, shown", [
    (148.5, "148.5"), (182.5, "182.5"),  # QA: medians of 40 runs printed 148 and 182 (halves to even)
    (130.25, "130"), (130.75, "131"), (606.0, "606"), (70456.3, "70,456"), (43.925, "43.9"), (9.0, "9"),
])
def test_compare_shows_halves_and_rounds_the_rest_half_up(value, shown):
    from carejourney.validate.compare import _fmt

    assert _fmt(value) == shown


def test_an_outside_figure_never_reads_as_inside():
    """Rounded to whole children, 162.05 to 162.95 would show 162 to 163 around an observed 162
    marked NO (QA): such ends are shown with two decimals; other rows keep the usual rounding."""
    import pandas as pd

    from carejourney.validate.compare import format_comparison
    table = pd.DataFrame([
        {"quantity": "ceased", "period": "2015", "observed": 162.0, "sim_q05": 162.05, "sim_median": 162.5,
         "sim_q95": 162.95, "inside": False, "status": "compared", "note": ""},
        {"quantity": "started", "period": "2015", "observed": 300.0, "sim_q05": 280.4, "sim_median": 301.0,
         "sim_q95": 320.6, "inside": True, "status": "compared", "note": ""},
    ])
    text = format_comparison(table)
    ceased = next(line for line in text.splitlines() if line.startswith("ceased"))
    assert "162.05" in ceased and "162.95" in ceased and ceased.endswith("NO")
    started = next(line for line in text.splitlines() if line.startswith("started"))
    assert " 280 " in started and " 321 " in started
