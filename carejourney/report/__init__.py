"""The commissioner's report on a Monte Carlo experiment.

``write_report(results_dir)`` reads the results folder written by the experiment runner and
writes, into ``results_dir/report/`` (or ``out_dir``), atomically:

- ``report.html``: self-contained (charts embedded as data URIs, no scripts or links out);
- ``lac_fan.png``, ``spend_fan.png``, ``lever_ranking.png``, ``placement_mix.png``,
  ``monitoring.png``: the charts as separate files;
- ``summary.xlsx``: sheets headline, lac_31_march, spend, savings, targets,
  placements_52_week, monitoring.

Modules: ``inputs`` reads and checks the folder (the contract), ``tables`` builds the summary
tables, ``charts`` draws the PNGs, ``html`` renders the page, ``build`` puts it together.
"""

from .build import (
    ACTUALS_COPY,
    CHART_FILES,
    REPORT_HTML,
    SHEETS,
    WORKBOOK,
    build_outputs,
    report_dir,
    withdraw_report,
    write_report,
)
from .errors import ReportError

__all__ = ["ACTUALS_COPY", "CHART_FILES", "REPORT_HTML", "SHEETS", "WORKBOOK", "ReportError", "build_outputs", "report_dir", "withdraw_report",
           "write_report"]
