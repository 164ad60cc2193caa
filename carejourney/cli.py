"""The command line: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import errno
import signal
import sys
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from .commands import non_negative_int, os_error_text
from .config import ConfigError, load_config
from .config.loader import ConfigWarning
from .experiment import ExperimentError
from .report import ReportError
from .results import PathError
from .runner import MAX_REPS, RunError


def _progress(total: int, desc: str):
    from .progress import progress_bar
    bar = progress_bar(total, desc)
    return bar, bar.update


def _warning(msg: str):
    print(f"warning: {msg}", file=sys.stderr)


def cmd_check(args) -> int:
    from .config.loader import is_experiment_file, read_yaml

    if is_experiment_file(read_yaml(args.config)):
        from .experiment import load_experiment

        exp = load_experiment(args.config)  # checks its config too
        print(f"{args.config}: OK - experiment {exp.spec.experiment.name}, {len(exp.scenarios)} scenario(s), "
              f"{len(exp.spec.levers)} lever(s), config {exp.config_path.name}")
        return 0
    cfg = load_config(args.config)  # its warnings: `warning:` lines (_config_warnings_as_lines)
    opening = cfg.opening.children
    print(f"{args.config}: OK - {cfg.meta.name}, {cfg.horizon.start_date} to {cfg.horizon.end_date}, "
          f"{opening} looked after at the start{' of the warm-up' if cfg.horizon.warmup_days else ''}, "
          f"{len(cfg.edge_of_care.services)} edge-of-care service(s)")
    return 0


def cmd_run(args) -> int:
    from .results import (
        atomic_dir,
        check_out_dir,
        default_out_dir,
        may_replace,
        write_manifest,
        write_table,
    )
    from .runner import RUN_BYTES_PER_REP_YEAR, memory_refusal, run_replications
    from .summary import summary_text

    cfg = load_config(args.config)
    if why := memory_refusal(cfg, args.reps, RUN_BYTES_PER_REP_YEAR, "stacking and summarising them"):
        raise RunError(why)
    out = Path(args.out) if args.out else default_out_dir(cfg.meta.name, args.config)
    target = check_out_dir(out, "run", "run")  # before simulating: refusing afterwards wastes the run
    bar, tick = _progress(args.reps, "replications")
    with bar:
        result = run_replications(cfg, args.reps, args.seed, workers=args.workers, keep_events=args.events, progress=tick)
    q = result.quantiles("annual")
    with atomic_dir(target, may_replace("run", "run", target)) as tmp:
        write_table(result.annual, tmp, "annual")
        write_table(result.monthly, tmp, "monthly")
        write_table(q, tmp, "annual_summary")
        write_table(result.quantiles("monthly"), tmp, "monthly_summary")
        if result.events:
            (tmp / "events").mkdir()
            for name, df in result.events.items():
                write_table(df, tmp / "events", name)
        write_manifest(tmp, command="run", config=str(args.config), config_name=cfg.meta.name,
                       replications=args.reps, seed=args.seed, carejourney_version=__version__)
    print(summary_text(q, cfg, args.reps, args.seed))
    print(f"\nTables written to {out}/ (annual, monthly and their summaries, as Parquet and CSV)")
    return 0


def cmd_experiment(args) -> int:
    from .experiment import run_experiment
    from .experiment_summary import experiment_summary_text
    from .report import ACTUALS_COPY, report_dir, withdraw_report, write_report

    out = run_experiment(args.experiment, reps=args.reps, seed=args.seed, workers=args.workers,
                         out=args.out, scheduler=args.scheduler, check_out=None if args.no_report else report_dir,
                         before_tables=None if args.no_report else withdraw_report)
    print(experiment_summary_text(out))
    if not args.no_report:
        # a report made with `report --actuals` keeps its actuals when the batch is resumed or extended
        kept = report_dir(out) / ACTUALS_COPY
        actuals = kept if kept.is_file() else None
        html = write_report(out, actuals=actuals, warn=lambda msg: print(f"warning: {msg}", file=sys.stderr))
        print(f"\nReport: {html} (charts and summary.xlsx beside it)")
        if actuals is not None:
            print(f"The report keeps checking the monthly counts of the report it replaced ({kept}); "
                  "`carejourney report` without --actuals drops them.")
    print(f"Results: {out}/ (summary, savings, targets and monthly_bands as Parquet and CSV; "
          f"annual as Parquet only)")
    old_report = report_dir(out) / "report.html"
    if args.no_report and old_report.is_file():  # QA18: an extended batch left it showing the fewer reps
        print(f"note: {old_report} is from before this run and was not updated (--no-report): "
              f"`carejourney report {out}` brings it up to date", file=sys.stderr)
    return 0


def cmd_report(args) -> int:
    from .report import write_report
    html = write_report(args.results, args.out, actuals=args.actuals,
                        warn=lambda msg: print(f"warning: {msg}", file=sys.stderr))
    print(f"Report written: {html}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="carejourney", description="Simulate children's journeys through care.")
    p.add_argument("--version", action="version", version=f"carejourney {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("check", help="validate a config (or an experiment file) and explain every error")
    c.add_argument("config", help="a config, or an experiment file (which checks its config too)")
    c.set_defaults(func=cmd_check)

    r = sub.add_parser("run", help="run a config's baseline and write its tables")
    r.add_argument("config")
    r.add_argument("--reps", type=int, default=20, help="replications (default 20)")
    r.add_argument("--seed", type=non_negative_int, default=1, help="random seed (default 1)")
    r.add_argument("--out", help="output folder (default results/<config name>)")
    r.add_argument("--workers", type=int, default=1, help="local processes (default 1)")
    r.add_argument("--events", action="store_true", help="also write replication 0's event log")
    r.set_defaults(func=cmd_run)

    e = sub.add_parser("experiment", help="run a baseline and action-plan scenarios; write results and a report")
    e.add_argument("experiment", help="experiment YAML, e.g. experiments/cambridgeshire-action-plan.yaml")
    e.add_argument("--reps", type=int, help="replications per scenario (default: the experiment file's)")
    e.add_argument("--seed", type=non_negative_int, help="random seed (default: the experiment file's)")
    e.add_argument("--workers", type=int, help="local processes (default: all cores)")
    e.add_argument("--out", help="results folder (default results/<experiment name>); rerun to resume")
    e.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    e.add_argument("--no-report", action="store_true", help="skip the HTML/PNG/Excel report")
    e.set_defaults(func=cmd_experiment)

    rp = sub.add_parser("report", help="write the HTML report, PNG charts and Excel workbook of a results folder")
    rp.add_argument("results")
    rp.add_argument("--out", help="report folder (default RESULTS/report)")
    rp.add_argument("--actuals", help="CSV of date,lac_children to check against the monitoring band")
    rp.set_defaults(func=cmd_report)

    for name in ("calibrate", "compare", "fit", "export_903"):
        try:
            module = __import__(f"carejourney.commands.{name}", fromlist=["add_parser"])
        except ImportError:
            continue
        module.add_parser(sub)
    for command in sub.choices.values():  # a bad option's error shows its own command's usage
        command.set_defaults(command_parser=command)
    return p


MAX_WORKERS = 1024


@contextmanager
def _config_warnings_as_lines():
    """Every command prints a config's warnings as `warning: ...` lines (as `run` and `check`
    do), not as Python warnings with a source line, whichever code path loads the config."""
    with warnings.catch_warnings():  # restores the filters and showwarning afterwards
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, ConfigWarning):
                _warning(str(message))
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        warnings.simplefilter("default", ConfigWarning)  # shown as `run` shows them, whatever -W says
        yield


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    parser = getattr(args, "command_parser", parser)
    for name, most in (("reps", MAX_REPS), ("workers", MAX_WORKERS)):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            parser.error(f"--{name} must be at least 1")
        if value is not None and value > most:
            parser.error(f"--{name} must be at most {most:,}")
    for name in ("out", "template", "params", "actuals", "scheduler"):
        if getattr(args, name, None) == "":
            parser.error(f"--{name} is empty")  # not silently the default
    # a batch system's kill stops as Ctrl-C does (only the main thread may set a handler)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if main_thread else None
    try:
        with _config_warnings_as_lines():
            return args.func(args)
    except (ConfigError, ExperimentError, ReportError, PathError, RunError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a path the checks did not foresee: still one line, not a traceback
        # "operation not permitted" alone does not say what was refused (QA15: an immutable --out)
        why = (f" (carejourney {args.command} may not change it: the file or folder, or the file system, is locked "
               "or read-only)" if err.errno in (errno.EPERM, errno.EROFS) else "")
        print(f"error: {os_error_text(err)}{why}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        if args.command == "experiment":
            print("interrupted: finished chunks are kept; rerun the same command to resume", file=sys.stderr)
        else:
            print("interrupted: nothing was written", file=sys.stderr)
        return 143 if isinstance(stop, Terminated) else 130  # 128 + the signal, as a shell reports it
    finally:
        if main_thread and previous is not None:  # None: a handler set outside Python, left as it is
            signal.signal(signal.SIGTERM, previous)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is (the exit code tells them apart)."""


def _terminated(signum, frame):
    """SIGTERM (a batch system's time limit, `kill`): stop the workers and keep finished chunks,
    as Ctrl-C does; the workers reset it to the default (runner._ignore_interrupts)."""
    raise Terminated


if __name__ == "__main__":
    sys.exit(main())
