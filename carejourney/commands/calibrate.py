"""`carejourney calibrate`: a config estimated from a council's SSDA903 returns.

    carejourney calibrate returns/ --start 2016-04-01 --out configs/mycouncil.yaml \
        [--template configs/cambridgeshire-2015.yaml] [--years 2014-2016]

Writes CONFIG (which `carejourney run` accepts, with parameter uncertainty as `uncertainty:`
entries) and CONFIG's stem + `.estimation.md` beside it: every estimated value with its 90%
interval, events, exposure and method, what came from the template, and fit plots (PNGs in
CONFIG's stem + `.estimation/`, linked from the report: Kaplan-Meier vs fitted time to move
and proceedings length, observed vs fitted exit rates, entries a year vs the fitted trend,
the opening stock), and CONFIG's stem + `.cleaning.csv`: every row cleaning removed, changed
or flagged (file, row, child pseudonym, action, rule, reason). They are put in place together.
Malformed returns print every problem found and exit with code 2; nothing is written on failure.
CONFIG (and its report and cleaning report) may not be the template, and an existing file there
is replaced only if calibrate wrote it (its first line is calibrate's header comment).
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import sys
from pathlib import Path


def cmd_calibrate(args) -> int:
    code = _calibrate(args)
    if code:
        _note_earlier_outputs(args.out)
    return code


def _note_earlier_outputs(out: str) -> None:
    """A failed run writes nothing, so files at --out are an earlier run's: say so, since they
    could be taken for this run's (QA14: they were left without a word)."""
    from ..calibrate.estimate import cleaning_file, report_file

    earlier = [p for p in (Path(out), report_file(out), cleaning_file(out)) if Path(p).is_file()]
    if earlier:
        print(f"note: nothing was written; {', '.join(map(str, earlier))} "
              f"{'is' if len(earlier) == 1 else 'are'} from an earlier run, left as "
              f"{'it was' if len(earlier) == 1 else 'they were'}", file=sys.stderr)


def _calibrate(args) -> int:
    from ..calibrate.estimate import (
        CONFIG_FIRST_LINE,
        DEFAULT_TEMPLATE,
        REPORT_FIRST_LINE,
        chart_folder,
        cleaning_file,
        estimate_config,
        load_template,
        report_file,
        write_calibrated_config,
    )
    from ..calibrate.estimate_arrivals import UASC_ARRIVALS_PATH
    from ..calibrate.estimate_data import missing_years
    from ..calibrate.estimate_population import POPULATION_PATH
    from ..config import parse_config
    from ..config.loader import config_warnings
    from ..results import check_out_file, check_own_out_file
    from ..ssda903 import Ssda903Error, clean, read_ssda903
    from ..ssda903.report import CLEANING_CSV_HEADER, summarise

    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.start):  # fromisoformat also takes 20180401, 2018-W14-1
            raise ValueError
        start = dt.date.fromisoformat(args.start)
    except ValueError:
        print(f"error: --start {args.start!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
        return 2
    check_out_file(args.out)  # a bad --out or template: cli.main prints it, exit 2
    # never the template, never a file calibrate did not write (see check_own_out_file)
    inputs = [("--template", args.template)] if args.template else [("the default template", DEFAULT_TEMPLATE)]
    for path, first_line in ((args.out, CONFIG_FIRST_LINE), (report_file(args.out), REPORT_FIRST_LINE),
                             (cleaning_file(args.out), CLEANING_CSV_HEADER)):
        check_own_out_file(path, "calibrate", first_line, inputs)
    template = None
    if args.template:
        template = load_template(args.template)
        # validated here, under its own name: estimate_config would call it just "template"
        parse_config(copy.deepcopy(template), str(args.template))
    try:
        cleaned = clean(read_ssda903(args.ssda903_dir))
    except Ssda903Error as err:
        print(f"error: {err}", file=sys.stderr)
        if args.years:  # QA: a bad return outside --years still stopped the run, with no word why
            print(f"note: --years {args.years} chooses the years the estimates use, but every return under "
                  f"{args.ssda903_dir} is read and checked (cleaning looks across years): move a return you "
                  "cannot fix out of the folder", file=sys.stderr)
        return 2
    # the data's warnings go to stderr with every other, before anything can fail (QA18: they
    # were in the summary on stdout, and not shown at all when estimating then failed)
    for warning in cleaned.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if cleaned.episodes.empty:  # a config from 0 children is no estimate: say why instead
        print(f"error: {args.ssda903_dir}: no looked-after episodes left after cleaning "
              f"({cleaned.rows_read} episode rows read)", file=sys.stderr)
        for line in summarise(cleaned.report):
            print(line, file=sys.stderr)
        return 2
    try:
        config, report = estimate_config(cleaned, start, template=template, years=args.years)
        missing = missing_years(cleaned, args.years)
        if missing:
            have = ", ".join(str(y) for y in sorted(cleaned.years)) or "none"
            print(f"warning: --years {args.years}: no returns in {args.ssda903_dir} for collection year(s) "
                  f"{', '.join(map(str, missing))} (the data has {have}); estimated from {report.window}",
                  file=sys.stderr)
        if report.data_summary.get("first_entries") == 0:
            print(f"warning: no child entered care for the first time in {report.window}: demand (referrals by "
                  "age band) is the template's, not this council's", file=sys.stderr)
        kept = dict(report.from_template)
        if UASC_ARRIVALS_PATH in kept:  # QA21: only the estimation report said so
            print(f"warning: {report.data_summary.get('uasc_first_entries', 0)} UASC entered care for the first time "
                  f"in {report.window} ({kept[UASC_ARRIVALS_PATH]}): UASC arrivals (demand.uasc) are the template's, "
                  "not this council's: set demand.uasc.periods to the arrivals the council expects (0 for none)",
                  file=sys.stderr)
        if POPULATION_PATH in report.estimated_paths:
            (year, children), = config["population"]["children_0_17_by_year"].items()
            print(f"warning: the template's 0-17 population is too small for this council's referrals; "
                  f"{children:,.0f} children aged 0-17 in {year} were estimated from its looked-after stock "
                  "[ASSUME]: replace them with the council's ONS mid-year estimates", file=sys.stderr)
        for msg in config_warnings(parse_config(copy.deepcopy(config), str(args.out))):
            print(f"warning: {args.out}: {msg}", file=sys.stderr)
        config_path, report_path = write_calibrated_config(config, report, args.out, cleaning=cleaned.report)
    except ValueError as err:  # a ConfigError too; nothing was written (an OSError: cli.main)
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(cleaned.summary(warnings=False))
    print()
    print(report.summary())
    print(f"\nConfig written to {config_path}; estimates, intervals and methods in {report_path}, "
          f"fit plots in {chart_folder(report_path)}{os.sep}; every row cleaning removed, changed or flagged "
          f"(file, row, why) in {cleaning_file(config_path)}")
    return 0


def add_parser(subparsers):
    p = subparsers.add_parser(
        "calibrate", help="estimate a config from SSDA903 returns (hazards, mixes, demand, opening stock)")
    p.add_argument("ssda903_dir", metavar="SSDA903_DIR", help="folder of SSDA903 returns (one folder or file set per year)")
    p.add_argument("--start", required=True, help="the config's start date, YYYY-MM-DD; the opening stock is the "
                                                  "children looked after the day before")
    p.add_argument("--out", required=True, metavar="CONFIG",
                   help="YAML config to write (the report and its fit plots go beside it)")
    p.add_argument("--template", metavar="CONFIG", help="config supplying what SSDA903 cannot inform "
                                                        "(default: the bundled cambridgeshire-2015.yaml)")
    p.add_argument("--years", help="collection years to use, e.g. 2014-2016 (each ends 31 March; default: all)")
    p.set_defaults(func=cmd_calibrate)
    return p
