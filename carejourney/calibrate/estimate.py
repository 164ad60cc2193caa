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

- opening: children looked after on the day before `start`, counted exactly.
- exit routes: cause-specific constant hazards by legal status x age band, by Poisson
  regression (piecewise-exponential survival) on days at risk inside the window, with
  right-censoring of open spells and delayed entry of spells begun before it. An exit while
  on an interim care order can be the proceedings' outcome or the return-home hazard: EM
  splits them (see `_proceedings_and_returned_home`).
- placement moves: Weibull (or exponential, by AIC) time to a move per placement type with a
  shared age-band multiplier, from spells begun inside the window.
- legal: entry status mixes; proceedings length (lognormal) and outcomes; s20 -> proceedings
  and re-entry as cure models (a probability, then an exponential delay).
- demand: first entries a year by age band (log-linear Poisson with a trend) turned into
  referrals through the template's own edge-of-care conversion (estimate_demand).

The report's fit plots (estimate_plots) set the data beside each fitted model: Kaplan-Meier vs
fitted time to move and proceedings length, observed vs fitted exit rates by legal status x
age band, yearly entries vs the fitted trend, and the opening stock.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import parse_config
from ..uncertainty import get_path, set_path
from ..vocab import AGE_BANDS, LEGAL_STATUSES, NEEDS, PLACEMENT_TYPES
from . import estimate_demand as dem
from .estimate_data import (
    FOSTER,
    HAZARD_ROUTES,
    KEY,
    Prepared,
    Window,
    make_window,
    prepare,
    to_date,
)
from .estimate_fit import (
    Fit,
    _r,
    beta_from_counts,
    beta_from_mean_se,
    beta_interval,
    fit_cure_exponential,
    fit_exponential,
    fit_lognormal,
    fit_weibull_groups,
    kaplan_meier,
    lognormal_interval,
    poisson_regression,
)
from .estimate_plots import (
    MIN_CELL_EXPOSURE_DAYS,
    MIN_PLOT_EVENTS,
    EntryCounts,
    HazardCells,
    OpeningCounts,
    draw_fit_plots,
    survival_curve,
)
from .estimate_report import (
    AtomicWrite,
    Estimate,
    EstimationReport,
    fmt_count,
    fmt_counts,
    render_yaml,
)

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "configs" / "cambridgeshire-2015.yaml"
MIN_MIX = 5  # a mix (by age band, by placement) is replaced only with at least this many cases
MIN_WEIBULL_EVENTS = 10  # fewer move events: exponential (a Weibull shape needs more)
MAX_MULTIPLIER = 1000.0
MAX_SIGMA = 3.0  # a log-scale standard error above this is no information: no uncertainty entry
KM_DAYS = (90, 365, 730)
PROCEEDINGS_OUTCOMES = ("care_order", "placement_order", "sgo", "child_arrangements_order", "returned_home")
NB = len(AGE_BANDS)


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
    est = _Estimator(cleaned, to_date(start), tmpl, years, sources)
    return est.run()


def write_calibrated_config(config: dict, report: EstimationReport, out: str | Path,
                            report_path: str | Path | None = None) -> tuple[Path, Path]:
    """Validate, then write the YAML config, `<out stem>.estimation.md` and its fit plots.

    The plots are PNGs in a folder named after the report without `.md` (`<out stem>.estimation/`),
    linked from the report's "Fit plots" section. The three are staged beside their targets and
    put in place together (see AtomicWrite): on any failure none of them is written or changed.
    Returns (config path, report path); the plot folder is `chart_folder(report path)`.
    """
    parse_config(config, str(out))
    out = Path(out)
    report_path = Path(report_path) if report_path else out.with_name(out.stem + ".estimation.md")
    charts = chart_folder(report_path)
    header = [
        f"Estimated by carejourney calibrate from SSDA903 episodes, {report.window}.",
        f"Files: {', '.join(report.sources) if report.sources else '(not recorded)'}",
        f"Start date {report.start}; opening stock = children looked after on the day before.",
        f"Template for what SSDA903 cannot inform (costs, capacity, services, population ...): {report.template}",
        f"Every estimated value, its 90% interval, events, exposure and method: {report_path.name}",
        "Uncertain estimates are listed under `uncertainty:` and drawn afresh in each replication.",
    ]
    text = render_yaml(config, report, header)
    with AtomicWrite() as w:
        plots = draw_fit_plots(report.fit_data, w.folder(charts))
        w.text(report_path, report.to_markdown(plots, charts.name))
        w.text(out, text)  # last: a config in place means the report and plots are too
        w.commit()
    return out, report_path


def chart_folder(report_path: str | Path) -> Path:
    """The folder of the report's fit plots: beside it, named as it without `.md`."""
    p = Path(report_path)
    return p.with_name(p.name[:-3] if p.name.endswith(".md") else p.name + ".charts")


class _Estimator:
    def __init__(self, cleaned, start: dt.date, template: dict, years, sources):
        self.cleaned = cleaned
        self.start = start
        self.template = template
        self.tcfg = parse_config(copy.deepcopy(template), "template")
        self.window: Window = make_window(cleaned, years)
        self.d: Prepared = prepare(cleaned, self.window)
        self.out = copy.deepcopy(template)
        self.out["uncertainty"] = []
        if sources is None and "source_file" in cleaned.episodes:
            sources = sorted(set(cleaned.episodes["source_file"].dropna().astype(str)))
        self.report = EstimationReport(
            start=str(start), window=self.window.label(),
            template=str(template.get("meta", {}).get("name", "template")), sources=list(sources or []))
        self.start_ts = pd.Timestamp(start)

    # ================================================================ bookkeeping
    def set(self, path: str, value, *, low=None, high=None, events=None, n=None, exposure=None,
            method="", note="", prior=None, display=None):
        set_path(self.out, path, value) if _exists_parent(self.out, path) else _set_creating(self.out, path, value)
        self.report.estimates.append(Estimate(path, value, _f(low), _f(high), _f(events), _f(n), _f(exposure),
                                              method, note, prior, display))
        if prior is not None:
            self.out["uncertainty"].append({"path": path, "prior": prior, "source": f"carejourney calibrate: {method}"})

    def keep(self, path: str, why: str):
        self.report.from_template.append((path, why))

    def note(self, text: str):
        self.report.notes.append(text)

    def set_lognormal(self, path, value, se_log, **kw):
        lo, hi = lognormal_interval(value, se_log) if np.isfinite(se_log) else (None, None)
        prior = ({"dist": "lognormal", "median": _r(value, 6), "sigma": _r(se_log, 4)}
                 if np.isfinite(se_log) and 0 < se_log <= MAX_SIGMA else None)
        self.set(path, _r(value), low=lo, high=hi, prior=prior, **kw)

    def set_share(self, path, successes, failures, with_prior=True, **kw):
        n = successes + failures
        if n <= 0:
            self.keep(path, "no cases in the data")
            return
        a, b = beta_from_counts(successes, failures)
        lo, hi = beta_interval(a, b) if with_prior else (None, None)
        self.set(path, _r(successes / n), low=lo, high=hi, events=successes, n=n,
                 prior={"dist": "beta", "alpha": _r(a, 6), "beta": _r(b, 6)} if with_prior else None,
                 method=kw.pop("method", "proportion; prior Beta(successes + 1, failures + 1)"), **kw)

    def set_mix(self, path, counts: dict, what: str, min_n: int = MIN_MIX, fallback_note=True) -> bool:
        n = float(sum(counts.values()))
        if n < min_n:
            if fallback_note:
                self.keep(path, f"fewer than {min_n} {what} in the data ({fmt_count(n)})")
            return False
        self.set(path, mix(counts), n=n, method=f"empirical mix of {what} (point estimate)")
        return True

    # ================================================================ run
    def run(self) -> tuple[dict, EstimationReport]:
        d = self.d
        pe = d.periods
        self.report.data_summary.update({
            "children": int(d.children.shape[0]),
            "periods": len(pe),
            "episodes": len(self.cleaned.episodes),
            "periods_started_in_window": int(pe["in_window_start"].sum()),
            "periods_ended_in_window": int(pe["ended"].sum()),
        })
        self.note("Mixes (dicts summing to 1: placement, legal status, need and outcome mixes) are point "
                  "estimates without uncertainty entries; a mix by age band or placement is replaced only "
                  f"with at least {MIN_MIX} cases, else the template's is kept. Scalars estimated from counts "
                  "carry uncertainty entries: hazard-based means and multipliers lognormal(median, SE of the "
                  "log), proportions Beta.")
        self.note("Privacy: the config and this report hold aggregates only (no child identifier, date of "
                  "birth or single child's dates; time-in-care quantiles are rounded to weeks). Counts of 1-4 "
                  "printed per cell here are shown as <5; shares of small groups are not suppressed "
                  "(secondary suppression is not done).")
        self.note("Observation window: whole collection years. Spells begun before the window enter "
                  "it late (delayed entry: only days inside the window count); spells still open at its "
                  "end are right-censored. Exits on or after the 18th birthday are the model's at-18 step "
                  "and censor every other route.")
        self._opening()
        self._placements()
        self._legal_entry()
        self._police_protection_and_remand()
        self._s20_proceedings()
        self._proceedings_and_returned_home()
        self._exit_shares_and_at_18()
        self._reentry()
        self._adoption()
        self._uasc()
        self._demand()
        self._horizon_and_meta()
        self._template_parts()
        config = self._finish()
        return config, self.report

    # ================================================================ opening stock
    def _opening(self):
        day = self.start_ts - pd.Timedelta(days=1)
        w = self.window
        if not (w.start - pd.Timedelta(days=1) <= day < w.end):
            raise ValueError(f"start {self.start}: the day before it must lie in the data's window "
                             f"({w.label()}) to count the children looked after then")
        pe = self.cleaned.periods.copy()
        pe["start"], pe["end"] = pd.to_datetime(pe["start"]), pd.to_datetime(pe["end"])
        open_ = pe[(pe["start"] <= day) & (pe["end"].isna() | (pe["end"] > day))]
        ch = self.d.children
        n = len(open_)
        self.report.data_summary["opening_stock"] = n
        if n == 0:
            self.note("No child was looked after on the day before the start: the opening stock is empty.")
        dob = ch["dob"].reindex(open_["child_id"]).to_numpy()
        from ..ssda903.codes import age_in_years
        from .estimate_data import band_index
        ages = age_in_years(pd.Series(dob, dtype="datetime64[ns]"), pd.Series([day] * n, dtype="datetime64[ns]"))
        bands = band_index(ages.astype(float)) if n else np.zeros(0, dtype=int)
        counts = {b: int((bands == i).sum()) for i, b in enumerate(AGE_BANDS)}
        keys = open_[KEY]
        status = _covering(self.cleaned.legal_statuses, keys, day, "legal_status")
        place = _covering(self.cleaned.placements, keys, day, "placement_type")
        m = "exact count of children looked after on the day before the start (1-4 shown as <5 here only)"
        legal = {s: int((status == s).sum()) for s in LEGAL_STATUSES if (status == s).sum() > 0}
        places = {p: int((place == p).sum()) for p in PLACEMENT_TYPES if (place == p).sum() > 0}
        uasc = ch["uasc"].reindex(open_["child_id"]).fillna(False).astype(bool).to_numpy()
        male = ch["male"].reindex(open_["child_id"]).fillna(False).astype(bool).to_numpy()
        if n:
            self.report.fit_data["opening"] = OpeningCounts(
                str(day.date()), counts, {s: int((status == s).sum()) for s in LEGAL_STATUSES},
                {p: int((place == p).sum()) for p in PLACEMENT_TYPES})
        else:
            self.report.fit_data["opening"] = "no child was looked after on the day before the start"
        for path, value in (("opening.age_band_counts", counts), ("opening.legal_status_counts", legal),
                            ("opening.placement_type_counts", places), ("opening.uasc_count", int(uasc.sum()))):
            self.set(path, value, n=n, method=m, display=fmt_counts(value))
        if n:
            self.set_share("opening.male_share", int(male.sum()), int(n - male.sum()), with_prior=False,
                           method="share of the opening stock (exact: no uncertainty entry)")
            needs = ch["need"].reindex(open_["child_id"])
            nc = {k: int((needs == k).sum()) for k in NEEDS if (needs == k).sum() > 0}
            self.set_mix("opening.need_mix", nc, "children in the opening stock with a need code", min_n=1)
            days = (self.start_ts - open_["start"]).dt.days.to_numpy(dtype=float)
            self.set("opening.days_in_care_so_far", empirical(days), n=n,
                     method="empirical quantiles of time in care so far (bounds rounded to weeks)")
        else:
            self.keep("opening.days_in_care_so_far", "no opening stock")
            self.keep("opening.need_mix", "no opening stock")
            self.keep("opening.male_share", "no opening stock")

    # ================================================================ placements
    def _placements(self):
        d, pe = self.d, self.d.periods
        entries = pe[pe["in_window_start"]]
        entries = entries[~entries["uasc"].astype(bool)]
        pfa = entries["placement_type_at_entry"].eq("placed_for_adoption")
        if pfa.any():
            self.note(f"{fmt_count(int(pfa.sum()))} periods began placed for adoption: the model cannot start "
                      "there, so they are left out of the entry placement mix.")
        entries = entries[~pfa]
        disability_mix = self.template["placements"].get("at_entry_disability") is not None
        dis = entries["need_at_entry"].eq("N2_disability") if disability_mix else pd.Series(False, index=entries.index)
        for i, band in enumerate(AGE_BANDS):
            sel = entries[(entries["band_at_entry"] == i) & ~dis]
            self.set_mix(f"placements.at_entry_by_age_band.{band}", _counts(sel["placement_type_at_entry"]),
                         f"entries aged {band}")
        if disability_mix:
            self.set_mix("placements.at_entry_disability", _counts(entries.loc[dis, "placement_type_at_entry"]),
                         "entries with disability (N2) as need")
        self.note("Placement mixes (at entry, next placement) are the placements children got. The model "
                  "treats them as wanted placements and then applies in-house capacity, so where in-house "
                  "places ran out in the data the mixes already hold the overflow to agencies. "
                  "concurrent_foster_to_adopt cannot be told apart in SSDA903 (U5 reads as fostering). "
                  "UASC (own placement table) are left out of the entry mix; children with disability (N2) "
                  "form at_entry_disability when the template has one.")

        pl = d.placements
        moves = pl[pl["ended"] & ~pl["is_last"]]
        to_pfa = moves["next_type"].eq("placed_for_adoption")
        moves = moves[~to_pfa]
        for src in PLACEMENT_TYPES:
            sel = moves[moves["placement_type"] == src]
            if len(sel) == 0:
                continue
            self.set_mix(f"placements.next_placement.{src}", _counts(sel["next_type"]),
                         f"moves from {src}")
        self.note("next_placement: consecutive placements within a period of care, moves dated inside the "
                  "window; a move into placed_for_adoption is the adoption match, not a breakdown, and is "
                  "left out (and censors the time to move).")
        self._days_to_move()

    def _days_to_move(self):
        pl = self.d.placements
        sp = pl[~pl["left_truncated"]].copy()
        if sp.empty:
            self.keep("placements.types.*.days_to_move", "no placement began inside the window")
            self.report.fit_data["placement_duration"] = "no placement began inside the window"
            return
        sp["event"] = (sp["ended"] & ~sp["is_last"] & sp["next_type"].ne("placed_for_adoption")).astype(float)
        sp["dur"] = sp["days"].clip(lower=0)
        tcode = {p: i for i, p in enumerate(PLACEMENT_TYPES)}
        sp["g"] = sp["placement_type"].map(tcode)
        ev = sp.groupby("g")["event"].sum()
        n = sp.groupby("g").size()
        with_events = [int(g) for g in ev.index if ev[g] > 0]
        for g in n.index:
            name = PLACEMENT_TYPES[int(g)]
            if ev.get(g, 0) == 0:
                self.set(f"placements.types.{name}.days_to_move", None, n=int(n[g]), events=0,
                         method="no moves observed: null (no moves)")
        for name in PLACEMENT_TYPES:
            if tcode[name] not in n.index:
                self.keep(f"placements.types.{name}.days_to_move", "no spell of this type began inside the window")
        if not with_events:
            self.report.fit_data["placement_duration"] = "no placement move was observed"
            return
        fit_sp = sp[sp["g"].isin(with_events)]
        # reference: the band with most days observed among bands with moves (not the most moves:
        # choosing by the outcome would pick a band whose rate came out high by chance)
        by_band = fit_sp.groupby("band").agg(ev=("event", "sum"), days=("dur", "sum"))
        ref_band = int(by_band[by_band["ev"] > 0]["days"].idxmax())
        tmult = self.template["placements"].get("days_to_move_multiplier_by_age_band", {}) or {}
        ref_log = math.log(float(tmult.get(AGE_BANDS[ref_band], 1.0)))
        t, e, g, b = (fit_sp["dur"].to_numpy(), fit_sp["event"].to_numpy(), fit_sp["g"].to_numpy(),
                      fit_sp["band"].to_numpy())
        forced = [k for k in with_events if ev[k] < MIN_WEIBULL_EVENTS]
        wb = fit_weibull_groups(t, e, g, len(PLACEMENT_TYPES), b, NB, ref_band, ref_log, exponential_groups=forced)
        ex = fit_weibull_groups(t, e, g, len(PLACEMENT_TYPES), b, NB, ref_band, ref_log,
                                exponential_groups=with_events)
        choose_exp = list(forced)
        comparison = []
        for k in with_events:
            aic_w = -2 * wb.loglik_by_group[k] + 2 * (1 if k in forced else 2)
            aic_e = -2 * ex.loglik_by_group[k] + 2
            if k not in forced and aic_e <= aic_w:
                choose_exp.append(k)
            comparison.append((k, aic_w, aic_e))
        final = fit_weibull_groups(t, e, g, len(PLACEMENT_TYPES), b, NB, ref_band, ref_log,
                                   exponential_groups=choose_exp)
        km_rows, curves, few = [], [], []
        for k, aic_w, aic_e in comparison:
            name = PLACEMENT_TYPES[k]
            path = f"placements.types.{name}.days_to_move"
            se_scale = final.se(f"log_scale:{k}")
            sel = g == k
            note = (f"Weibull shape {wb.shape[k]:.3g} scale {wb.scale[k]:.4g} (AIC {aic_w:.1f}) vs exponential "
                    f"mean {ex.scale[k]:.4g} (AIC {aic_e:.1f})" + ("; fewer than 10 moves: exponential" if k in forced else ""))
            kw = {"events": float(e[sel].sum()), "n": int(sel.sum()), "exposure": float(t[sel].sum())}
            if k in choose_exp:
                mean = float(final.scale[k])
                self.set(path, {"kind": "exponential", "mean_days": _r(mean)}, **kw,
                         method="exponential time to move, censored MLE with age-band multipliers; chosen by AIC",
                         note=note, low=lognormal_interval(mean, se_scale)[0], high=lognormal_interval(mean, se_scale)[1])
                self._prior(f"{path}.mean_days", mean, se_scale, "time to move (exponential mean)")
            else:
                shape, scale = float(final.shape[k]), float(final.scale[k])
                self.set(path, {"kind": "weibull", "shape": _r(shape), "scale_days": _r(scale)}, **kw,
                         method="Weibull time to move, censored MLE with age-band multipliers; chosen by AIC",
                         note=note, low=lognormal_interval(scale, se_scale)[0], high=lognormal_interval(scale, se_scale)[1])
                self._prior(f"{path}.scale_days", scale, se_scale, "Weibull scale of time to move")
                self._prior(f"{path}.shape", shape, final.se(f"log_shape:{k}"), "Weibull shape of time to move")
            # Kaplan-Meier vs the fitted model (averaged over the spells' age bands)
            km = kaplan_meier(t[sel], e[sel], KM_DAYS)
            scales = final.scale[k] * np.exp(final.band_log_mult[b[sel]])
            fitted = [float(np.mean(np.exp(-((x / scales) ** final.shape[k])))) for x in KM_DAYS]
            km_rows.append({"placement_type": name, "spells": fmt_count(int(sel.sum())),
                            "moves": fmt_count(float(e[sel].sum())),
                            "model": "exponential" if k in choose_exp else "weibull",
                            **{f"KM S({x}d)": round(float(v), 3) for x, v in zip(KM_DAYS, km)},
                            **{f"fitted S({x}d)": round(v, 3) for x, v in zip(KM_DAYS, fitted)}})
            if e[sel].sum() >= MIN_PLOT_EVENTS:
                model = (f"exponential (mean {final.scale[k]:,.0f} days)" if k in choose_exp else
                         f"Weibull (shape {final.shape[k]:.2f}, scale {final.scale[k]:,.0f} days)")
                curve = survival_curve(t[sel], e[sel], _mixture_survival(scales, final.shape[k]), name,
                                       model + "\nx age-band multipliers")
                if curve is not None:
                    curves.append(curve)
                    continue
            few.append(f"{name.replace('_', ' ')} ({fmt_count(float(e[sel].sum()))})")
        if curves:
            detail = (f"One panel per placement type with at least {MIN_PLOT_EVENTS} moves; the fitted curve "
                      "averages the fitted survival over the spells' age bands (as the check table below does).")
            if few:
                detail += f" Left out, fewer moves: {', '.join(few)}."
            self.report.fit_data["placement_duration"] = {"curves": curves, "detail": detail}
        else:
            self.report.fit_data["placement_duration"] = f"no placement type had at least {MIN_PLOT_EVENTS} moves"
        self.report.checks.append(("Kaplan-Meier vs fitted time to move (share not yet moved)", pd.DataFrame(km_rows)))
        mult = {}
        for i, band in enumerate(AGE_BANDS):
            if np.isfinite(final.band_log_mult[i]):
                mult[band] = _r(math.exp(final.band_log_mult[i]))
            else:
                mult[band] = float(tmult.get(band, 1.0))
        self.set("placements.days_to_move_multiplier_by_age_band", mult,
                 method=f"shared age-band multiplier of time to move (AFT); {AGE_BANDS[ref_band]} fixed at the "
                        "template value (the reference: multipliers are identified only up to a common factor)")
        for i, band in enumerate(AGE_BANDS):
            if i != ref_band and np.isfinite(final.band_log_mult[i]):
                self._prior(f"placements.days_to_move_multiplier_by_age_band.{band}", math.exp(final.band_log_mult[i]),
                            final.se(f"band:{i}"), "age-band multiplier of time to move", record=True)
        self.note("Time to move: placement spells begun inside the window (left-truncated spells are left "
                  "out because the model restarts every placement clock on the start date). Event: the "
                  "placement ended and another followed in the same period; censored: exit from care "
                  "(including the 18th birthday), a move into adoption, or still open at the window's end. "
                  f"Types with fewer than {MIN_WEIBULL_EVENTS} moves are exponential; others are Weibull "
                  "or exponential by AIC. Types with spells but no moves get days_to_move null.")

    def _prior(self, path, value, se_log, what, record=False):
        if not (np.isfinite(se_log) and 0 < se_log <= MAX_SIGMA and value > 0):
            if record:
                self.report.estimates.append(Estimate(path, _r(value), method=what + " (no usable standard error)"))
            return
        prior = {"dist": "lognormal", "median": _r(value, 6), "sigma": _r(se_log, 4)}
        self.out["uncertainty"].append({"path": path, "prior": prior, "source": f"carejourney calibrate: {what}"})
        if record:
            lo, hi = lognormal_interval(value, se_log)
            self.report.estimates.append(Estimate(path, _r(value), lo, hi, method=what, prior=prior))
        else:
            e = self.report.get(path.rsplit(".", 1)[0]) or self.report.get(path)
            if e is not None and e.prior is None:
                e.prior = prior

    # ================================================================ legal status
    def _legal_entry(self):
        pe = self.d.periods
        ent = pe[pe["in_window_start"] & ~pe["uasc"].astype(bool)]
        ne = ent[ent["legal_status_at_entry"].ne("police_protection")]
        status = ne["legal_status_at_entry"].map({
            "s20": "s20", "interim_care_order": "interim_care_order", "remand": "remand",
            "care_order": "interim_care_order", "placement_order": "interim_care_order"})
        court = ne["legal_status_at_entry"].isin(["care_order", "placement_order"]).sum()
        if court:
            self.note(f"{fmt_count(int(court))} periods began on a full care or placement order; the model's "
                      "entries are s20, interim care order or remand, so they count as interim care orders.")
        for i, band in enumerate(AGE_BANDS):
            self.set_mix(f"legal.entry_status_by_age_band.{band}", _counts(status[ne["band_at_entry"] == i]),
                         f"non-emergency entries aged {band}")
        self.note("legal.entry_status_by_age_band: legal status on the first day of every period begun in the "
                  "window (re-entries too: the model uses this mix for them), UASC and police protection "
                  "(emergency, see demand) left out.")

    def _police_protection_and_remand(self):
        lg = self.d.legal
        pp = lg[(lg["legal_status"] == "police_protection") & lg["ended"] & ~lg["left_truncated"]]
        if len(pp):
            mean = float(pp["days"].mean())
            self.set("legal.police_protection_days", {"kind": "fixed", "days": _r(max(mean, 0.5))}, n=len(pp),
                     method="mean length of police protection spells (fixed)")
            nxt = pd.Series(np.select(
                [pp["next_status"].eq("s20"),
                 pp["next_status"].isin(["interim_care_order", "care_order", "placement_order"]),
                 pp["is_last"] & pp["exit_class"].eq("returned_home")],
                ["s20", "interim_care_order", "returned_home"], default=""), index=pp.index)
            self.set_mix("legal.after_police_protection", _counts(nxt[nxt != ""]), "police protection spells that ended")
        else:
            self.keep("legal.police_protection_days", "no police protection spell began and ended in the window")
            self.keep("legal.after_police_protection", "no police protection spell began and ended in the window")
        rem = lg[lg["legal_status"] == "remand"]
        expo = _days(rem["risk_start"], _tmin(rem["obs_end"], rem["t18"]))
        ev = (rem["is_last"] & rem["ended"] & rem["exit_class"].eq("remand_ended")).astype(float)
        if ev.sum() > 0:
            f = fit_exponential(expo, ev)
            self.set_lognormal("legal.remand_days.mean_days", f.params["mean_days"], f.se_log["mean_days"],
                               events=f.events, exposure=f.exposure_days, n=len(rem),
                               method="exponential: days on remand / remands ended (E14)")
            set_path(self.out, "legal.remand_days", {"kind": "exponential", "mean_days": _r(f.params["mean_days"])})
        else:
            self.keep("legal.remand_days", "no remand ended (E14) in the window")

    def _s20_proceedings(self):
        lg = self.d.legal
        s = lg[(lg["legal_status"] == "s20") & ~lg["left_truncated"]]
        if s.empty:
            self.keep("legal.s20_proceedings_probability_by_age_band", "no s20 spell began in the window")
            self.keep("legal.days_s20_to_proceedings", "no s20 spell began in the window")
            return
        event = s["ended"] & s["next_status"].isin(["interim_care_order", "care_order", "placement_order"])
        cf = fit_cure_exponential(s["days"].to_numpy(), event.to_numpy(), s["band"].to_numpy(), NB)
        for i, band in enumerate(AGE_BANDS):
            path = f"legal.s20_proceedings_probability_by_age_band.{band}"
            if cf.n[i] == 0:
                self.keep(path, "no s20 spell began at this age")
                continue
            p = float(cf.p[i])
            if cf.events[i] > 0:
                a, b = beta_from_mean_se(p, float(cf.p_se[i]))
            else:
                closed = float(((s["band"] == i) & s["ended"]).sum())
                a, b = 1.0, closed + 1.0
            lo, hi = beta_interval(a, b)
            self.set(path, _r(p), low=lo, high=hi, events=cf.events[i], n=cf.n[i],
                     method="cure model (probability x exponential delay), censored MLE; prior Beta matched to mean and SE",
                     prior={"dist": "beta", "alpha": _r(a, 6), "beta": _r(b, 6)})
        if np.isfinite(cf.mean_days):
            self.set("legal.days_s20_to_proceedings", {"kind": "exponential", "mean_days": _r(cf.mean_days)},
                     low=lognormal_interval(cf.mean_days, cf.se_log_mean)[0],
                     high=lognormal_interval(cf.mean_days, cf.se_log_mean)[1], events=float(cf.events.sum()),
                     n=float(cf.n.sum()), method="cure model: exponential delay to proceedings")
            self._prior("legal.days_s20_to_proceedings.mean_days", cf.mean_days, cf.se_log_mean,
                        "delay from s20 to proceedings")
        self.note("s20 -> proceedings: s20 spells begun in the window; event = the next status is an interim "
                  "(or full/placement) order; anything else ending the spell censors it. As the model draws it: "
                  "with probability p (by age band at the s20 start) proceedings start after an exponential delay.")

    # ================================================================ exits
    def _exposure_cells(self, route: str, weights_ico: pd.Series | None = None):
        """(status, band) cells of days at risk and events for one exit route."""
        cache = self.__dict__.setdefault("_cells_cache", {})
        if route not in cache:
            lg = self.d.legal
            use = lg["legal_status"].ne("police_protection") & ~(
                lg["legal_status"].eq("interim_care_order") & lg["left_truncated"])
            s = lg[use]
            from_age = float(self.template["exits"][route].get("from_age_years", 0) or 0)
            risk_from = s["risk_start"]
            if from_age > 0:
                risk_from = _tmax(risk_from, s["dob"] + pd.to_timedelta(from_age * 365.25, unit="D"))
            expo = _days(risk_from, _tmin(s["obs_end"], s["t18"])).to_numpy()
            ev = (s["is_last"] & s["ended"] & s["exit_class"].eq(route)).to_numpy(dtype=float)
            ico = s["legal_status"].eq("interim_care_order").to_numpy()
            if route in ("sgo", "child_arrangements_order"):
                ev[ico] = 0.0  # proceedings outcomes, see _proceedings_and_returned_home
            status = s["legal_status"].map({x: i for i, x in enumerate(LEGAL_STATUSES)}).to_numpy(dtype=int)
            cell = status * NB + s["band"].to_numpy(dtype=int)
            cache[route] = (s.index, cell, expo, ev, ico)
        index, cell, expo, ev, ico = cache[route]
        if route == "returned_home" and weights_ico is not None:
            ev = ev.copy()
            ev[ico] = weights_ico.reindex(index[ico]).fillna(0.0).to_numpy()
        n = len(LEGAL_STATUSES) * NB
        ex_c = np.bincount(cell, weights=expo, minlength=n).reshape(len(LEGAL_STATUSES), NB)
        ev_c = np.bincount(cell, weights=ev, minlength=n).reshape(len(LEGAL_STATUSES), NB)
        return ex_c, ev_c

    def _fit_route(self, route: str, cells):
        """Poisson regression with status and band main effects -> config route values.

        `cells` = (exposure, events), arrays of legal status x age band."""
        EX, EV = cells
        t_route = self.template["exits"][route]
        t_status = t_route.get("multiplier_by_status", {}) or {}
        t_band = t_route.get("multiplier_by_age_band", {}) or {}
        ev_s, ex_s = EV.sum(1), EX.sum(1)
        si = [i for i in range(len(LEGAL_STATUSES)) if ev_s[i] > 0]
        if not si:
            return None
        ev_b, ex_b = EV[si].sum(0), EX[si].sum(0)
        bi = [b for b in range(NB) if ev_b[b] > 0]
        # references: the levels the template gives multiplier 1 (so mean_days keeps its meaning),
        # else the most days at risk among levels with events (choosing by events would pick a
        # level whose rate came out high by chance, biasing mean_days down)
        ones_s = [i for i in si if float(t_status.get(LEGAL_STATUSES[i], 0.0)) == 1.0]
        ones_b = [b for b in bi if float(t_band.get(AGE_BANDS[b], 1.0)) == 1.0]
        ref_s = max(ones_s or si, key=lambda i: ex_s[i])
        ref_b = max(ones_b or bi, key=lambda b: ex_b[b])
        s_cols = [i for i in si if i != ref_s]
        b_cols = [b for b in bi if b != ref_b]
        rows = [(i, b) for i in si for b in bi if EX[i, b] > 0]
        X = np.zeros((len(rows), 1 + len(s_cols) + len(b_cols)))
        X[:, 0] = 1
        for r, (i, b) in enumerate(rows):
            if i in s_cols:
                X[r, 1 + s_cols.index(i)] = 1
            if b in b_cols:
                X[r, 1 + len(s_cols) + b_cols.index(b)] = 1
        fit = poisson_regression(np.array([EV[i, b] for i, b in rows]), np.array([EX[i, b] for i, b in rows]), X)
        se = fit.se()
        T_s = float(t_status.get(LEGAL_STATUSES[ref_s], 1.0))
        T_b = float(t_band.get(AGE_BANDS[ref_b], 1.0))
        alpha = fit.coef[0]
        beta = {i: (fit.coef[1 + s_cols.index(i)] if i in s_cols else 0.0) for i in si}
        res = {"ref_status": LEGAL_STATUSES[ref_s], "ref_band": AGE_BANDS[ref_b], "T_s": T_s, "T_b": T_b,
               "mean_days": math.exp(-alpha) / (T_s * T_b), "se_log_mean": float(se[0]),
               "status": {}, "band": {}, "events": float(EV[si].sum()), "exposure": float(EX[si].sum()),
               "ev_status": {LEGAL_STATUSES[i]: float(ev_s[i]) for i in si},
               "ex_status": {LEGAL_STATUSES[i]: float(ex_s[i]) for i in si},
               "ev_band": {AGE_BANDS[b]: float(ev_b[b]) for b in range(NB)},
               "ex_band": {AGE_BANDS[b]: float(ex_b[b]) for b in range(NB)},
               "closed": [LEGAL_STATUSES[i] for i in range(len(LEGAL_STATUSES))
                          if LEGAL_STATUSES[i] != "police_protection" and ev_s[i] == 0 and ex_s[i] > 0]}
        for i in si:
            name = LEGAL_STATUSES[i]
            if i == ref_s:
                res["status"][name] = (T_s, math.nan)
            else:
                j = 1 + s_cols.index(i)
                res["status"][name] = (T_s * math.exp(-fit.coef[j]), float(se[j]))
        for b in range(NB):
            name = AGE_BANDS[b]
            if b == ref_b:
                res["band"][name] = (T_b, math.nan, "reference")
            elif b in bi:
                j = 1 + len(s_cols) + b_cols.index(b)
                res["band"][name] = (T_b * math.exp(-fit.coef[j]), float(se[j]), "")
            elif ex_b[b] > 0:
                # no events at this age: the rate that would give half an event over the exposure
                expected = float(sum(math.exp(alpha + beta[i]) * EX[i, b] for i in si))
                m = min(T_b * expected / 0.5, MAX_MULTIPLIER) if expected > 0 else MAX_MULTIPLIER
                res["band"][name] = (max(m, 1e-3), math.nan,
                                     "no events at this age: rate set to half an event over its exposure")
            else:
                res["band"][name] = (float(t_band.get(name, 1.0)), math.nan, "no exposure at this age: template value")
        res["fit"] = fit
        res["cells"] = (EX, EV)
        return res

    def _route_rate(self, res, status: str, band: int) -> float:
        if res is None or status not in res["status"]:
            return 0.0
        m_s = res["status"][status][0]
        m_b = res["band"][AGE_BANDS[band]][0]
        return 1.0 / (res["mean_days"] * m_s * m_b)

    def _proceedings_and_returned_home(self):
        """Interim care orders: proceedings (lognormal) and the return-home hazard, split by EM.

        An ICO spell can end in a return home two ways in the model: the proceedings end with
        outcome 'returned_home' (probability pi_b, at a lognormal time) or the return-home
        hazard fires first. SSDA903 records only the exit. EM: the weight that an observed
        return home at t was the hazard is w = lam S_P(t) / (lam S_P(t) + pi f_P(t)); the hazard
        regression counts w events, the proceedings fit and outcome mix count 1 - w.
        """
        lg = self.d.legal
        ico = lg[(lg["legal_status"] == "interim_care_order") & ~lg["left_truncated"]].copy()
        known = pd.Series(None, index=ico.index, dtype=object)
        nxt = ico["next_status"]
        known[ico["ended"] & nxt.isin(["care_order", "placement_order"])] = nxt
        last_exit = ico["is_last"] & ico["ended"]
        for cls in ("sgo", "child_arrangements_order"):
            known[last_exit & ico["exit_class"].eq(cls)] = cls
        rh = last_exit & ico["exit_class"].eq("returned_home")
        t = ico["days"].clip(lower=0.5).to_numpy()
        bands = ico["band"].to_numpy()
        w = pd.Series(0.5, index=ico.index[rh.to_numpy()])
        proc = None
        pi = np.zeros((NB, len(PROCEEDINGS_OUTCOMES)))
        res = None
        for _it in range(200):
            res = self._fit_route("returned_home", self._exposure_cells("returned_home", w))
            weights_rh = np.zeros(len(ico))
            weights_rh[rh.to_numpy()] = 1 - w.to_numpy()
            proc_event = known.notna().to_numpy().astype(float) + weights_rh
            if proc_event.sum() == 0:
                break
            proc = fit_lognormal(t, proc_event, x0=None if proc is None else proc.extra["x"])
            proc_fitted_events = proc_event
            pi = np.zeros((NB, len(PROCEEDINGS_OUTCOMES)))
            for k, o in enumerate(PROCEEDINGS_OUTCOMES[:-1]):
                pi[:, k] = np.bincount(bands[known.eq(o).to_numpy()], minlength=NB)
            pi[:, -1] = np.bincount(bands, weights=weights_rh, minlength=NB)
            if not rh.any():
                break
            share = pi / np.maximum(pi.sum(1, keepdims=True), 1e-12)
            lam = np.array([self._route_rate(res, "interim_care_order", b) for b in bands[rh.to_numpy()]])
            tr = t[rh.to_numpy()]
            sp = proc.survival(tr)
            z = (np.log(tr) - proc.params["mu"]) / proc.params["sigma"]
            fp = np.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * proc.params["sigma"] * tr)
            num = lam * sp
            den = num + share[bands[rh.to_numpy()], -1] * fp
            new = pd.Series(np.divide(num, den, out=np.zeros_like(num), where=den > 0), index=w.index)
            done = float(np.max(np.abs(new - w))) < 5e-4 if len(w) else True
            w = new
            if done:
                break
        if res is not None and len(w) and "interim_care_order" in res["status"]:
            # the EM split is uncertain too: add the variance of the number of hazard exits
            # among the ambiguous ones (sum of w (1 - w)) to the status effect's variance
            v, se = res["status"]["interim_care_order"]
            total = float(w.sum())
            if np.isfinite(se) and total > 0:
                extra = float((w * (1 - w)).sum()) / total**2
                res["status"]["interim_care_order"] = (v, math.sqrt(se**2 + extra))
        self._write_route("returned_home", res)
        for route in ("sgo", "child_arrangements_order", "independent_living", "other"):
            self._write_route(route, self._fit_route(route, self._exposure_cells(route)))
        self.note("Exit routes: cause-specific hazards, constant within a legal-status spell, with main effects "
                  "for legal status and age band (Poisson regression of events on days at risk: the "
                  "piecewise-exponential survival model). Days at risk run from the spell's start (or the "
                  "window's start, or the route's from_age_years) to its end, the window's end or the 18th "
                  "birthday. The config multiplies times, so multiplier = reference rate / rate. The reference "
                  "status and age band (those the template gives multiplier 1, else the most days at risk) keep "
                  "their template multipliers, so mean_days stays comparable with the template. A status with no events for a route is left out of "
                  "multiplier_by_status (route closed). Police protection is left out (its exits are "
                  "after_police_protection decisions); interim care orders count only spells begun inside the "
                  "window, and their SGO / child arrangements exits are proceedings outcomes. Uncertainty "
                  "entries give each mean and multiplier its own SE; their correlation is not kept, which "
                  "overstates the spread of rates away from the reference cell.")
        self.note("Returned home while on an interim care order: EM splits these exits between the "
                  "proceedings' outcome and the return-home hazard (by how their timing fits the lognormal "
                  "proceedings length vs a constant hazard).")
        if proc is None:
            self.report.fit_data["proceedings_duration"] = "no interim care order began and ended in the window"
            self.keep("legal.proceedings_days", "no interim care order began and ended in the window")
            self.keep("legal.proceedings_outcome_by_age_band", "no interim care order began and ended in the window")
            return
        p = proc.params
        curve = survival_curve(t, proc_fitted_events, proc.survival, "interim care orders begun in the window",
                               f"lognormal (mean {p['mean_days']:,.0f}, sd {p['sd_days']:,.0f} days)")
        self.report.fit_data["proceedings_duration"] = (
            {"curves": [curve], "detail": "An order ends when proceedings end (care, placement, SGO or child "
                                          "arrangements order, or the part of the returns home EM attributes to "
                                          "proceedings); the rest of the returns home and open orders are censored."}
            if curve is not None else
            f"fewer than 5 interim care orders began in the window ({fmt_count(len(ico))})")
        lo, hi = proc.interval("mean_days")
        self.set("legal.proceedings_days", {"kind": "lognormal", "mean_days": _r(p["mean_days"]), "sd_days": _r(p["sd_days"])},
                 low=lo, high=hi, events=proc.events, n=proc.n, exposure=proc.exposure_days,
                 method="lognormal length of interim care orders begun in the window, censored MLE (EM-weighted return-home exits)",
                 note=f"median {math.exp(p['mu']):.0f} days, sigma {p['sigma']:.3f}")
        self._prior("legal.proceedings_days.mean_days", p["mean_days"], proc.se_log["mean_days"], "proceedings length (mean)")
        for i, band in enumerate(AGE_BANDS):
            counts = {o: float(pi[i, k]) for k, o in enumerate(PROCEEDINGS_OUTCOMES) if pi[i, k] > 0}
            self.set_mix(f"legal.proceedings_outcome_by_age_band.{band}", counts,
                         f"ended proceedings begun aged {band}")
        self.report.checks.append(("Interim care orders ending in a return home (EM split)", pd.DataFrame([{
            "ICO spells begun in window": fmt_count(len(ico)),
            "ended by proceedings (known outcome)": fmt_count(int(known.notna().sum())),
            "returned home": fmt_count(int(rh.sum())),
            "of which attributed to the hazard": f"{float(w.sum()):.1f}" if len(w) else "0",
        }])))

    def _write_route(self, route: str, res):
        base = f"exits.{route}"
        self._hazard_plot_data(route, res)
        if res is None:
            set_path(self.out, f"{base}.multiplier_by_status", {})
            self.set(f"{base}.multiplier_by_status", {}, events=0,
                     method="no exits by this route before 18 in the window: route closed for every status")
            return
        mean = res["mean_days"]
        lo, hi = lognormal_interval(mean, res["se_log_mean"])
        set_path(self.out, f"{base}.days", {"kind": "exponential", "mean_days": _r(mean)})
        self.set_lognormal(f"{base}.days.mean_days", mean, res["se_log_mean"], events=res["events"],
                           exposure=res["exposure"],
                           method=f"Poisson regression: 1 / rate for {res['ref_status']} aged {res['ref_band']} "
                                  f"x its template multipliers ({res['T_s']:g}, {res['T_b']:g})")
        self.set(f"{base}.multiplier_by_status", {s: _r(v[0]) for s, v in res["status"].items()},
                 events=res["events"], method="status main effects (reference rate / rate)",
                 note=("closed (no events): " + ", ".join(res["closed"])) if res["closed"] else "")
        for s, (v, se) in res["status"].items():
            if np.isfinite(se) and se <= MAX_SIGMA:
                lo, hi = lognormal_interval(v, se)
                prior = {"dist": "lognormal", "median": _r(v, 6), "sigma": _r(se, 4)}
                self.report.estimates.append(Estimate(f"{base}.multiplier_by_status.{s}", _r(v), lo, hi,
                                                      events=res["ev_status"][s], exposure_days=res["ex_status"].get(s),
                                                      method="status main effect", prior=prior))
                self.out["uncertainty"].append({"path": f"{base}.multiplier_by_status.{s}", "prior": prior,
                                                "source": "carejourney calibrate: exit hazard status effect"})
        self.set(f"{base}.multiplier_by_age_band", {b: _r(v[0]) for b, v in res["band"].items()},
                 events=res["events"], method="age-band main effects (band at the spell's start in the window)")
        for b, (v, se, why) in res["band"].items():
            if np.isfinite(se) and se <= MAX_SIGMA:
                lo, hi = lognormal_interval(v, se)
                prior = {"dist": "lognormal", "median": _r(v, 6), "sigma": _r(se, 4)}
                self.report.estimates.append(Estimate(f"{base}.multiplier_by_age_band.{b}", _r(v), lo, hi,
                                                      events=res["ev_band"][b], exposure_days=res["ex_band"][b],
                                                      method="age-band main effect", prior=prior))
                self.out["uncertainty"].append({"path": f"{base}.multiplier_by_age_band.{b}", "prior": prior,
                                                "source": "carejourney calibrate: exit hazard age effect"})
            elif why and why != "reference":
                self.note(f"{base}.multiplier_by_age_band.{b}: {why}.")

    def _hazard_plot_data(self, route: str, res):
        plots = self.report.fit_data.setdefault("exit_hazards", {})
        if res is None:
            plots[route] = "no exits by this route before 18 in the window"
            return
        if route != "returned_home" and res["events"] < MIN_PLOT_EVENTS:
            plots[route] = f"fewer than {MIN_PLOT_EVENTS} exits by this route ({fmt_count(res['events'])})"
            return
        EX, EV = res["cells"]
        if not (EX >= MIN_CELL_EXPOSURE_DAYS).any():
            plots[route] = "no legal status x age band cell had a child-year at risk"
            return
        fitted = np.array([[self._route_rate(res, s, b) for b in range(NB)] for s in LEGAL_STATUSES])
        note = ("Cells with less than a child-year at risk are not drawn; police protection is left out (its "
                "exits are after_police_protection decisions).")
        if route in ("sgo", "child_arrangements_order"):
            note += (" Exits by this route from interim care orders are proceedings outcomes (see the proceedings "
                     "outcome mix), so they count as no event here and the route is closed for them.")
        if route == "returned_home":
            note += (" Returns home from interim care orders count with the EM weight of the hazard (the rest "
                     "are proceedings outcomes), so their events can be fractional.")
        plots[route] = HazardCells(route, EX.copy(), EV.copy(), fitted, note)

    def _exit_shares_and_at_18(self):
        pe = self.d.periods
        ex = pe[pe["ended"]]
        rh = ex[ex["exit_class"] == "returned_home"]
        planned = int(rh["exit_route"].eq("returned_home_planned").sum())
        unplanned = int(rh["exit_route"].eq("returned_home_unplanned").sum())
        no_pr = int(rh["exit_route"].eq("lives_with_relatives_no_pr").sum())
        self.set_share("exits.returned_home_planned_share", planned, unplanned)
        self.set_share("exits.lives_with_relatives_no_pr_share", no_pr, planned + unplanned)
        sgo = ex[(ex["exit_class"] == "sgo") & ex["last_placement"].isin(FOSTER)]
        self.set_share("exits.sgo_former_foster_carer_share", int(sgo["exit_route"].eq("sgo_former_foster_carer").sum()),
                       int(sgo["exit_route"].eq("sgo_other_carer").sum()),
                       note="SGOs from foster placements (the model applies the share only to them)")
        il = ex[ex["exit_class"] == "independent_living"]
        self.set_share("exits.independent_living_supported_share",
                       int(il["exit_route"].eq("independent_living_supported").sum()),
                       int(il["exit_route"].eq("independent_living_unsupported").sum()))
        at18 = ex[ex["exit_class"] == "at_18"]
        # Staying Put (E17) exists from 2016-17; before it, those who stayed are hidden in E8,
        # which would bias every at-18 share: use 2016-17 on when there is any
        e17_valid = at18["end"] >= pd.Timestamp(2016, 4, 1)
        if e17_valid.any():
            at18 = at18[e17_valid]
        else:
            self.note("No 18th-birthday exit from 2016-17 on (when E17, Staying Put, began): the at-18 shares "
                      "use earlier exits, where staying put is hidden in E8.")
        foster = at18[at18["last_placement"].isin(FOSTER)]
        sp = int(foster["exit_route"].eq("staying_put_18").sum())
        self.set_share("exits.at_18.staying_put_share_from_foster", sp, len(foster) - sp,
                       note="18th-birthday exits from foster placements")
        rest = at18[~at18["exit_route"].eq("staying_put_18")]
        disabled = rest["need"].eq("N2_disability")
        asc = int(rest.loc[disabled, "exit_route"].eq("adult_social_care").sum())
        self.set_share("exits.at_18.adult_social_care_share_disability", asc, int(disabled.sum()) - asc)
        nd = rest[~disabled]
        e5 = int(nd["exit_route"].eq("independent_living_supported").sum())
        self.set_share("exits.at_18.supported_living_share", e5, len(nd) - e5,
                       note="18th-birthday exits without disability, not staying put")
        self.keep("exits.at_18.staying_put_days", "Staying Put after 18 is not in SSDA903")

    def _reentry(self):
        pe = self.cleaned.periods.sort_values(KEY).copy()
        pe["start"], pe["end"] = pd.to_datetime(pe["start"]), pd.to_datetime(pe["end"])
        pe["next_start"] = pe.groupby("child_id")["start"].shift(-1)
        d = self.d.periods.merge(pe[[*KEY, "next_start"]], on=KEY, how="left")
        w1 = self.window.end
        for name, classes in (("reentry_after_return_home", ("returned_home",)),
                              ("reentry_after_order", ("sgo", "child_arrangements_order"))):
            ex = d[d["ended"] & d["exit_class"].isin(classes) & (d["end"] >= self.window.start)]
            limit = (ex["t18"] - pd.Timedelta(days=1)).clip(upper=w1)
            event = ex["next_start"].notna() & (ex["next_start"] < limit)
            until = ex["next_start"].where(event, limit)
            t = _days(ex["end"], until).clip(lower=0.5)
            path = f"exits.{name}"
            if len(ex) == 0:
                self.keep(path, "no such exit in the window")
                continue
            cf = fit_cure_exponential(t.to_numpy(), event.to_numpy(), np.zeros(len(ex), dtype=int), 1)
            p = float(cf.p[0])
            if cf.events[0] > 0:
                a, b = beta_from_mean_se(p, float(cf.p_se[0]))
            else:
                a, b = 1.0, float(len(ex)) + 1.0
            lo, hi = beta_interval(a, b)
            self.set(f"{path}.probability", _r(p), low=lo, high=hi, events=cf.events[0], n=len(ex),
                     method="cure model (probability x exponential delay), censored at the window's end and the day before 18",
                     prior={"dist": "beta", "alpha": _r(a, 6), "beta": _r(b, 6)})
            if cf.events[0] > 0:
                set_path(self.out, f"{path}.days", {"kind": "exponential", "mean_days": _r(cf.mean_days)})
                self.set_lognormal(f"{path}.days.mean_days", cf.mean_days, cf.se_log_mean, events=cf.events[0],
                                   n=len(ex), method="cure model: exponential delay to re-entry")
            else:
                self.keep(f"{path}.days", "no re-entry observed")
        self.note("Re-entry: exits in the window followed up to the child's next period of care, censored at "
                  "the window's end and the day before the 18th birthday (the model's limit). A re-entry of a "
                  "child whose earlier period ended before the window cannot be seen: it counts as a first entry.")

    def _adoption(self):
        pl, d = self.d.placements, self.d
        pfa = pl[(pl["placement_type"] == "placed_for_adoption") & ~pl["left_truncated"]]
        pfa = pfa.merge(d.periods[[*KEY, "exit_class"]], on=KEY, how="left")
        event = pfa["ended"] & pfa["is_last"] & pfa["exit_class"].eq("adopted")
        if event.sum() > 0:
            f = fit_lognormal(pfa["days"].to_numpy(), event.to_numpy())
            self._set_lognormal_dist("exits.adoption.days_placed_to_order", f,
                                     "lognormal, placed for adoption (spells begun in the window) to the adoption order; censored MLE")
        else:
            self.keep("exits.adoption.days_placed_to_order", "no adoption from a placement begun in the window")
        # placement order -> placed for adoption: an upper bound on family finding
        lg = d.legal
        po = lg[(lg["legal_status"] == "placement_order") & ~lg["left_truncated"]]
        placed = self.cleaned.placements[self.cleaned.placements["placement_type"] == "placed_for_adoption"]
        placed = placed.assign(pstart=pd.to_datetime(placed["start"]))[[*KEY, "pstart"]]
        m = po[[*KEY, "start", "obs_end", "ended"]].reset_index().merge(placed, on=KEY, how="left")
        m = m[m["pstart"].isna() | (m["pstart"] >= m["start"])]
        m = m.sort_values("pstart").drop_duplicates("index").set_index("index")
        already = po.index.difference(m.index)
        t_place = _days(m["start"], m["pstart"])
        event = m["pstart"].notna() & (m["pstart"] <= m["obs_end"]) & (m["pstart"] < self.window.end)
        same_day = event & (t_place <= 0)
        dur = t_place.where(event, _days(m["start"], m["obs_end"]))
        keep = ~same_day
        t_mean = self.tcfg.exits.adoption.days_family_finding.mean()
        if event[keep].sum() > 0:
            f = fit_lognormal(dur[keep].to_numpy(), event[keep].to_numpy())
            note = (f"placement order to placed: lognormal mean {f.params['mean_days']:.0f} days "
                    f"(90% {f.interval('mean_days')[0]:.0f}-{f.interval('mean_days')[1]:.0f}), "
                    f"{fmt_count(f.events)} placed of {fmt_count(f.n)}; {fmt_count(int(same_day.sum()))} placed the same day "
                    f"(concurrent, left out); {fmt_count(len(already))} already placed when the order was made")
            if f.params["mean_days"] < t_mean:
                self._set_lognormal_dist("exits.adoption.days_family_finding", f,
                                         "upper bound: time from placement order to placed for adoption "
                                         "(includes waiting for adopters), lognormal censored MLE", note=note)
                self.note("days_family_finding is set to the observed time from placement order to placement "
                          "for adoption, which also holds any wait for adopters (adopter supply is not in "
                          "SSDA903): with the template's adopter supply the model may take longer than the data.")
            else:
                self.keep("exits.adoption.days_family_finding",
                          f"the template's mean ({t_mean:.0f} days) is below the observed upper bound; {note}")
        else:
            self.keep("exits.adoption.days_family_finding", "no placement for adoption after an order in the window")
        for k in ("initial_adopters", "adopter_approvals_per_year", "max_days_to_match", "concurrent_share"):
            self.keep(f"exits.adoption.{k}", "adopters and matching are not in SSDA903")

    def _set_lognormal_dist(self, path: str, f: Fit, method: str, note: str = ""):
        lo, hi = f.interval("mean_days")
        self.set(path, {"kind": "lognormal", "mean_days": _r(f.params["mean_days"]), "sd_days": _r(f.params["sd_days"])},
                 low=lo, high=hi, events=f.events, n=f.n, exposure=f.exposure_days, method=method,
                 note=note or f"median {math.exp(f.params['mu']):.0f} days, sigma {f.params['sigma']:.3f}")
        self._prior(f"{path}.mean_days", f.params["mean_days"], f.se_log["mean_days"], method.split(",")[0])

    def _uasc(self):
        pe = self.d.periods
        u = pe[pe["in_window_start"] & pe["first_period"] & pe["uasc"].astype(bool)]
        self.report.data_summary["uasc_first_entries"] = len(u)
        if len(u) < MIN_MIX:
            self.keep("demand.uasc", f"fewer than {MIN_MIX} UASC entries in the window")
            return
        ages = u["age_at_entry_years"].clip(0, 17).astype(int)
        self.set("demand.uasc.age_years_distribution", mix(_counts(ages)), n=len(u),
                 method="empirical ages (whole years) of UASC at first entry (point estimate)")
        self.set_share("demand.uasc.male_share", int(u["male"].sum()), int((~u["male"].astype(bool)).sum()))
        table = {}
        for age, grp in u.groupby(ages):
            if len(grp) >= MIN_MIX:
                table[int(age)] = mix(_counts(grp["placement_type_at_entry"]))
        if table:
            self.set("demand.uasc.placement_by_age_years", table, n=len(u),
                     method=f"placement at entry of UASC by age (ages with at least {MIN_MIX})")
        ev = u["exit_class"].eq("age_assessment")
        t = _days(u["start"], u["end"].where(u["ended"], self.window.end)).clip(lower=0.5)
        cf = fit_cure_exponential(t.to_numpy(), ev.to_numpy(), np.zeros(len(u), dtype=int), 1)
        if cf.events[0] > 0:
            a, b = beta_from_mean_se(float(cf.p[0]), float(cf.p_se[0]))
            lo, hi = beta_interval(a, b)
            self.set("demand.uasc.age_assessment_18_plus_probability", _r(float(cf.p[0])), low=lo, high=hi,
                     events=cf.events[0], n=len(u), method="cure model on UASC first periods (E15 exits)",
                     prior={"dist": "beta", "alpha": _r(a, 6), "beta": _r(b, 6)})
            set_path(self.out, "demand.uasc.age_assessment_days", {"kind": "exponential", "mean_days": _r(cf.mean_days)})
            self.set_lognormal("demand.uasc.age_assessment_days.mean_days", cf.mean_days, cf.se_log_mean,
                               events=cf.events[0], method="cure model: exponential time to an 18+ age assessment")
        else:
            self.keep("demand.uasc.age_assessment_18_plus_probability", "no E15 exit of a UASC in the window")
        self.keep("demand.uasc.periods", "UASC arrivals are an input series (national schemes, waves); "
                                         "observed UASC first entries are in the data summary")

    # ================================================================ demand
    def _demand(self):
        pe = self.d.periods
        first = pe[pe["in_window_start"] & pe["first_period"] & ~pe["uasc"].astype(bool)].copy()
        self.report.data_summary["first_entries"] = len(first)
        # need mix and sex of the children entering
        need_mix = {}
        for i, band in enumerate(AGE_BANDS):
            sel = first[first["band_at_entry"] == i]
            self.set_mix(f"demand.children.need_by_age_band.{band}", _counts(sel["need_at_entry"]),
                         f"first entries aged {band}")
            need_mix[band] = get_path(self.out, f"demand.children.need_by_age_band.{band}")
        self.set_share("demand.children.male_share", int(first["male"].sum()), int((~first["male"].astype(bool)).sum()),
                       note="non-UASC children at first entry")
        if first.empty:
            self.keep("demand.referrals", "no first entry in the window")
            self.report.fit_data["entries"] = "no first entry in the window"
            return
        reg = dem.starts_regression(first.rename(columns={"band_at_entry": "band"}), self.window, self.start)
        self.report.fit_data["entries"] = EntryCounts(list(reg["years"]), np.asarray(reg["counts"], dtype=float),
                                                      np.asarray(reg["fitted_counts"], dtype=float),
                                                      bool(reg["trend_estimated"]))
        rate = reg["rate_per_year"]
        pp = first["legal_status_at_entry"].eq("police_protection")
        n_b = np.bincount(first["band_at_entry"], minlength=NB).astype(float)
        pp_b = np.bincount(first.loc[pp, "band_at_entry"], minlength=NB).astype(float)
        q = np.divide(pp_b, n_b, out=np.zeros(NB), where=n_b > 0)
        tcfg = self.tcfg
        K = dem.conversion_kernel(tcfg, self.start, need_by_band=need_mix)
        A, e = dem.solve_arrivals(rate * q, rate * (1 - q), K)
        p_edge = dem.edge_probability(tcfg)
        t_ref = self.template["demand"]["referrals"]["per_year_by_age_band"]
        t_em = self.template["edge_of_care"]["emergency_share_by_age_band"]
        ref, em = {}, {}
        for i, band in enumerate(AGE_BANDS):
            if n_b[i] == 0:
                ref[band], em[band] = 0.0, float(t_em[band])
                self.note(f"No first entry aged {band} in the window: referrals for that band set to 0.")
                continue
            ref[band] = _r(A[i] / p_edge) if p_edge > 0 else float(t_ref[band])
            em[band] = _r(min(max(e[i], 0.0), 1.0))
        years = len(reg["years"])
        self.set("demand.referrals.per_year_by_age_band", ref, n=float(n_b.sum()),
                 method="first entries a year at the start date (log-linear Poisson regression by band with a "
                        "trend) / the template's conversion referral -> edge of care -> entry")
        for i, band in enumerate(AGE_BANDS):
            if n_b[i] > 0 and np.isfinite(reg["se_log"][i]) and ref[band] > 0:
                self._prior(f"demand.referrals.per_year_by_age_band.{band}", ref[band], reg["se_log"][i],
                            "referrals (from first entries a year)", record=True)
                self.report.estimates[-1].events = n_b[i]
        self.set("edge_of_care.emergency_share_by_age_band", em, n=float(n_b.sum()), events=float(pp_b.sum()),
                 method="police protection share of first entries, converted to a share of edge-of-care arrivals")
        for i, band in enumerate(AGE_BANDS):
            if pp_b[i] > 0 and 0 < em[band] < 1:
                a = pp_b[i] + 1.0
                b = a * (1 - em[band]) / em[band]
                lo, hi = beta_interval(a, b)
                prior = {"dist": "beta", "alpha": _r(a, 6), "beta": _r(b, 6)}
                self.report.estimates.append(Estimate(f"edge_of_care.emergency_share_by_age_band.{band}", em[band],
                                                      lo, hi, events=pp_b[i], n=n_b[i],
                                                      method="emergency share of arrivals; prior Beta with its mean "
                                                             "and (police protection entries + 1) as alpha", prior=prior))
                self.out["uncertainty"].append({"path": f"edge_of_care.emergency_share_by_age_band.{band}",
                                                "prior": prior, "source": "carejourney calibrate: emergency share"})
        if reg["trend_estimated"]:
            g, se = reg["trend"], reg["trend_se"]
            g_c = float(min(max(g, -0.5), 0.5))
            self.set("demand.referrals.trend_per_year", _r(g_c), low=g - 1.645 * se, high=g + 1.645 * se,
                     n=float(n_b.sum()), method=f"log-linear Poisson regression of first entries over {years} years",
                     note="clipped to +-0.5 (the schema's range)" if g_c != g else "",
                     prior={"dist": "normal", "mean": _r(g_c, 6), "sd": _r(se, 4), "low": -0.5, "high": 0.5}
                     if np.isfinite(se) and se > 0 else None)
        else:
            self.keep("demand.referrals.trend_per_year", "one year of data: no trend can be estimated")
        self.keep("demand.referrals.steps", "step changes are kept from the template (not estimated)")
        counts_tbl = pd.DataFrame(reg["counts"], columns=list(AGE_BANDS), index=[str(y) for y in reg["years"]])
        tbl = counts_tbl.map(fmt_count).reset_index().rename(columns={"index": "collection year"})
        self.report.checks.append(("First entries (not UASC) by collection year and age band", tbl))
        conv = pd.DataFrame({
            "age band": list(AGE_BANDS),
            "first entries a year at start (fitted)": [round(x, 1) for x in rate],
            "police protection share of entries": [round(x, 3) for x in q],
            "P(entry given a non-emergency arrival)": [round(x, 3) for x in K.sum(1)],
            "arrivals a year": [round(x, 1) for x in A],
            "emergency share of arrivals": [round(x, 3) for x in e],
            "referrals a year": [ref[b] for b in AGE_BANDS],
            "expected entries a year (check)": [round(x, 1) for x in dem.expected_entries(tcfg, self.start, A, e, K)],
        })
        self.report.checks.append(("Demand: from entries to referrals", conv))
        self.note(f"Demand: the template's referral -> edge-of-care probability ({p_edge:.4f}) and edge-of-care "
                  "services are kept; referrals are set so that the model's expected first entries equal the "
                  "fitted entry rate at the start date (see estimate_demand for the formula: it ignores waiting "
                  "lists for services). First entries are periods begun in the window that are a child's first "
                  "in the data, UASC left out (they arrive separately).")
        for k in ("early_help_share", "edge_of_care_probability_without_early_help", "edge_of_care_probability_with_early_help"):
            self.keep(f"demand.referrals.{k}", "referrals and early help are not in SSDA903")

    # ================================================================ the rest
    def _horizon_and_meta(self):
        h = self.template["horizon"]
        t0, t1 = to_date(h["start_date"]), to_date(h["end_date"])
        self.out["horizon"]["start_date"] = self.start
        after = t1 + dt.timedelta(days=1)
        if (after.month, after.day) == (t0.month, t0.day):  # whole years: keep them whole
            years = after.year - t0.year
            try:
                end = self.start.replace(year=self.start.year + years)
            except ValueError:  # 29 February
                end = dt.date(self.start.year + years, 3, 1)
            self.out["horizon"]["end_date"] = end - dt.timedelta(days=1)
        else:
            self.out["horizon"]["end_date"] = self.start + (t1 - t0)
        meta = self.out.setdefault("meta", {})
        base = str(self.template.get("meta", {}).get("name", "config"))
        meta["name"] = f"{base}-calibrated-{self.start.isoformat()}"
        meta["description"] = (f"Estimated by carejourney calibrate from SSDA903 episodes, {self.window.label()}, "
                               f"on the template {base}")

    def _template_parts(self):
        for path, why in (
            ("population", "the 0-17 population is not in SSDA903"),
            ("costs", "costs are not in SSDA903"),
            ("placements.capacity", "in-house places, recruitment and matching are not in SSDA903"),
            ("placements.types.*.weekly_cost_gbp", "costs are not in SSDA903"),
            ("placements.types.*.in_area_probability", "SSDA903 as read keeps no postcodes"),
            ("placements.types.*.min_age_years / max_age_years", "structural"),
            ("edge_of_care.services", "edge-of-care services are not in SSDA903"),
            ("edge_of_care.entry_probability_without_service / days_to_entry / relapse_probability / days_to_relapse",
             "the edge of care is not in SSDA903"),
            ("demand.children.parental_factor_prevalence", "parental factors are not in SSDA903"),
            ("demand.children.sibling_group_share", "sibling groups are not in SSDA903"),
            ("exits.*.from_age_years", "structural"),
        ):
            self.keep(path, why)
        t_unc = self.template.get("uncertainty") or []
        estimated = set(self.report.estimated_paths) | {u["path"] for u in self.out["uncertainty"]}
        kept = 0
        for u in t_unc:
            p = u.get("path", "")
            if not any(p == e or p.startswith(e + ".") for e in estimated):
                self.out["uncertainty"].append(u)
                kept += 1
        if kept:
            self.keep("uncertainty (template entries)", f"{kept} entries on fields not estimated here")

    def _finish(self) -> dict:
        out = _plain(self.out)
        # an uncertainty entry must point at a number that is still there
        valid = []
        for u in out["uncertainty"]:
            try:
                v = get_path(out, u["path"])
            except (KeyError, IndexError, ValueError):
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                valid.append(u)
        out["uncertainty"] = valid
        parse_config(copy.deepcopy(out), "estimated config")
        return out


# ====================================================================== helpers
def _f(x):
    if x is None:
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _counts(s: pd.Series) -> dict:
    vc = pd.Series(s).dropna().value_counts()
    return {k: float(v) for k, v in vc.items() if v > 0}


def mix(counts: dict, digits: int = 4) -> dict:
    """Counts -> probabilities rounded to `digits`, summing to exactly 1 (largest absorbs rounding)."""
    total = float(sum(counts.values()))
    if total <= 0:
        raise ValueError("an empty mix")
    keys = [k for k, v in counts.items() if v > 0]
    out = {k: round(counts[k] / total, digits) for k in keys}
    out = {k: v for k, v in out.items() if v > 0} or {max(counts, key=counts.get): 1.0}
    big = max(out, key=out.get)
    out[big] = round(1.0 - sum(v for k, v in out.items() if k != big), 10)
    return {(int(k) if isinstance(k, (np.integer,)) else k): float(v) for k, v in out.items()}


def empirical(days: np.ndarray, max_bins: int = 20) -> dict:
    """An `empirical` distribution from quantiles of days, bounds rounded to weeks (no single child's value)."""
    days = np.sort(np.asarray(days, dtype=float))
    n_bins = int(max(1, min(max_bins, len(days) // 5)))
    q = np.quantile(days, np.linspace(0, 1, n_bins + 1))
    bounds = np.round(q / 7) * 7
    bounds[0] = 0.0
    bounds[-1] = max(math.ceil(q[-1] / 28) * 28, bounds[-2] if len(bounds) > 1 else 0, 1.0)
    bounds = np.maximum.accumulate(bounds)
    return {"kind": "empirical", "bounds_days": [float(b) for b in bounds], "weights": [1.0] * n_bins}


def _mixture_survival(scales: np.ndarray, shape: float):
    """The fitted survival averaged over spells with these Weibull scales (one per spell)."""
    u, w = np.unique(np.asarray(scales, dtype=float), return_counts=True)
    w = w / w.sum()

    def survival(days):
        x = np.asarray(days, dtype=float)[:, None]
        return np.exp(-((x / u[None, :]) ** shape)) @ w

    return survival


def _tmin(a: pd.Series, b: pd.Series) -> pd.Series:
    """Elementwise earlier of two date Series (NaT in b is ignored)."""
    return a.where(b.isna() | (a <= b), b)


def _tmax(a: pd.Series, b: pd.Series) -> pd.Series:
    return a.where(b.isna() | (a >= b), b)


def _days(a, b) -> pd.Series:
    return ((pd.Series(b) - pd.Series(a)).dt.total_seconds() / 86400.0).clip(lower=0)


def _covering(spells: pd.DataFrame, keys: pd.DataFrame, day: pd.Timestamp, col: str) -> np.ndarray:
    """The value of `col` of the spell covering `day` in each (child, period) of keys."""
    s = spells.copy()
    s["start"] = pd.to_datetime(s["start"])
    s = s[s["start"] <= day].sort_values([*KEY, "start"]).drop_duplicates(KEY, keep="last")
    out = keys.merge(s[[*KEY, col]], on=KEY, how="left")[col]
    return out.fillna("other" if col == "placement_type" else "s20").to_numpy()


def _exists_parent(d: dict, path: str) -> bool:
    node = d
    for k in path.split(".")[:-1]:
        if isinstance(node, dict) and k in node and isinstance(node[k], (dict, list)):
            node = node[k]
        else:
            return False
    return True


def _set_creating(d: dict, path: str, value):
    node = d
    keys = path.split(".")
    for k in keys[:-1]:
        if not isinstance(node.get(k), dict):
            node[k] = {}
        node = node[k]
    node[keys[-1]] = value


def _plain(x):
    """numpy scalars -> Python numbers, recursively (YAML- and pydantic-friendly)."""
    if isinstance(x, dict):
        return {_plain(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


__all__ = ["DEFAULT_TEMPLATE", "HAZARD_ROUTES", "chart_folder", "estimate_config", "load_template",
           "write_calibrated_config"]
