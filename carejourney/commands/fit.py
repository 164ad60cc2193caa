"""`carejourney fit`: calibrate free parameters to published (aggregate) figures.

    carejourney fit CONFIG --against FIGURES.csv --params PARAMS.yaml --out FITTED.yaml [--until YEAR]

For when no child-level data is available. PARAMS.yaml lists the free parameters as
dotted config paths with bounds, and optionally which published quantities (or mapping
groups) to fit, their weights and settings:

    parameters:
      demand.referrals.per_year_by_age_band.under_1: [500, 4000]
      exits.returned_home.days.mean_days: [400, 3000]
    groups: [starts, ceased_reason, stock, placement]      # the default
    settings: {reps: 8, max_evaluations: 150, bootstrap: 200}

Writes FITTED.yaml (extending CONFIG with the fitted values and `uncertainty:` entries, so
`carejourney run FITTED.yaml` samples them), FITTED.yaml.report.md and the charts and
tables in FITTED.yaml.report/. Method: carejourney/calibrate/aggregate.py.
Exit code 2 for bad input (config, figures, params, nothing to fit). FITTED.yaml and its report
may not be an input (the config, a config it extends, the figures, the params), and an existing
file there is replaced only if fit wrote it (its first line is fit's header comment); an
existing chart folder only if it is empty or holds fit's marker file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import bad_input_exits_2, input_file, non_negative_int, read_figures_of, say


def add_parser(subparsers):
    p = subparsers.add_parser(
        "fit", help="fit free parameters to published figures (aggregate calibration)",
        description="Fit the free parameters listed in PARAMS.yaml so that simulated starts, ceased by reason, "
                    "stock at 31 March and placement mix match published figures; write the fitted config "
                    "with uncertainty entries and a calibration report.")
    p.add_argument("config")
    p.add_argument("--against", required=True, metavar="FIGURES.csv", help="published figures (CSV)")
    p.add_argument("--params", required=True, metavar="PARAMS.yaml", help="free parameters with bounds")
    p.add_argument("--out", required=True, metavar="CONFIG", help="where to write the fitted config (YAML)")
    p.add_argument("--until", type=int, metavar="YEAR", help="fit only periods <= YEAR (year ending 31 March)")
    p.add_argument("--geography", help="geography in the figures file (default: the config's meta.geography)")
    p.add_argument("--reps", type=int, help="replications per evaluation (default 8, or the params file's)")
    p.add_argument("--seed", type=non_negative_int, help="random seed (default 1)")
    p.add_argument("--max-evaluations", type=int, help="optimiser budget (default 150)")
    p.add_argument("--bootstrap", type=int, help="simulated data sets for the intervals (default 200)")
    p.add_argument("--workers", type=int, default=1, help="local processes for the bootstrap and check (default 1)")
    p.add_argument("--rebase-start", type=int, metavar="YEAR",
                   help="start the run on 1 April YEAR from the published stock at 31 March YEAR")
    p.add_argument("--self-contained", action="store_true",
                   help="write the whole config instead of `extends:` the original plus the changes")
    p.set_defaults(func=bad_input_exits_2(_run))
    return p


# The first lines fit writes (aggregate_write._header, report.write_report without a title): an
# existing --out or report is replaced only if it starts so, i.e. fit wrote it (check_own_out_file).
CONFIG_FIRST_LINE = "# Fitted by `carejourney fit`"
REPORT_FIRST_LINE = "# Calibration report: aggregate fit to published figures"
# The chart folder's own marker (as run's manifest.json): an existing FITTED.yaml.report/ is
# replaced only if it is empty or holds this file, so a folder of the user's is never emptied.
FIGDIR_MARKER = ".written-by-carejourney-fit"


def _check_outputs(out: Path, md: Path, figdir: Path, inputs) -> None:
    from ..results import PathError, check_own_out_file

    check_own_out_file(out, "fit", CONFIG_FIRST_LINE, inputs)
    check_own_out_file(md, "fit", REPORT_FIRST_LINE, inputs)
    if figdir.exists() and not figdir.is_dir():
        raise PathError(f"{figdir} exists and is not a folder")
    if figdir.is_dir() and any(figdir.iterdir()) and not (figdir / FIGDIR_MARKER).is_file():
        raise PathError(f"{figdir} exists and was not written by carejourney fit: choose another --out or remove it")


def _run(args) -> int:
    from ..calibrate.aggregate import fit_aggregate
    from ..calibrate.aggregate_params import read_params
    from ..calibrate.aggregate_write import write_fitted_config
    from ..calibrate.report import write_report
    from ..config.loader import load_config_chain
    from ..results import atomic_dir, check_out_file

    cfg, data, extended = load_config_chain(args.config)
    input_file(args.against, "--against")
    figures = read_figures_of(args.against, args.geography or cfg.meta.geography)
    input_file(args.params, "--params")
    spec = read_params(args.params)
    # the outputs are checked before the fit (minutes), not found unusable after it
    out = check_out_file(args.out)
    md = check_out_file(str(out) + ".report.md")
    # not an input (`fit f.yaml --out f.yaml` would make f.yaml extend itself), nor a file fit did not write
    inputs = [("the config", args.config), *(("the config's base (extends:)", p) for p in extended),
              ("--against", args.against), ("--params", args.params)]
    figdir = Path(str(out) + ".report")
    _check_outputs(out, md, figdir, inputs)
    fit = fit_aggregate(data, figures, spec, geography=args.geography, until=args.until, reps=args.reps,
                        seed=args.seed, max_evaluations=args.max_evaluations, bootstrap=args.bootstrap,
                        workers=args.workers, rebase=args.rebase_start, progress=say, source=str(args.against),
                        params_source=str(args.params))
    _check_outputs(out, md, figdir, inputs)  # again: the fit took minutes, something else may have written there
    try:
        # the charts and tables are staged beside their folder and swapped in whole (atomic_dir)
        with atomic_dir(figdir) as stage:
            (stage / FIGDIR_MARKER).write_text("written by carejourney fit; the folder is replaced by the next fit\n")
            write_fitted_config(fit, out, base_path=None if args.self_contained else args.config, report_name=md.name)
            command = " ".join(["carejourney"] + sys.argv[1:]) if sys.argv and "fit" in sys.argv else None
            write_report(fit, md, stage, config_path=args.config, figures_path=args.against, command=command,
                         fig_link=figdir.name)
            for name, df in (("fit_table", fit.fit_table), ("intervals", fit.intervals), ("history", fit.history),
                             ("bootstrap", fit.bootstrap), ("targets", fit.targets)):
                df.to_csv(stage / f"{name}.csv", index=False)
    except BaseException:
        # the config, its report and its charts are one result: none of them, or all
        out.unlink(missing_ok=True)
        md.unlink(missing_ok=True)
        raise
    finally:  # write_fitted_config stages the config in FITTED.yaml.tmp; never leave it behind
        out.with_suffix(out.suffix + ".tmp").unlink(missing_ok=True)
    print(fit.summary())
    for note in fit.notes:
        print(f"note: {note}")
    print(f"\nFitted config written to {out}\nReport written to {md} (charts and tables in {figdir}/)")
    return 0
