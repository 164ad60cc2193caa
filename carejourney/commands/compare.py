"""`carejourney compare`: simulate a config and compare it with published figures.

    carejourney compare CONFIG --against FIGURES.csv [--reps N] [--seed S] [--geography NAME] [--out FILE.csv]
                        [--rebase-start YEAR]
    carejourney compare CONFIG --against FIGURES.csv --backtest-until YEAR --params PARAMS.yaml [--report FILE.md]

Unlike `check` (which only validates a config) this runs it. The report is printed and,
with --out, saved as CSV; the exit code is 0 even when figures fall outside their
intervals, and 2 for bad input (the config, the figures file, the geography, the params).
The saved table ends with the run it compares: run_config, run_start and run_end (the
simulated dates, so a --rebase-start run says where it started), run_reps and run_seed.
With --backtest-until the free parameters in PARAMS.yaml are fitted on periods <= YEAR
(see `carejourney fit`) and only the forecasts of later periods are compared. With
--rebase-start YEAR (alone) the config is run from 1 April YEAR, starting from the published
stock at 31 March YEAR, and compared in-sample from that year on.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import bad_input_exits_2, input_file, non_negative_int, read_figures_of, say

# The first line of what compare writes: an existing --out or --report is replaced only if it
# starts so, i.e. compare wrote it (results.check_own_out_file)
COMPARISON_FIRST_LINE = "quantity,period,observed,"
BACKTEST_REPORT_FIRST_LINE = "# Back-test: "


def add_parser(subparsers):
    p = subparsers.add_parser(
        "compare", help="simulate a config and compare it with published figures",
        description="Simulate CONFIG and compare it, figure by figure and year by year, with published figures "
                    "(the columns of published_figures.csv): observed value, simulated median and 90% interval, "
                    "inside or not; figures the model cannot reproduce are listed with the reason. "
                    "Exits 1 when no figure could be compared, 2 on bad input.")
    p.add_argument("config")
    p.add_argument("--against", required=True, metavar="FIGURES.csv", help="published figures (CSV)")
    p.add_argument("--reps", type=int, default=20, help="replications (default 20)")
    p.add_argument("--seed", type=non_negative_int, default=1, help="random seed (default 1)")
    p.add_argument("--geography", help="geography in the figures file (default: the config's meta.geography)")
    p.add_argument("--out", metavar="FILE.csv", help="also save the comparison table as CSV")
    p.add_argument("--workers", type=int, default=1, help="local processes (default 1)")
    p.add_argument("--backtest-until", type=int, metavar="YEAR",
                   help="fit PARAMS on periods <= YEAR, then compare only the forecasts of later periods")
    p.add_argument("--params", metavar="PARAMS.yaml", help="free parameters for --backtest-until (see `fit`)")
    p.add_argument("--rebase-start", type=int, metavar="YEAR",
                   help="start the run on 1 April YEAR from the published stock at 31 March YEAR (the config's "
                        "opening mix scaled to it); in a back-test the default is automatic when the config starts "
                        "after the fitted years")
    p.add_argument("--report", metavar="FILE.md", help="back-test: also write the calibration report")
    p.set_defaults(func=bad_input_exits_2(_run))
    return p


def _run(args) -> int:
    from ..calibrate.aggregate_params import ParamsError
    from ..config import load_config
    from ..config.loader import load_config_chain
    from ..results import check_out_file, check_own_out_file
    from ..validate.compare import compare, coverage, format_comparison

    if (args.backtest_until is None) != (args.params is None):
        raise ParamsError("--backtest-until and --params go together: the back-test fits PARAMS on periods "
                          "<= YEAR and compares the later ones")
    if args.report is not None and args.backtest_until is None:
        raise ParamsError("--report is for the back-test: give it with --backtest-until and --params")
    if args.reps < 1 or args.workers < 1:
        raise ParamsError("--reps and --workers must be at least 1")
    # outputs checked before simulating, not found unusable after it
    for path in (args.out, args.report):
        if path:
            check_out_file(path)
    # never over a file compare did not write, nor over what it reads (QA18: --out replaced the
    # config, the figures file, or anyone's file, with exit 0)
    inputs = [("the config", args.config), ("--against", args.against), ("--params", args.params)]
    if args.out:
        check_own_out_file(args.out, "compare", COMPARISON_FIRST_LINE, inputs)
    if args.report:
        check_own_out_file(args.report, "compare", BACKTEST_REPORT_FIRST_LINE, [*inputs, ("--out", args.out)],
                           option="--report")
    input_file(args.against, "--against")
    if args.backtest_until is None:
        cfg = load_config(args.config)
        figures = read_figures_of(args.against, args.geography or cfg.meta.geography)
        if args.rebase_start is not None:
            from ..calibrate.aggregate_rebase import rebase_start
            from ..config.loader import config_warnings, parse_config, read_config_chain
            from ..validate.figures import select_geography
            data = read_config_chain(args.config)[0]
            # the stock to start from is this council's (the figures file holds several)
            own = select_geography(figures, args.geography or cfg.meta.geography, str(args.against))
            data, notes = rebase_start(data, own, args.rebase_start)
            source = f"{args.config} (started on 1 April {args.rebase_start})"
            cfg = parse_config(data, source)
            for note in notes:
                print(f"note: {note}")
            for msg in config_warnings(cfg):  # the rebased stock against the config's population, say
                say(f"warning: {source}: {msg}")
        # The run stops at the last published year: arrivals are drawn a year at a time, so
        # these are exactly the first years `run` shows with the same seed, sooner.
        table = compare(cfg, figures, args.reps, args.seed, geography=args.geography, workers=args.workers,
                        source=str(args.against))
        print(format_comparison(table))
        _save(table, args.out)
        return _nothing_compared(table, args.against)

    from ..calibrate.aggregate_backtest import backtest
    from ..calibrate.aggregate_params import read_params
    cfg, data, _ = load_config_chain(args.config)
    figures = read_figures_of(args.against, args.geography or cfg.meta.geography)
    input_file(args.params, "--params")
    spec = read_params(args.params)
    result = backtest(data, figures, spec, args.backtest_until, geography=args.geography, reps=args.reps,
                      seed=args.seed, workers=args.workers,
                      rebase=args.rebase_start if args.rebase_start is not None else "auto",
                      progress=say, source=str(args.against), params_source=str(args.params))
    print(result.fit.summary())
    print()
    for note in result.notes:
        print(f"note: {note}")
    print()
    print(format_comparison(result.table))
    inside, n = coverage(result.table)
    print(f"\nBack-test: fitted on periods <= {args.backtest_until}; {inside} of {n} forecast figures for later "
          f"periods inside their 90% interval" + (f" ({inside / n:.0%})." if n else "."))
    _save(result.table, args.out)
    if args.report:
        from ..calibrate.report import write_report
        md = write_report(result.fit, args.report, config_path=args.config, figures_path=args.against,
                          title=f"Back-test: fit on periods up to {args.backtest_until}, forecast later periods",
                          command=" ".join(["carejourney"] + sys.argv[1:]) if sys.argv else None, backtest=result)
        print(f"Report written to {md}")
    return _nothing_compared(result.table, args.against)


def _nothing_compared(table, against) -> int:
    """Exit 1 when no figure of the file could be compared (the reasons are printed above):
    a script must not read an empty comparison as a pass."""
    from ..validate.compare import coverage

    if coverage(table)[1]:
        return 0
    print(f"carejourney compare: no figure in {against} could be compared with this run "
          "(the reasons are listed above)", file=sys.stderr)
    return 1


# what the saved table cannot show otherwise: which run it compares (a --rebase-start run
# starts later than its config says)
PROVENANCE = {"config": "run_config", "start": "run_start", "end": "run_end", "reps": "run_reps", "seed": "run_seed"}


def _save(table, out):
    if out:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        table.assign(**{col: table.attrs[key] for key, col in PROVENANCE.items() if key in table.attrs}).to_csv(
            out, index=False)
        print(f"\nComparison table written to {out}")
