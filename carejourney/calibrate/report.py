"""A calibration report in Markdown with PNG charts, fit for a paper's appendix.

    write_report(fit, "fitted.yaml.report.md")          # charts in fitted.yaml.report/

Sections: summary; data used (quantities, years, geography, sources); method; fitted
values with intervals; goodness of fit (observed vs simulated 90% interval per figure,
table and charts, and the figures of the same years that were not fitted); discrepancy
trace; parameter posteriors; assumptions and notes; how to reproduce. A back-test result
adds a forecast section.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..validate.compare import coverage

GROUP_TITLES = {
    "stock": "Looked after at 31 March", "rate": "Rate per 10,000", "stock_age": "Stock by age",
    "stock_legal": "Stock by legal status", "placement": "Placement mix at 31 March",
    "placement_partial": "Placement (partial groups)", "provider": "Provider", "uasc": "UASC",
    "location": "Inside / outside the council", "starts": "Starts", "starts_age": "Starts by age",
    "starts_legal": "Starts by legal status", "ceased": "Ceased", "ceased_age": "Ceased by age",
    "ceased_reason": "Ceased by reason", "adoption": "Adoption timeliness",
}


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


def _short(q: str, n: int = 60) -> str:
    for prefix in ("CLA at 31 March by ", "Ceased by reason: ", "Starts by ", "Ceased by "):
        if q.startswith(prefix) and len(q) > n:
            q = q[len(prefix):]
    return q if len(q) <= n else q[: n - 12] + "…" + q[-11:]


def interval_chart(table: pd.DataFrame, path: Path, title: str) -> Path:
    """Observed value (x) against the simulated median (dot) and 90% interval (bar), one row per figure."""
    plt = _plt()
    t = table[table["status"] == "compared"].reset_index(drop=True)
    n = len(t)
    fig, ax = plt.subplots(figsize=(8.5, 0.42 * n + 1.3))
    y = np.arange(n)[::-1]
    ax.hlines(y, t["sim_q05"], t["sim_q95"], color="#7aa6c2", lw=6, label="simulated 90% interval")
    ax.plot(t["sim_median"], y, "o", color="#1f4e79", ms=4, label="simulated median")
    colours = np.where(t["inside"].fillna(False).to_numpy(bool), "#2e7d32", "#c62828")
    ax.scatter(t["observed"], y, marker="x", s=50, c=colours, zorder=3, label="published (green inside, red outside)")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{_short(q)} ({p})" for q, p in zip(t["quantity"], t["period"])], fontsize=8)
    ax.set_xlabel("children (or the figure's unit)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def trace_chart(history: pd.DataFrame, path: Path, fitted: float | None = None) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    h = history[history["discrepancy"] < 1e11]
    for phase, g in h.groupby("phase", sort=False):
        ax.plot(g["evaluation"], g["discrepancy"], "o", ms=3, label=phase)
    ax.plot(h["evaluation"], h["discrepancy"].cummin(), "-", color="k", lw=1, label="best so far")
    if fitted is not None and np.isfinite(fitted):
        ax.axhline(fitted, color="#c62828", ls="--", lw=1, label="fitted values (metamodel)")
    ax.set_yscale("log")
    ax.set_xlabel("evaluation")
    ax.set_ylabel("discrepancy (sum of squared z-scores)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def posterior_chart(fit, path: Path) -> Path:
    """The bootstrap distribution of each parameter, with the fitted value, the start and the 90% interval."""
    plt = _plt()
    from matplotlib.ticker import MaxNLocator
    p = len(fit.parameters)
    cols = min(p, 3)
    rows = int(np.ceil(p / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows), squeeze=False)
    for ax, r in zip(axes.flat, fit.intervals.itertuples()):
        draws = fit.bootstrap[r.path] if r.path in fit.bootstrap else []
        if r.identified and len(draws):
            ax.hist(np.clip(draws, r.low, r.high), bins=25, range=(r.low, r.high), color="#9ecae1")
        else:
            ax.axvspan(r.low, r.high, color="#eeeeee")
            ax.text(0.5, 0.5, "weakly identified:\nwhole search range", transform=ax.transAxes, ha="center",
                    va="center", fontsize=7)
        ax.axvline(r.fitted, color="#1f4e79", lw=1.5, label="fitted")
        ax.axvline(r.start, color="grey", ls=":", label="config value")
        for q in (r.q05, r.q95):
            ax.axvline(q, color="#c62828", ls="--", lw=1)
        ax.set_xlim(r.low, r.high)
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.set_title(_short(r.path, 45), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    for ax in list(axes.flat)[p:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.suptitle("Parametric bootstrap (one-step refits); dashed: 90% interval", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _num(x) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)) or x is pd.NA:
        return ""
    x = float(x)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10 or x.is_integer():
        return f"{x:.0f}" if x.is_integer() or abs(x) >= 100 else f"{x:.1f}"
    return f"{x:.3g}"


def md_table(df: pd.DataFrame, columns: dict[str, str]) -> str:
    head = "| " + " | ".join(columns.values()) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    rows = []
    for r in df.to_dict("records"):
        cells = []
        for c in columns:
            v = r.get(c, "")
            if isinstance(v, (bool, np.bool_)):
                v = "yes" if v else "**no**"
            elif isinstance(v, (int, float, np.integer, np.floating)):
                v = _num(v)
            cells.append(str("" if v is None or v is pd.NA else v).replace("|", "\\|"))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, sep, *rows])


def write_report(fit, md_path: str | Path, fig_dir: str | Path | None = None, title: str | None = None,
                 command: str | None = None, config_path: str | None = None, figures_path: str | None = None,
                 backtest=None, fig_link: str | None = None) -> Path:
    """Write the Markdown report and its charts; returns the Markdown path. `fig_link` is
    the folder name the report links to, when the charts are staged elsewhere first."""
    md_path = Path(md_path)
    if fig_dir is None:
        stem = str(md_path).removesuffix(".md")
        fig_dir = Path(stem if stem != str(md_path) else stem + ".files")
    fig_dir = Path(fig_dir)
    fig_dir.mkdir(parents=True, exist_ok=True)
    rel = fig_link or fig_dir.name
    s = fit.settings
    t = fit.targets
    years = sorted(set(map(str, t["period"])))
    out = []
    out.append(f"# {title or 'Calibration report: aggregate fit to published figures'}\n")
    writer = "carejourney compare" if backtest is not None else "carejourney fit"
    out.append(f"Generated by `{writer}` on {dt.date.today()}." +
               (f" Config: `{config_path}`." if config_path else "") +
               (f" Figures: `{figures_path}`." if figures_path else "") + "\n")
    inside, n = coverage(fit.fit_table)
    out.append("## Summary\n")
    out.append(f"{len(fit.parameters)} free parameter(s) were fitted to {len(t)} published figure(s) for "
               f"**{fit.geography}**, years ending 31 March {', '.join(years)}. The discrepancy (a sum of squared "
               f"z-scores, so about {len(t)} would be a good fit for {len(t)} figures) was "
               f"{fit.discrepancy_start:.1f} at the start values (the config's, moved 2% inside the search bounds "
               f"where at one), {fit.discrepancy_optimum:.1f} at the optimiser's "
               f"best point and {fit.discrepancy_fit:.1f} at the fitted values (local metamodel). "
               f"With parameter uncertainty, {inside} of {n} fitted figures fall inside the simulated 90% interval.\n")

    out.append("## Data used\n")
    out.append(f"Geography: {fit.geography}. Simulated from {s['fit_start']} to {s['fit_end']}"
               + (f"; only periods up to {s['until']} were used (`--until`)." if s.get("until") else ".") + "\n")
    out.append(md_table(t, {"quantity": "published quantity", "period": "year to 31 March", "observed": "value",
                            "series": "series", "measure": "model measure (cells summed)", "weight": "weight"}))
    out.append("")
    out.append("Sources:\n")
    for r in fit.sources.itertuples():
        out.append(f"- {r.source_title}" + (f" <{r.source_address}>" if r.source_address else ""))
    out.append("")
    if len(fit.excluded):
        out.append(f"Figures of the chosen quantities that were not fitted ({len(fit.excluded)}):\n")
        out.append(md_table(fit.excluded, {"quantity": "quantity", "period": "period", "observed": "value",
                                           "reason": "why not fitted"}))
        out.append("")
    out.append("Published quantities are mapped to model measures by one table "
               "(`carejourney/validate/mapping.py`); the notes on approximate rows are in the fit table below.\n")

    out.append("## Method\n")
    out.append(_method_text(fit))

    out.append("## Fitted values\n")
    iv = fit.intervals.copy()
    iv["bounds"] = [f"[{lo:g}, {hi:g}]" for lo, hi in zip(iv["low"], iv["high"])]
    iv["interval"] = [f"{_num(a)} to {_num(b)}" for a, b in zip(iv["q05"], iv["q95"])]
    iv["laplace"] = [f"{_num(a)} to {_num(b)}" for a, b in zip(iv["laplace_q05"], iv["laplace_q95"])]
    iv["ident"] = ["yes" if x else "weak" for x in iv["identified"]]
    out.append(md_table(iv, {"path": "parameter (config path)", "bounds": "search bounds", "start": "config value",
                             "optimum": "optimiser's best", "fitted": "fitted", "interval": "90% interval (bootstrap)",
                             "laplace": "90% interval (Laplace)", "ident": "identified"}))
    out.append("")
    out.append("The bootstrap interval is the one written to the config's `uncertainty:` entries (a weakly "
               "identified parameter gets its whole search range). The Laplace interval treats the figures as "
               "independent (starts in total and by age are not), so it is usually narrower; it is a check on the "
               "bootstrap. Both include the overdispersion factor given in the notes.\n")
    out.append(f"![posterior]({rel}/{posterior_chart(fit, fig_dir / 'posterior.png').name})\n")

    out.append("## Goodness of fit\n")
    out.append(f"The fitted config, with its parameter uncertainty, run for {s['check_reps']} replications "
               f"(seed {s['seed'] + 1}): published value against the simulated median and 90% interval. "
               "Residual = (simulated mean at the fitted values, from the local metamodel − published) / √vᵢ.\n")
    ft = fit.fit_table
    out.append(md_table(ft, {"quantity": "quantity", "period": "period", "observed": "published",
                             "sim_q05": "sim 5%", "sim_median": "sim median", "sim_q95": "sim 95%",
                             "inside": "inside", "pearson_residual": "residual", "note": "note"}))
    out.append("")
    for g, sub in ft.groupby("group", sort=False):
        name = GROUP_TITLES.get(g, g)
        png = interval_chart(sub, fig_dir / f"fit_{_slug(g)}.png", f"{fit.geography}: {name} (fitted)")
        out.append(f"![{name}]({rel}/{png.name})\n")
    labels = set(zip(ft["quantity"], ft["period"].astype(str)))
    not_fitted = np.array([(q, str(p)) not in labels for q, p in zip(fit.comparison["quantity"], fit.comparison["period"])],
                          dtype=bool)
    other = fit.comparison[(fit.comparison["status"] == "compared").to_numpy() & not_fitted]
    if len(other):
        oi, on = coverage(other)
        out.append("### Figures of the same years that were not fitted\n")
        out.append(f"{oi} of {on} inside the 90% interval. These were not targets, so they are a (weak) check "
                   "of the model's structure rather than of the fit.\n")
        png = interval_chart(other, fig_dir / "not_fitted.png", f"{fit.geography}: figures not fitted")
        out.append(f"![not fitted]({rel}/{png.name})\n")

    out.append("## Discrepancy trace\n")
    out.append(f"{len(fit.history)} evaluations ({s['reps']} replications each, common random numbers): "
               "the optimiser's search; the fitted values come from the metamodel step after it.\n")
    out.append(f"![trace]({rel}/{trace_chart(fit.history, fig_dir / 'discrepancy.png', fit.discrepancy_fit).name})\n")

    if backtest is not None:
        bi, bn = backtest.coverage
        out.append("## Back-test: forecasts after the fitted years\n")
        out.append(f"Fitted on periods up to {backtest.until}; forecasts of later published figures "
                   f"(no re-anchoring): {bi} of {bn} inside the 90% interval.\n")
        bt = backtest.table[backtest.table["status"] == "compared"]
        out.append(md_table(bt, {"quantity": "quantity", "period": "period", "observed": "published",
                                 "sim_q05": "sim 5%", "sim_median": "sim median", "sim_q95": "sim 95%",
                                 "inside": "inside"}))
        out.append("")
        if len(bt):
            png = interval_chart(bt, fig_dir / "backtest.png", f"{fit.geography}: forecasts after {backtest.until}")
            out.append(f"![back-test]({rel}/{png.name})\n")

    out.append("## Assumptions and limitations\n")
    for a in _assumptions(fit):
        out.append(f"- {a}")
    out.append("")
    if command:
        out.append("## Reproduce\n")
        out.append(f"```\n{command}\n```\n")
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text("\n".join(out), encoding="utf-8")
    return md_path


def _method_text(fit) -> str:
    s = fit.settings
    opt = ("Nelder-Mead (scipy.optimize.minimize), first simplex 15% of each parameter's range"
           if s["method"] == "nelder-mead" else
           "a trust-region reflective least-squares solver (scipy.optimize.least_squares) on the residuals "
           "√(wᵢ/vᵢ)(mᵢ − yᵢ), with central differences of 0.25 logit units")
    return f"""1. **Discrepancy.** D(θ) = Σᵢ wᵢ (mᵢ(θ) − yᵢ)² / vᵢ, where yᵢ is the published figure, mᵢ(θ) the mean
   of the simulated figure over R = {s['reps']} replications, wᵢ its weight and vᵢ = max(yᵢ, 1) + rᵢ² (Poisson
   variance of a count plus the publication rounding rᵢ; non-counts use (0.1 yᵢ)²). Each term is roughly a
   squared z-score.
2. **Common random numbers.** Every evaluation runs replications 0–{s['reps'] - 1} from seed {s['seed']}, so the
   comparison between parameter values is not swamped by simulation noise. The run is cut to end on
   {s['fit_end']}, the last fitted 31 March.
3. **Optimisation** of D over z = logit((x − low)/(high − low)) for each parameter x, so the search is
   unbounded and every value stays inside its bounds: {opt}; budget {s['max_evaluations']} evaluations.
4. **Local metamodel.** {s['bootstrap']} single replications, each with its own seed, at parameter values
   scattered around the optimiser's best point z\\* (0.3 logit units sd per parameter); a linear regression
   of each simulated figure on the offsets gives the mean at z\\* (from many more replications than the
   optimiser used), the Jacobian J and residuals that sample the figures' joint noise. With
   G = (JᵀAJ)⁻¹JᵀA, A = diag(wᵢ/vᵢ), one Gauss–Newton step z_fit = z\\* − G(mean − y), kept inside the
   design's range, corrects the optimiser's noise; x(z_fit) are the fitted values.
5. **Parametric bootstrap with one-step refits** (cf. the k-step bootstrap of Andrews 2002): for every
   residual vector r_b (a simulated data set minus its expected value), z_b = z_fit + c·G·r_b, with
   c² = (1 + (p + 1)/B)·φ·B/(B − p − 1): the metamodel's own estimation noise, and φ = max(1, D/(n − p))
   for overdispersion when the model fits worse than count noise allows. The 5%, 50% and 95% quantiles
   of x(z_b) are the intervals; the residuals keep the correlations between figures (e.g. starts in total
   and by age). A parameter whose standard deviation in z from the data's noise alone (before φ) exceeds
   1 is reported as weakly identified, with its whole search range as the interval, and is not moved by
   the step.
6. **Output.** The fitted values are substituted in the config; each parameter gets an `uncertainty:` entry,
   normal with mean = bootstrap median and sd = (95% − 5%)/3.29, truncated to the bounds (uniform on the
   bounds if weakly identified), so that runs of the fitted config carry the fit's uncertainty. The
   goodness-of-fit check runs that config.

"""


def _assumptions(fit) -> list[str]:
    a = [
        "Published figures are treated as independent noisy observations of the simulated ones; their only "
        "error model is Poisson-like count noise plus publication rounding (no reporting error, no revisions "
        "beyond using the revised series where both are published).",
        "Parameters not listed as free keep the config's values, including every [ASSUME] in it; the fitted "
        "values are conditional on them.",
        "The uniform prior on each parameter's search bounds is part of the result: intervals that reach a "
        "bound mean the data do not pin the parameter down within it.",
        "Simulation noise in the objective (a finite number of replications) limits the optimiser's precision. "
        "The bootstrap accounts for the data's own randomness and, through φ, for misfit in aggregate; it is "
        "linear around the optimum (one-step refits) and does not explore other optima.",
    ]
    notes = set()
    for n in fit.fit_table["note"].dropna():
        for part in str(n).split("; "):
            if part.startswith(("APPROXIMATE", "the model", "like-for-like", "partial")):
                notes.add(part)
    a += [f"Mapping: {n}" for n in sorted(notes)]
    a += list(fit.notes)
    return a
