"""A readable console summary of a run: LAC at each 31 March, flows and spend a year."""

from __future__ import annotations

import pandas as pd

from .formatting import count_text

# what a config's costs.spend_scope covers, as the summary says it
SPEND_SCOPE_TEXT = {"placements": "placements and the services around them, without social work",
                    "all_lac": "all spend on looked-after children, social work included"}


def spend_total_items(scope: str | None) -> str:
    """What a spend total adds up (metrics: spend_gbp by item), in plain words for a config's
    spend scope, for every reader of one (None: not recorded, as in results from before it was)."""
    social = {"all_lac": ", social work", "placements": ""}.get(
        scope, " (and social work, where the spend covers all looked-after children)")
    return ("placements and in-house carers and homes, edge-of-care services, post-order allowances, Staying Put, "
            f"care leavers{social}, net of income (UASC grant, parental contributions)")


def _fmt(row, scale=1.0, digits=0, reps=1):
    def num(v):  # counts by count_text: a median of 442.5 reads 442.5, not 442 (QA20)
        return count_text(v / scale) if digits == 0 else f"{v / scale:,.{digits}f}"
    if reps <= 1:
        return num(row["q50"])
    return f"{num(row['q50'])} [{num(row['q05'])}-{num(row['q95'])}]"


def summary_text(q: pd.DataFrame, cfg, reps: int, seed: int) -> str:
    """`q` is RunResult.quantiles('annual')."""
    def pick(measure, breakdown, category):
        return q[(q.measure == measure) & (q.breakdown == breakdown) & (q.category == category)].set_index("period")

    c = cfg.costs
    prices = f"{c.price_year}-{(c.price_year + 1) % 100:02d} prices (real)" if c.report_prices == "real" else "cash prices"
    interval = " median [5%-95%]" if reps > 1 else ""
    lines = [f"{cfg.meta.name}: {reps} replication(s), seed {seed}", ""]
    lac, rate = pick("lac_children", "total", "all"), pick("lac_rate_per_10000", "total", "all")
    lines.append(f"Looked after at 31 March{interval}")
    for period, row in lac.iterrows():
        r = rate.loc[period] if period in rate.index else None
        extra = f"   rate {_fmt(r, digits=1, reps=1)} per 10,000" if r is not None else ""
        lines.append(f"  31 March {int(period[:4]) + 1}  {_fmt(row, reps=reps):>22}{extra}")
    lines.append("")
    lines.append(f"Per financial year{interval}")
    lines.append(f"  {'year':8} {'starts':>18} {'ceased':>18} {'spend £m':>22} {'placements £m':>22}")
    starts, ceased = pick("starts_children", "total", "all"), pick("ceased_children", "total", "all")
    spend, place = pick("spend_gbp", "total", "all"), pick("spend_gbp", "total", "placements")
    for period in starts.index:
        lines.append(f"  {period:8} {_fmt(starts.loc[period], reps=reps):>18} {_fmt(ceased.loc[period], reps=reps):>18} "
                     f"{_fmt(spend.loc[period], 1e6, 1, reps):>22} {_fmt(place.loc[period], 1e6, 1, reps):>22}")
    lines.append(f"  Spend covers {SPEND_SCOPE_TEXT[c.spend_scope]}, at {prices}.")
    lines.append(f"  Spend £m is {spend_total_items(c.spend_scope)}; placements £m is placements and in-house carers and homes alone.")
    return "\n".join(lines)
