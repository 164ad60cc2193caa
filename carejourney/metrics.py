"""Event log -> tidy measures, vectorised with numpy.

Two tidy tables per replication, one row per period x measure x breakdown x category:
  annual   period = financial year ('2015-16'); stock measures are at the year's 31 March
  monthly  period = month-end date ('2015-04-30')
Measure names carry their unit (`_children`, `_days`, `_gbp`). See README "Output tables".
"""

from __future__ import annotations

from itertools import chain

import numpy as np
import pandas as pd

from .calendar import count_covering, days_in_windows, financial_years, march_31_snapshots, month_end_snapshots
from .events import END_REASON_CODE, POST_CARE_KINDS, SERVICE_OUTCOME_CODE
from .vocab import (AGE_BAND_LOWER_YEARS, AGE_BANDS, DAYS_PER_52_WEEK_PLACEMENT, DAYS_PER_YEAR, EXIT_ROUTES,
                    LEGAL_STATUSES, NEEDS, PLACEMENT_TYPES)

COLUMNS = ["period", "measure", "breakdown", "category", "value"]


def _arr(rows, ncol):
    """Log tuples -> float matrix; fromiter over a flat chain avoids numpy's slow
    sequence-of-tuples path."""
    return np.fromiter(chain.from_iterable(rows), dtype=float, count=len(rows) * ncol).reshape(-1, ncol)


def _band(age_days: np.ndarray) -> np.ndarray:
    edges = np.array(AGE_BAND_LOWER_YEARS[1:]) * DAYS_PER_YEAR
    return np.searchsorted(edges, age_days, side="right")


def merge_steps(step_lists) -> list[tuple[float, float]]:
    """Product of several step functions [(from_day, value), ...] (first from_day = -inf)."""
    points = sorted({b for steps in step_lists for b, _ in steps})
    out = []
    for b in points:
        v = 1.0
        for steps in step_lists:
            cur = steps[0][1]
            for start, val in steps:
                if start <= b:
                    cur = val
            v *= cur
        out.append((b, v))
    return out


def stepped_days(starts, ends, windows, steps) -> np.ndarray:
    """Days of spells in each window, each day weighted by a step function's value."""
    if not steps:
        return days_in_windows(starts, ends, windows).sum(axis=0) if len(starts) else np.zeros(len(windows))
    total = np.zeros(len(windows))
    bounds = [b for b, _ in steps] + [np.inf]
    e = np.where(np.isnan(ends), np.inf, ends)
    for (lo, v), hi in zip(steps, bounds[1:]):
        s2, e2 = np.maximum(starts, lo), np.minimum(e, hi)
        keep = e2 > s2
        if keep.any():
            total += v * days_in_windows(s2[keep], e2[keep], windows).sum(axis=0)
    return total


class Measures:
    """Computes the annual and monthly tables from one replication's event log."""

    def __init__(self, cfg, log, service_names, pool_names):
        self.cfg, self.log = cfg, log
        self.service_names, self.pool_names = service_names, pool_names
        h = cfg.horizon
        self.fys = financial_years(h.start_date, h.end_date)
        self.windows = [(a, b) for _, _, a, b in self.fys]
        self.t_end = float((h.end_date - h.start_date).days + 1)
        ch = _arr(log.children, 7) if log.children else np.zeros((0, 7))
        order = np.argsort(ch[:, 0], kind="stable")
        self.child_ids, self.child_dob = ch[order, 0], ch[order, 1]
        self.child_uasc = ch[order, 4].astype(bool)
        self.child_male = ch[order, 2].astype(bool)
        self.child_need = ch[order, 3].astype(np.int64)
        self.periods = _arr(log.periods, 6)
        self.placements = _arr(log.placements, 8)
        self.legal = _arr(log.legal, 5)
        self.rows: list[tuple] = []
        self.monthly: list[tuple] = []

    def _child_index(self, ids):
        return np.searchsorted(self.child_ids, ids)

    def add(self, period, measure, breakdown, category, value):
        self.rows.append((period, measure, breakdown, category, float(value)))

    # ---------------------------------------------------------------- stock
    def _stock(self, snapshots, sink, label, detail=True):
        """Children looked after at each snapshot (start < t <= end), in total and by
        age band, UASC, placement type, location, provider and legal status."""
        if not snapshots:
            return
        p, pl, lg = self.periods, self.placements, self.legal
        times = np.array([t for _, t in snapshots])
        labels = [label(d) for d, _ in snapshots]

        def by_category(breakdown, names, spells):
            codes = spells[:, 4].astype(int)
            for i, name in enumerate(names):
                sel = codes == i
                c = count_covering(spells[sel, 2], spells[sel, 3], times)
                for k, per in enumerate(labels):
                    sink((per, "lac_children", breakdown, name, c[k]))

        def flagged(spells, col):
            sel = spells[:, col] > 0
            return count_covering(spells[sel, 2], spells[sel, 3], times)

        total = count_covering(p[:, 2], p[:, 3], times)
        for k, per in enumerate(labels):
            sink((per, "lac_children", "total", "all", total[k]))
        by_category("placement_type", PLACEMENT_TYPES, pl)
        if not detail:
            return
        # age bands need each snapshot's ages: count per snapshot
        p_end = np.where(np.isnan(p[:, 3]), np.inf, p[:, 3])
        dob = self.child_dob[self._child_index(p[:, 0])]
        for k, t in enumerate(times):
            inside = (p[:, 2] < t) & (p_end >= t)
            c = np.bincount(np.minimum(_band(t - dob[inside]), len(AGE_BANDS) - 1), minlength=len(AGE_BANDS))
            for b, name in enumerate(AGE_BANDS):
                sink((labels[k], "lac_children", "age_band", name, c[b]))
        uasc_periods = p[self.child_uasc[self._child_index(p[:, 0])]]
        uasc = count_covering(uasc_periods[:, 2], uasc_periods[:, 3], times)
        male_periods = p[self.child_male[self._child_index(p[:, 0])]]
        male = count_covering(male_periods[:, 2], male_periods[:, 3], times)
        inside, in_house = flagged(pl, 6), flagged(pl, 5)
        for k, per in enumerate(labels):
            sink((per, "lac_children", "uasc", "uasc", uasc[k]))
            sink((per, "lac_children", "sex", "male", male[k]))
            sink((per, "lac_children", "location", "inside_area", inside[k]))
            sink((per, "lac_children", "location", "outside_area", total[k] - inside[k]))
            sink((per, "lac_children", "provider", "in_house", in_house[k]))
        by_category("legal_status", LEGAL_STATUSES, lg)
        if label is _fy_of_march:
            pop = self._population()
            for k, (d, _) in enumerate(snapshots):
                sink((labels[k], "lac_rate_per_10000", "total", "all", total[k] / pop(d.year) * 1e4))

    def _population(self):
        pop = self.cfg.population
        years = sorted(pop.children_0_17_by_year)

        def at(year_ending):
            if year_ending in pop.children_0_17_by_year:
                return pop.children_0_17_by_year[year_ending]
            last = years[-1] if year_ending > years[-1] else years[0]
            return pop.children_0_17_by_year[last] * (1 + pop.growth_per_year) ** (year_ending - last)

        return at

    # ---------------------------------------------------------------- flows
    def _flows(self, durations=True):
        p = self.periods
        idx = self._child_index(p[:, 0])
        dob = self.child_dob[idx]
        ended = ~np.isnan(p[:, 3])
        for (fy, _, a, b) in self.fys:
            started = (p[:, 2] >= a) & (p[:, 2] < b)
            self.add(fy, "care_period_starts", "total", "all", started.sum())
            # DfE counts children: the first start in the year
            kids, first = np.unique(p[started, 0], return_index=True)
            rows = np.flatnonzero(started)[first]
            self.add(fy, "starts_children", "total", "all", len(kids))
            bands = np.bincount(_band(p[rows, 2] - dob[rows]), minlength=len(AGE_BANDS))
            for i, name in enumerate(AGE_BANDS):
                self.add(fy, "starts_children", "age_band", name, bands[i])
            st = np.bincount(p[rows, 4].astype(int), minlength=len(LEGAL_STATUSES))
            for i, name in enumerate(LEGAL_STATUSES):
                self.add(fy, "starts_children", "legal_status", name, st[i])
            self.add(fy, "starts_children", "uasc", "uasc", self.child_uasc[idx[rows]].sum())
            needs = np.bincount(self.child_need[idx[rows]], minlength=len(NEEDS))
            for i, name in enumerate(NEEDS):
                self.add(fy, "starts_children", "need", name, needs[i])
            done = ended & (p[:, 3] >= a) & (p[:, 3] < b)
            self.add(fy, "care_period_ends", "total", "all", done.sum())
            # DfE counts children by their last exit in the year
            rows = np.flatnonzero(done)
            if len(rows):
                order = np.lexsort((p[rows, 3], p[rows, 0]))
                rows = rows[order]
                last = np.r_[p[rows[1:], 0] != p[rows[:-1], 0], True]
                rows = rows[last]
            self.add(fy, "ceased_children", "total", "all", len(rows))
            routes = np.bincount(p[rows, 5].astype(int), minlength=len(EXIT_ROUTES))
            for i, name in enumerate(EXIT_ROUTES[:-1]):
                self.add(fy, "ceased_children", "exit_route", name, routes[i])
            bands = np.bincount(np.minimum(_band(p[rows, 3] - dob[rows]), 4), minlength=len(AGE_BANDS))
            for i, name in enumerate(AGE_BANDS):
                self.add(fy, "ceased_children", "age_band", name, bands[i])
            if not durations:
                continue
            dur = p[rows, 3] - p[rows, 2]
            for i, name in enumerate(EXIT_ROUTES[:-1]):
                sel = p[rows, 5] == i
                if sel.any():
                    self.add(fy, "duration_in_care_days_mean", "exit_route", name, dur[sel].mean())
                    self.add(fy, "duration_in_care_days_median", "exit_route", name, np.median(dur[sel]))

    def _placement_volumes(self, unit_costs, unit_cost_steps=None, stability=True):
        pl = self.placements
        days = days_in_windows(pl[:, 2], pl[:, 3], self.windows) if len(pl) else np.zeros((0, len(self.fys)))
        types = pl[:, 4].astype(int)
        spend = np.zeros((len(PLACEMENT_TYPES), len(self.fys)))
        for i, name in enumerate(PLACEMENT_TYPES):
            d = days[types == i].sum(axis=0)
            steps = (unit_cost_steps or {}).get(i)
            if steps:
                sel = types == i
                priced = stepped_days(pl[sel, 2], pl[sel, 3], self.windows, merge_steps(steps))
                spend[i] = priced * unit_costs[i] / 7.0
            else:
                spend[i] = d * unit_costs[i] / 7.0
            for k, (fy, *_rest) in enumerate(self.fys):
                self.add(fy, "placement_days", "placement_type", name, d[k])
                self.add(fy, "placements_52_week", "placement_type", name, d[k] / DAYS_PER_52_WEEK_PLACEMENT)
        if not stability:
            return spend
        # stability: looked after at 31 March with 3+ placements during the year (DfE measure)
        p_end = np.where(np.isnan(pl[:, 3]), np.inf, pl[:, 3])
        for fy, _, a, b in self.fys:
            in_year = (pl[:, 2] < b) & (p_end > a)
            ids, counts = np.unique(pl[in_year, 0], return_counts=True)
            at_end = np.unique(pl[(pl[:, 2] < b) & (p_end >= b), 0])
            many = np.isin(ids[counts >= 3], at_end).sum()
            self.add(fy, "placement_stability_3plus_children", "total", "all", many)
            ended = (p_end >= a) & (p_end < b)
            for r in ("move", "step_down", "escalation"):
                self.add(fy, "placement_moves", "reason", r, (ended & (pl[:, 7] == END_REASON_CODE[r])).sum())
        return spend

    def _adoption(self):
        pl, p = self.placements, self.periods
        pfa = PLACEMENT_TYPES.index("placed_for_adoption")
        key = p[:, 0] * 1000 + p[:, 1]
        order = np.argsort(key)
        sel = pl[:, 4] == pfa
        k = pl[sel, 0] * 1000 + pl[sel, 1]
        pos = order[np.searchsorted(key[order], k)]
        wait = pl[sel, 2] - p[pos, 2]
        for fy, _, a, b in self.fys:
            in_fy = (pl[sel, 2] >= a) & (pl[sel, 2] < b)
            self.add(fy, "placed_for_adoption_children", "total", "all", in_fy.sum())
            if in_fy.any():
                self.add(fy, "adoption_entry_to_placed_days_mean", "total", "all", wait[in_fy].mean())
                self.add(fy, "adoption_within_14_months_share", "total", "all", (wait[in_fy] <= 426).mean())

    def _step_integral(self, rows, pool_index, col, initial):
        """Value-days per FY of a step function logged at changes (capacity, occupancy)."""
        r = rows[rows[:, 1] == pool_index] if len(rows) else np.zeros((0, 4))
        t = np.r_[-np.inf, r[:, 0]]
        v = np.r_[initial, r[:, col]]
        ends = np.r_[t[1:], np.inf]
        return (days_in_windows(np.maximum(t, -1e12), ends, self.windows) * v[:, None]).sum(axis=0), t, v

    def _capacity(self, fixed_costs, monthly=True):
        cap = _arr(self.log.capacity, 4)
        spend = {}
        for i, name in enumerate(self.pool_names):
            c = self.cfg.placements.capacity[name]
            places, t, v = self._step_integral(cap, i, 3, c.initial_places)
            occupied, t2, v2 = self._step_integral(cap, i, 2, 0)
            spend[name] = places * fixed_costs[name] / 7.0
            for k, (fy, *_r) in enumerate(self.fys):
                self.add(fy, "inhouse_place_days", "pool", name, places[k])
                self.add(fy, "inhouse_occupied_days", "pool", name, occupied[k])
                share = occupied[k] / places[k] if places[k] else np.nan
                self.add(fy, "inhouse_occupancy_share", "pool", name, share)
            if not monthly:
                continue
            for d, tm in month_end_snapshots(self.cfg.horizon.start_date, self.cfg.horizon.end_date):
                j = np.searchsorted(t, tm, side="right") - 1
                self.monthly.append((d.isoformat(), "inhouse_places", "pool", name, float(v[j])))
                j2 = np.searchsorted(t2, tm, side="right") - 1
                self.monthly.append((d.isoformat(), "inhouse_occupied", "pool", name, float(v2[j2])))
        return spend

    def _services(self, monthly=True):
        s = _arr(self.log.services, 6)
        e = _arr(self.log.edge, 4)
        from .events import EDGE_OUTCOMES
        for fy, _, a, b in self.fys:
            in_fy = (e[:, 1] >= a) & (e[:, 1] < b) if len(e) else np.zeros(0, bool)
            outs = np.bincount(e[in_fy, 3].astype(int), minlength=len(EDGE_OUTCOMES)) if len(e) else np.zeros(len(EDGE_OUTCOMES))
            for i, name in enumerate(EDGE_OUTCOMES):
                self.add(fy, "edge_of_care_children", "outcome", name, outs[i])
            for i, name in enumerate(self.service_names):
                mine = (s[:, 1] == i) if len(s) else np.zeros(0, bool)
                began = mine & (s[:, 3] >= a) & (s[:, 3] < b) if len(s) else mine
                self.add(fy, "service_cases_started", "service", name, began.sum())
                ok = began & (s[:, 5] == SERVICE_OUTCOME_CODE["success"]) if len(s) else began
                self.add(fy, "service_successes", "service", name, ok.sum())
        if not monthly:
            return s
        q = _arr(self.log.queues, 4)
        months = month_end_snapshots(self.cfg.horizon.start_date, self.cfg.horizon.end_date)
        at = np.array([tm for _, tm in months])
        for i, name in enumerate(self.service_names):
            r = q[q[:, 1] == i]
            # the last queue record at or before each month end (records are in time order)
            j = np.searchsorted(r[:, 0], at, side="right") - 1
            waiting = np.where(j >= 0, r[np.maximum(j, 0), 2] if len(r) else 0, 0)
            busy = np.where(j >= 0, r[np.maximum(j, 0), 3] if len(r) else 0, 0)
            for k, (d, _) in enumerate(months):
                self.monthly.append((d.isoformat(), "service_waiting_children", "service", name, float(waiting[k])))
                self.monthly.append((d.isoformat(), "service_caseload_children", "service", name, float(busy[k])))
        return s

    # ---------------------------------------------------------------- spend
    def _spend(self, placement_spend, fixed_spend, service_log, service_costs, allowance_steps=None,
               contribution_steps=None):
        cfg = self.cfg
        costs = cfg.costs
        price = np.array([self._price_factor(y) for _, y, _, _ in self.fys])
        comps: dict[str, np.ndarray] = {}
        for i, name in enumerate(PLACEMENT_TYPES):
            comps[f"placement:{name}"] = placement_spend[i]
        for name, v in fixed_spend.items():
            comps[f"inhouse_fixed:{name}"] = v
        svc_cost = service_costs
        for i, name in enumerate(self.service_names):
            s = service_log
            v = np.zeros(len(self.fys))
            for k, (a, b) in enumerate(self.windows):
                if len(s):
                    v[k] = ((s[:, 1] == i) & (s[:, 3] >= a) & (s[:, 3] < b)).sum() * svc_cost[i]
            comps[f"edge_of_care:{name}"] = v
        post = _arr(self.log.post_care, 4)
        weekly = {"sgo_allowance": costs.sgo_allowance.weekly_gbp, "adoption_allowance": costs.adoption_allowance.weekly_gbp,
                  "care_leaver": costs.care_leaver_weekly_gbp, "staying_put": costs.staying_put_weekly_gbp}
        for i, kind in enumerate(POST_CARE_KINDS):
            sel = post[:, 1] == i if len(post) else np.zeros(0, bool)
            d = days_in_windows(post[sel, 2], post[sel, 3], self.windows).sum(axis=0) if sel.any() else np.zeros(len(self.fys))
            steps = (allowance_steps or {}).get(kind)
            priced = stepped_days(post[sel, 2], post[sel, 3], self.windows, merge_steps(steps)) if steps else d
            comps[f"post_care:{kind}"] = priced * weekly[kind] / 7.0
            for k, (fy, *_r) in enumerate(self.fys):
                self.add(fy, "post_care_days", "kind", kind, d[k])
        p = self.periods
        lac_days = days_in_windows(p[:, 2], p[:, 3], self.windows)
        uasc = self.child_uasc[self._child_index(p[:, 0])]
        if costs.spend_scope == "all_lac":
            comps["social_work"] = lac_days.sum(axis=0) * costs.social_work_weekly_gbp_per_child / 7.0
        comps["income:uasc_grant"] = -lac_days[uasc].sum(axis=0) * costs.uasc_grant_weekly_gbp / 7.0
        pc = costs.parental_contribution
        contribution = lac_days[~uasc].sum(axis=0) * pc.share * pc.weekly_gbp / 7.0
        for share, steps in contribution_steps or []:
            # steps hold GBP a week; the step helper weights days by them
            contribution = contribution + share * stepped_days(p[~uasc, 2], p[~uasc, 3], self.windows, steps) / 7.0
        comps["income:parental_contribution"] = -contribution
        total = np.zeros(len(self.fys))
        placements_total = np.zeros(len(self.fys))
        for key, v in comps.items():
            group, _, name = key.partition(":")
            v = v * price
            total += v
            if group in ("placement", "inhouse_fixed"):
                placements_total += v
            for k, (fy, *_r) in enumerate(self.fys):
                self.add(fy, "spend_gbp", group, name or group, v[k])
        for k, (fy, *_r) in enumerate(self.fys):
            self.add(fy, "spend_gbp", "total", "placements", placements_total[k])
            self.add(fy, "spend_gbp", "total", "all", total[k])
            self.add(fy, "lac_days", "total", "all", lac_days[:, k].sum())

    def _price_factor(self, fy_start_year: int) -> float:
        c = self.cfg.costs
        if c.report_prices == "real":
            return 1.0
        idx = c.inflation_index_by_year
        y = min(max(fy_start_year, min(idx)), max(idx))
        return idx[y] / idx[c.price_year]

    def _referrals(self):
        r = self.log.referrals
        if r is None or not len(r):
            return
        from .model.demand import month_starts
        months = month_starts(self.cfg)
        fy_of_month = [(m.year if m.month >= 4 else m.year - 1) for m in months]
        from .calendar import fy_label
        for fy, y, _, _ in self.fys:
            sel = np.isin(r[:, 0], [i for i, v in enumerate(fy_of_month) if v == y])
            self.add(fy, "referrals", "total", "all", r[sel, 2].sum())
            self.add(fy, "referrals", "early_help", "with_family_caf", r[sel, 3].sum())
        del fy_label

    def compute(self, service_costs=None, unit_costs=None, fixed_costs=None, unit_cost_steps=None,
                allowance_steps=None, contribution_steps=None, lean=False):
        """All measures; `lean` skips what experiments do not keep (monthly breakdowns,
        durations, stability, adoption timeliness, referrals) to save time per replication."""
        cfg = self.cfg
        if service_costs is None:
            by_name = {s.name: s.cost_per_case_gbp for s in cfg.edge_of_care.services}
            service_costs = [by_name.get(n, 0.0) for n in self.service_names]
        if unit_costs is None:
            unit_costs = [cfg.placements.types[p].weekly_cost_gbp for p in PLACEMENT_TYPES]
        if fixed_costs is None:
            fixed_costs = {n: c.fixed_weekly_cost_gbp_per_place for n, c in cfg.placements.capacity.items()}
        h = cfg.horizon
        snaps = march_31_snapshots(h.start_date, h.end_date)
        self._stock(snaps, self.rows.append, _fy_of_march)
        self._stock(month_end_snapshots(h.start_date, h.end_date), self.monthly.append, lambda d: d.isoformat(),
                    detail=not lean)
        self._flows(durations=not lean)
        placement_spend = self._placement_volumes(unit_costs, unit_cost_steps, stability=not lean)
        if not lean:
            self._adoption()
        fixed_spend = self._capacity(fixed_costs, monthly=not lean)
        service_log = self._services(monthly=not lean)
        self._spend(placement_spend, fixed_spend, service_log, service_costs, allowance_steps, contribution_steps)
        if not lean:
            self._referrals()
        annual = pd.DataFrame.from_records(self.rows, columns=COLUMNS)
        monthly = pd.DataFrame.from_records(self.monthly, columns=COLUMNS)
        return annual, monthly


def _fy_of_march(d) -> str:
    from .calendar import fy_label
    return fy_label(d.year - 1)


def measures(cfg, log, service_names, pool_names, **kw):
    """(annual, monthly) tidy tables for one replication."""
    return Measures(cfg, log, service_names, pool_names).compute(**kw)
