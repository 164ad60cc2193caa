"""estimate_config: a complete config estimated from cleaned SSDA903 episodes.

    from carejourney.ssda903 import read_ssda903, clean
    from carejourney.calibrate import estimate_config, write_calibrated_config
    cfg, report = estimate_config(clean(read_ssda903("returns/")), start=date(2016, 4, 1))
    write_calibrated_config(cfg, report, "configs/calibrated.yaml")
    # + calibrated.estimation.md and its fit plots in calibrated.estimation/

Start from a template config (default: the bundled Cambridgeshire config) and replace what
the episodes inform; costs, capacity, edge-of-care services, population and the other parts
SSDA903 cannot inform stay as in the template and are listed in the report. The methods, in
the order of the config (every choice and caveat is also written into the report's notes):

- opening: children looked after on the day before `start`, counted exactly (estimate_opening).
- placement types' ages: the template's, widened to the ages at which the data place children
  (estimate_type_ages: under-16s in semi-independent living, common before 2021).
- exit routes: cause-specific constant hazards by legal status x age band, by Poisson
  regression (piecewise-exponential survival) on days at risk inside the window, with
  right-censoring of open spells and delayed entry of spells begun before it. An exit while
  on an interim care order can be the proceedings' outcome or the return-home hazard: EM
  splits them (estimate_exit_hazards, estimate_proceedings).
- placement moves: Weibull (or exponential, by AIC) time to a move per placement type with a
  shared age-band multiplier, from spells begun inside the window (estimate_placements).
- legal: entry status mixes; proceedings length (lognormal) and outcomes; s20 -> proceedings
  and re-entry as cure models (a probability, then an exponential delay) (estimate_legal,
  estimate_proceedings, estimate_exits; exit shares and adoption are in estimate_exits too).
- demand: first entries a year by age band (log-linear Poisson with a trend) turned into
  referrals through the template's own edge-of-care conversion (estimate_arrivals, with the
  formulas in estimate_demand); UASC arrivals over the run, observed where the data cover it
  (estimate_arrivals).

The episodes are prepared as spells at risk in estimate_data, the censored MLEs and
regressions are in estimate_fit, and every part writes the config and the report through
an EstimateRecorder (estimate_recorder). This module runs the parts in order and writes
the result (write_calibrated_config).

The report's fit plots (estimate_plots) set the data beside each fitted model: Kaplan-Meier vs
fitted time to move and proceedings length, observed vs fitted exit rates by legal status x
age band, yearly entries vs the fitted trend, and the opening stock.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

from ..config import parse_config
from ..config.schema import draw_refused
from ..results import errors_naming, written_by
from ..ssda903.report import cleaning_csv
from ..uncertainty import get_path, truncated_to_field
from .estimate_arrivals import (
    estimate_demand_from_entries,
    estimate_uasc,
    estimate_uasc_arrivals,
)
from .estimate_data import HAZARD_ROUTES, missing_years, to_date
from .estimate_exits import (
    estimate_adoption,
    estimate_exit_shares_and_at_18,
    estimate_reentry,
)
from .estimate_legal import (
    estimate_legal_entry,
    estimate_police_protection_and_remand,
    estimate_s20_proceedings,
)
from .estimate_opening import estimate_opening
from .estimate_placements import estimate_placements
from .estimate_plots import draw_fit_plots
from .estimate_population import POPULATION_PATH, estimate_population
from .estimate_proceedings import estimate_proceedings_and_exit_routes
from .estimate_recorder import MIN_MIX, EstimateRecorder, plain
from .estimate_report import AtomicWrite, EstimationReport, render_yaml
from .estimate_type_ages import estimate_type_ages

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "configs" / "cambridgeshire-2015.yaml"


def load_template(path: str | Path | None = None) -> dict:
    from ..config.loader import read_config_data

    return read_config_data(path or DEFAULT_TEMPLATE)


def estimate_config(cleaned, start: dt.date, template: dict | None = None, years=None,
                    sources: list[str] | None = None) -> tuple[dict, EstimationReport]:
    """(config dict, report) estimated from `cleaned` (carejourney.ssda903.Cleaned).

    `start`: the config's start date; the opening stock is the children looked after on the
    day before, which must lie inside the data's window. `years`: collection years to use
    (e.g. "2014-2016" or (2014, 2016); default all in the data). `template`: a config dict
    (default the bundled cambridgeshire-2015.yaml) supplying what SSDA903 cannot inform.
    The returned dict validates with carejourney.config.parse_config.
    """
    tmpl = copy.deepcopy(template) if template is not None else load_template()
    tmpl.pop("extends", None)
    est = EstimateRecorder(cleaned, to_date(start), tmpl, years, sources)
    missing = missing_years(cleaned, years)
    if missing:
        est.note(f"Collection year(s) {', '.join(map(str, missing))} were asked for ({years}) but the data has no "
                 f"return for them; the estimates use {est.window.label()}.")
    return _run(est)


# The first line of every config calibrate writes starts with CONFIG_FIRST_LINE, and of its report
# with REPORT_FIRST_LINE (the cleaning report's is ssda903.report.CLEANING_CSV_HEADER): `calibrate`
# replaces an existing --out file (or report) only when it starts so, i.e. it wrote it itself
# (results.check_own_out_file).
CONFIG_FIRST_LINE = "# Estimated by carejourney calibrate from SSDA903 episodes"
REPORT_FIRST_LINE = "# Calibration report"


def write_calibrated_config(config: dict, report: EstimationReport, out: str | Path,
                            report_path: str | Path | None = None, cleaning=None) -> tuple[Path, Path]:
    """Validate, then write the YAML config, `<out stem>.estimation.md` and its fit plots.

    The plots are PNGs in a folder named after the report without `.md` (`<out stem>.estimation/`),
    linked from the report's "Fit plots" section. `cleaning`, if given (Cleaned.report), is written
    as `cleaning_file(out)`: every row cleaning removed, changed or flagged. All are staged beside
    their targets and put in place together (see AtomicWrite): on any failure none of them is
    written or changed. Returns (config path, report path); the plot folder is
    `chart_folder(report path)`.
    """
    parse_config(config, str(out))
    out = Path(out)
    report_path = Path(report_path) if report_path else report_file(out)
    charts = chart_folder(report_path)
    header = [
        f"{CONFIG_FIRST_LINE[2:]}, {report.window}.",
        f"Files: {', '.join(report.sources) if report.sources else '(not recorded)'}",
        f"Start date {report.start}; opening stock = children looked after on the day before.",
        f"Template for what SSDA903 cannot inform (costs, capacity, services, population ...): {report.template}",
        f"Every estimated value, its 90% interval, events, exposure and method: {report_path.name}",
        "Uncertain estimates are listed under `uncertainty:` and drawn afresh in each replication.",
    ]
    text = render_yaml(config, report, header)
    _check_chart_folder(charts, report_path)
    # a full disk's OSError names no file (QA21: "error: No space left on device"): name the config
    with errors_naming(out), AtomicWrite() as w:
        plots = draw_fit_plots(report.fit_data, w.folder(charts))
        w.text(report_path, report.to_markdown(plots, charts.name))
        if cleaning is not None:
            w.text(cleaning_file(out), cleaning_csv(cleaning))
        w.text(out, text)  # last: a config in place means the report and plots are too
        w.commit()
    return out, report_path


def _check_chart_folder(charts: Path, report_path: Path) -> None:
    """An existing chart folder with anything in it is a previous run's only if calibrate's
    report is beside it: else it is someone's folder of pictures, and is left alone."""
    if not charts.is_dir() or charts.is_symlink() or not any(charts.iterdir()):
        return  # nothing to lose (AtomicWrite.folder refuses a file or a link there)
    try:
        ours = written_by(report_path, REPORT_FIRST_LINE)
    except OSError:
        ours = False
    if not ours:
        raise ValueError(f"{charts}: exists and was not written by carejourney calibrate (no calibrate report "
                         f"{report_path.name} beside it); refusing to replace it: choose another --out or remove it")


def report_file(out: str | Path) -> Path:
    """The estimation report beside config `out`: its stem + `.estimation.md`."""
    out = Path(out)
    return out.with_name(out.stem + ".estimation.md")


def cleaning_file(out: str | Path) -> Path:
    """The cleaning report beside config `out`: its stem + `.cleaning.csv`."""
    out = Path(out)
    return out.with_name(out.stem + ".cleaning.csv")


def chart_folder(report_path: str | Path) -> Path:
    """The folder of the report's fit plots: beside it, named as it without `.md`."""
    p = Path(report_path)
    return p.with_name(p.name[:-3] if p.name.endswith(".md") else p.name + ".charts")


def _run(est: EstimateRecorder) -> tuple[dict, EstimationReport]:
    """Every part in the order of the config; the report's rows and notes follow it."""
    d = est.d
    pe = d.periods
    est.report.data_summary.update({
        "children": int(d.children.shape[0]),
        "periods": len(pe),
        "episodes": len(est.cleaned.episodes),
        "periods_started_in_window": int(pe["in_window_start"].sum()),
        "periods_ended_in_window": int(pe["ended"].sum()),
    })
    est.note("Mixes (dicts summing to 1: placement, legal status, need and outcome mixes) are point "
             "estimates without uncertainty entries; a mix by age band or placement is replaced only "
             f"with at least {MIN_MIX} cases, else the template's is kept. Scalars estimated from counts "
             "carry uncertainty entries: hazard-based means and multipliers lognormal(median, SE of the "
             "log), proportions Beta.")
    est.note("Privacy: the config and this report hold aggregates only (no child identifier, date of "
             "birth or single child's dates; time-in-care quantiles are rounded to weeks). Counts of 1-4 "
             "printed per cell here are shown as <5; shares of small groups are not suppressed "
             "(secondary suppression is not done).")
    est.note("Observation window: whole collection years. Spells begun before the window enter "
             "it late (delayed entry: only days inside the window count); spells still open at its "
             "end are right-censored. Exits on or after the 18th birthday are the model's at-18 step "
             "and censor every other route.")
    estimate_opening(est)
    estimate_type_ages(est)
    estimate_placements(est)
    estimate_legal_entry(est)
    estimate_police_protection_and_remand(est)
    estimate_s20_proceedings(est)
    estimate_proceedings_and_exit_routes(est)
    estimate_exit_shares_and_at_18(est)
    estimate_reentry(est)
    estimate_adoption(est)
    estimate_uasc(est)
    estimate_demand_from_entries(est)
    _horizon_and_meta(est)
    estimate_uasc_arrivals(est)  # dated by the horizon
    estimate_population(est)  # after demand and the opening stock
    _template_parts(est)
    config = _finish(est)
    return config, est.report


def _horizon_and_meta(est: EstimateRecorder):
    h = est.template["horizon"]
    t0, t1 = to_date(h["start_date"]), to_date(h["end_date"])
    est.out["horizon"]["start_date"] = est.start
    after = t1 + dt.timedelta(days=1)
    if (after.month, after.day) == (t0.month, t0.day):  # whole years: keep them whole
        years = after.year - t0.year
        try:
            end = est.start.replace(year=est.start.year + years)
        except ValueError:  # 29 February
            end = dt.date(est.start.year + years, 3, 1)
        est.out["horizon"]["end_date"] = end - dt.timedelta(days=1)
    else:
        est.out["horizon"]["end_date"] = est.start + (t1 - t0)
    meta = est.out.setdefault("meta", {})
    base = str(est.template.get("meta", {}).get("name", "config"))
    meta["name"] = f"{base}-calibrated-{est.start.isoformat()}"
    meta["description"] = (f"Estimated by carejourney calibrate from SSDA903 episodes, {est.window.label()}, "
                           f"on the template {base}")


def _template_parts(est: EstimateRecorder):
    estimated = set(est.report.estimated_paths)
    for path, why in (
        *([] if POPULATION_PATH in estimated else [("population", "the 0-17 population is not in SSDA903")]),
        ("costs", "costs are not in SSDA903"),
        ("placements.capacity", "in-house places, recruitment and matching are not in SSDA903"),
        ("placements.types.*.weekly_cost_gbp", "costs are not in SSDA903"),
        ("placements.types.*.in_area_probability", "SSDA903 as read keeps no postcodes"),
        ("edge_of_care.services", "edge-of-care services are not in SSDA903"),
        ("edge_of_care.entry_probability_without_service / days_to_entry / relapse_probability / days_to_relapse",
         "the edge of care is not in SSDA903"),
        ("demand.children.parental_factor_prevalence", "parental factors are not in SSDA903"),
        ("demand.children.sibling_group_share", "sibling groups are not in SSDA903"),
        ("exits.*.from_age_years", "structural"),
    ):
        est.keep(path, why)
    t_unc = est.template.get("uncertainty") or []
    estimated |= {u["path"] for u in est.out["uncertainty"]}
    kept = 0
    for u in t_unc:
        p = u.get("path", "")
        if not any(p == e or p.startswith(e + ".") for e in estimated):
            est.out["uncertainty"].append(u)
            kept += 1
    if kept:
        est.keep("uncertainty (template entries)", f"{kept} entries on fields not estimated here")


def _finish(est: EstimateRecorder) -> dict:
    out = plain(est.out)
    # an uncertainty entry must point at a number that is still there
    valid = []
    for u in out["uncertainty"]:
        try:
            v = get_path(out, u["path"])
        except (KeyError, IndexError, ValueError):
            continue
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            valid.append(u)
    out["uncertainty"] = [
        truncated_to_field(u, lambda x, u=u: draw_refused(out, u["path"], x, u.get("rescale_others", False)) is None)
        for u in valid]
    parse_config(copy.deepcopy(out), "estimated config")
    return out


__all__ = ["DEFAULT_TEMPLATE", "HAZARD_ROUTES", "chart_folder", "cleaning_file", "estimate_config", "load_template",
           "write_calibrated_config"]
