"""Event log -> tidy measures, vectorised with numpy.

Two tidy tables per replication, one row per period x measure x breakdown x category:
  annual   period = financial year ('2015-16'); stock measures are at the year's 31 March
  monthly  period = month-end date ('2015-04-30')
Measure names carry their unit (`_children`, `_days`, `_gbp`). See README "Output tables".

Sums over spells are taken with the same numpy reductions over the same rows in the same
order as a per-year, per-category loop would, so results do not change in the last bit.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import pairwise

import numpy as np
import pandas as pd

from .calendar import (
    birthdays,
    count_open,
    covering_span,
    days_in_windows,
    fy_start_year,
    run_calendar,
)
from .events import (
    EDGE_OUTCOMES,
    END_REASON_CODE,
    PLACEMENT_END_REASONS,
    POST_CARE_KINDS,
    SERVICE_OUTCOME_CODE,
)
from .vocab import (
    AGE_BAND_LOWER_YEARS,
    AGE_BANDS,
    DAYS_PER_52_WEEK_PLACEMENT,
    EXIT_ROUTES,
    LEGAL_STATUSES,
    NEEDS,
    PLACEMENT_TYPES,
)

COLUMNS = ["period", "measure", "breakdown", "category", "value"]
CEASED_ROUTES = EXIT_ROUTES[:-1]  # the last route, 'censored', is no exit
MOVE_REASONS = ("move", "step_down", "escalation")
ADOPTION_WAITS_SEEN_DAYS = 2 * 365.25  # adoption timeliness from the year that starts this far into the run


def _band(edges: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Age band on a day (a day number from the run's start) given each row's band-edge
    birthdays: the age the DfE counts, on the calendar, not in years of 365.25 days (a child
    born 1 April 2010 was 10 on 31 March 2020: QA20)."""
    return (day[:, None] >= edges).sum(axis=1)


def _items(measure, breakdown, categories) -> list[tuple[str, str, str]]:
    return [(measure, breakdown, c) for c in categories]


def _tally(fy, codes, n_codes, n_fy) -> np.ndarray:
    """How many rows have each code in each FY: shape (n_fy, n_codes)."""
    return np.bincount(fy * n_codes + codes, minlength=n_fy * n_codes).reshape(n_fy, n_codes)


def _first_of_group(*keys) -> np.ndarray:
    """True where a row of sorted keys starts a new group."""
    first = np.zeros(len(keys[0]), dtype=bool)
    first[:1] = True
    for k in keys:
        first[1:] |= k[1:] != k[:-1]
    return first


def _last_of_group(*keys) -> np.ndarray:
    """True where a row of sorted keys ends its group."""
    return np.roll(_first_of_group(*keys), -1)


def _row_sums_by(x, groups, n_groups) -> np.ndarray:
    """x[groups == g].sum(axis=0) for each g: the same rows in the same order, so the
    same rounding, from one sort instead of a mask per group."""
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(n_groups + 1))
    x = x[order]
    return np.array([x[a:b].sum(axis=0) for a, b in pairwise(bounds)])


def merge_steps(step_lists) -> list[tuple[float, float]]:
    """Product of several step functions [(from_day, value), ...] (first from_day = -inf),
    each step a change of value; [] when the product is 1 throughout, so a lever with no
    effect prices exactly as no lever does (splitting days at its steps moved the sums by ~1e-15)."""
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
        if not out or v != out[-1][1]:
            out.append((b, v))
    return [] if out == [(-np.inf, 1.0)] else out


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


class _Table:
    """A tidy table gathered block by block as codes; its DataFrame is built once, at the end."""

    def __init__(self):
        self.period_code: dict[str, int] = {}
        self.item_code: dict[tuple[str, str, str], int] = {}  # (measure, breakdown, category)
        self.blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    @staticmethod
    def _codes(vocabulary: dict, labels) -> np.ndarray:
        return np.array([vocabulary.setdefault(x, len(vocabulary)) for x in labels], dtype=np.intp)

    def add(self, periods, items, values, keep=None, counts=False):
        """Rows in the order of values' axes (group, period, measure): items[g][m] names
        group g's measure m; rows where `keep` is False are left out. Values are floats,
        or integers if they are `counts`: a table of counts alone has integer values."""
        if not len(items):
            return
        item = self._codes(self.item_code, [x for group in items for x in group]).reshape(len(items), -1)
        period = self._codes(self.period_code, periods)
        shape = (item.shape[0], len(period), item.shape[1])
        values = np.asarray(values, dtype=None if counts else float)
        if values.shape != shape:
            raise ValueError(f"values of shape {values.shape} for rows {shape}")
        block = (np.repeat(np.tile(period, shape[0]), shape[2]), np.repeat(item, shape[1], axis=0).ravel(),
                 values.ravel())
        if keep is not None:
            block = tuple(x[keep.ravel()] for x in block)
        self.blocks.append(block)

    def by_item(self, periods, items, values, counts=False):
        """Each item's series in turn: values[item, period]."""
        self.add(periods, [[x] for x in items], np.asarray(values)[:, :, None], counts=counts)

    def by_period(self, periods, items, values, keep=None, counts=False):
        """Each period's items in turn: values[period, item]."""
        self.add(periods, [items], np.asarray(values)[None], None if keep is None else keep[None], counts)

    def frame(self) -> pd.DataFrame:
        period, item, value = (np.concatenate(col) for col in zip(*self.blocks))
        measure, breakdown, category = zip(*self.item_code)
        labels = [(tuple(self.period_code), period), (measure, item), (breakdown, item), (category, item)]
        columns = [_string_array(names).take(codes) for names, codes in labels]
        return pd.DataFrame(dict(zip(COLUMNS, columns + [value])))


@lru_cache(maxsize=64)
def _string_array(labels: tuple[str, ...]):
    """Labels in the string type pandas gives them from records, to take rows from by
    code; every replication of a run has the same labels."""
    return pd.Series(np.array(labels, dtype=object)).array


class Measures:
    """Computes the annual and monthly tables from one replication's event log."""

    def __init__(self, cfg, log, service_names, pool_names):
        self.cfg, self.log = cfg, log
        self.service_names, self.pool_names = service_names, pool_names
        h = cfg.horizon
        self.cal = run_calendar(h.start_date, h.end_date)
        self.n_fy = len(self.cal.fy_labels)
        self.periods = p = log.columns("periods")
        self.placements = log.columns("placements")
        self.legal = log.columns("legal")
        children = log.columns("children")
        by_id = np.argsort(children.child, kind="stable")
        child = by_id[np.searchsorted(children.child[by_id], p.child)]  # each period's child
        self.period_dob, self.period_male = children.dob[child], children.male[child]
        self.period_need, self.period_uasc = children.need[child], children.uasc[child]
        # each period's child's 1st, 5th, 10th and 16th birthdays: where its age band changes
        self.period_band_edges = np.stack([birthdays(self.period_dob, years, h.start_date.toordinal())
                                           for years in AGE_BAND_LOWER_YEARS[1:]], axis=1)
        self.annual, self.monthly = _Table(), _Table()

    # ---------------------------------------------------------------- stock
    def _stock(self, table, labels, times, detail=True, population=None):
        """Children looked after at each snapshot (start < t <= end), in total and by
        placement type; in detail also by age band, UASC, sex, location, provider and
        legal status; per 10,000 children when the population is given."""
        if not len(times):
            return
        p, pl, lg = self.periods, self.placements, self.legal
        n = len(times)
        p_span = covering_span(p.start, p.end, times)
        pl_span = covering_span(pl.start, pl.end, times)
        total = count_open(*p_span, n)
        table.by_item(labels, [("lac_children", "total", "all")], total, counts=True)
        table.by_item(labels, _items("lac_children", "placement_type", PLACEMENT_TYPES),
                      count_open(*pl_span, n, pl.type, len(PLACEMENT_TYPES)), counts=True)
        if not detail:
            return
        table.by_period(labels, _items("lac_children", "age_band", AGE_BANDS), self._age_bands(times, *p_span),
                        counts=True)

        def flagged(span, flag):
            return count_open(span[0][flag], span[1][flag], n)[0]

        inside = flagged(pl_span, pl.in_area)
        by_flag = [flagged(p_span, self.period_uasc), flagged(p_span, self.period_male), inside,
                   total[0] - inside, flagged(pl_span, pl.in_house)]
        table.by_period(labels, [("lac_children", "uasc", "uasc"), ("lac_children", "sex", "male"),
                                 ("lac_children", "location", "inside_area"),
                                 ("lac_children", "location", "outside_area"),
                                 ("lac_children", "provider", "in_house")], np.stack(by_flag, axis=1),
                        counts=True)
        table.by_item(labels, _items("lac_children", "legal_status", LEGAL_STATUSES),
                      count_open(*covering_span(lg.start, lg.end, times), n, lg.status, len(LEGAL_STATUSES)),
                      counts=True)
        if population is not None:
            table.by_item(labels, [("lac_rate_per_10000", "total", "all")], total / np.array(population) * 1e4)

    def _age_bands(self, times, first, stop) -> np.ndarray:
        """Children looked after at each snapshot by their age band then: (snapshot, band).
        A period counts at snapshots first..stop-1, in each band from the first snapshot on or
        after the birthday that starts it (a snapshot ends its day, so its day is time - 1)."""
        n = len(times)
        passed = np.searchsorted(times - 1, self.period_band_edges, side="left")
        bounds = np.hstack([first[:, None], np.clip(passed, first[:, None], stop[:, None]), stop[:, None]])
        # band b covers snapshots bounds[:, b] .. bounds[:, b + 1] - 1: +1 where it starts, -1 where it ends
        change = np.stack([np.bincount(bounds[:, b], minlength=n + 1) - np.bincount(bounds[:, b + 1], minlength=n + 1)
                           for b in range(len(AGE_BANDS))], axis=1)
        return np.cumsum(change, axis=0)[:n]

    # ---------------------------------------------------------------- flows
    def _flows(self, durations=True):
        """Starts and ends of care in each FY: periods, and children as the DfE counts them."""
        p, n_fy = self.periods, self.n_fy
        start_fy, end_fy = self.cal.fy_index(p.start), self.cal.fy_index(p.end)
        started = np.flatnonzero((start_fy >= 0) & (start_fy < n_fy))
        ended = np.flatnonzero((end_fy >= 0) & (end_fy < n_fy))
        # DfE counts children: each child's first start in the year (in log order)
        first = started[np.lexsort((p.child[started], start_fy[started]))]
        first = first[_first_of_group(start_fy[first], p.child[first])]
        fy = start_fy[first]
        starts = [np.bincount(start_fy[started], minlength=n_fy)[:, None], np.bincount(fy, minlength=n_fy)[:, None],
                  _tally(fy, _band(self.period_band_edges[first], np.floor(p.start[first])), len(AGE_BANDS), n_fy),
                  _tally(fy, p.entry_status[first], len(LEGAL_STATUSES), n_fy),
                  np.bincount(fy[self.period_uasc[first]], minlength=n_fy)[:, None],
                  _tally(fy, self.period_need[first], len(NEEDS), n_fy)]
        items = ([("care_period_starts", "total", "all"), ("starts_children", "total", "all")]
                 + _items("starts_children", "age_band", AGE_BANDS)
                 + _items("starts_children", "legal_status", LEGAL_STATUSES)
                 + [("starts_children", "uasc", "uasc")] + _items("starts_children", "need", NEEDS))
        # ... and by their last exit in the year
        last = ended[np.lexsort((p.end[ended], p.child[ended], end_fy[ended]))]
        last = last[_last_of_group(end_fy[last], p.child[last])]
        fy = end_fy[last]
        route = p.exit_route[last]
        ends = [np.bincount(end_fy[ended], minlength=n_fy)[:, None], np.bincount(fy, minlength=n_fy)[:, None],
                _tally(fy, route, len(EXIT_ROUTES), n_fy)[:, :len(CEASED_ROUTES)],
                _tally(fy, _band(self.period_band_edges[last], np.floor(p.end[last])), len(AGE_BANDS), n_fy)]
        items += ([("care_period_ends", "total", "all"), ("ceased_children", "total", "all")]
                  + _items("ceased_children", "exit_route", CEASED_ROUTES)
                  + _items("ceased_children", "age_band", AGE_BANDS))
        values = np.hstack(starts + ends)
        keep = np.ones(values.shape, dtype=bool)
        if durations:
            mean, median, present = self._durations(fy, route, p.end[last] - p.start[last])
            values = np.hstack([values, np.stack([mean, median], axis=2).reshape(n_fy, -1)])
            keep = np.hstack([keep, np.repeat(present, 2, axis=1)])
            items += [(f"duration_in_care_days_{stat}", "exit_route", r)
                      for r in CEASED_ROUTES for stat in ("mean", "median")]
        self.annual.by_period(self.cal.fy_labels, items, values, keep)

    def _durations(self, fy, route, days):
        """Mean and median days in care of the children ceasing each FY, by exit route:
        (fy, route) arrays, and which (fy, route) have any."""
        n_routes = len(CEASED_ROUTES)
        ceased = route < n_routes
        group = fy[ceased] * n_routes + route[ceased]
        order = np.argsort(group, kind="stable")  # each group keeps its children's order
        group, days = group[order], days[ceased][order]
        bounds = np.searchsorted(group, np.arange(self.n_fy * n_routes + 1))
        lo, hi = bounds[:-1], bounds[1:]
        present = hi > lo
        a, b = lo[present], hi[present]
        mean = np.full(len(lo), np.nan)
        mean[present] = np.array([days[i:j].sum() for i, j in zip(a, b)]) / (b - a)  # as np.mean sums
        # the median from each group's sorted values, as np.median takes it
        ranked = days[np.lexsort((days, group))]
        median = np.full(len(lo), np.nan)
        median[present] = (ranked[a + (b - a - 1) // 2] + ranked[a + (b - a) // 2]) / 2
        shape = (self.n_fy, n_routes)
        return mean.reshape(shape), median.reshape(shape), present.reshape(shape)

    def _placement_volumes(self, unit_costs, unit_cost_steps=None, stability=True):
        pl, windows = self.placements, self.cal.fy_windows
        days = days_in_windows(pl.start, pl.end, windows)
        type_days = _row_sums_by(days, pl.type, len(PLACEMENT_TYPES))
        spend = np.zeros((len(PLACEMENT_TYPES), self.n_fy))
        for i in range(len(PLACEMENT_TYPES)):
            steps = merge_steps((unit_cost_steps or {}).get(i, []))
            if steps:
                sel = pl.type == i
                priced = stepped_days(pl.start[sel], pl.end[sel], windows, steps)
                spend[i] = priced * unit_costs[i] / 7.0
            else:
                spend[i] = type_days[i] * unit_costs[i] / 7.0
        self.annual.add(self.cal.fy_labels,
                        [[("placement_days", "placement_type", t), ("placements_52_week", "placement_type", t)]
                         for t in PLACEMENT_TYPES],
                        np.stack([type_days, type_days / DAYS_PER_52_WEEK_PLACEMENT], axis=2))
        if stability:
            self._stability()
        return spend

    def _stability(self):
        """Children looked after at 31 March with 3+ placements during the year (DfE
        measure), and placement moves by reason."""
        pl, cal, n_fy = self.placements, self.cal, self.n_fy
        lo, hi = cal.fy_bounds[:-1], cal.fy_bounds[1:]
        end = np.where(np.isnan(pl.end), np.inf, pl.end)
        begun = pl.start < hi[:, None]  # (fy, placement)
        in_year = begun & (end > lo[:, None])
        at_year_end = begun & (end >= hi[:, None])
        ids, child = np.unique(pl.child, return_inverse=True)

        def children_by_fy(spells):
            fy, row = np.nonzero(spells)
            return _tally(fy, child[row], len(ids), n_fy)

        many = ((children_by_fy(in_year) >= 3) & (children_by_fy(at_year_end) > 0)).sum(axis=1)
        end_fy = cal.fy_index(end)
        ended = (end_fy >= 0) & (end_fy < n_fy)
        reasons = _tally(end_fy[ended], pl.end_reason[ended], len(PLACEMENT_END_REASONS), n_fy)
        self.annual.by_period(cal.fy_labels,
                              [("placement_stability_3plus_children", "total", "all")]
                              + _items("placement_moves", "reason", MOVE_REASONS),
                              np.hstack([many[:, None], reasons[:, [END_REASON_CODE[r] for r in MOVE_REASONS]]]))

    def _adoption(self):
        pl, p = self.placements, self.periods
        pfa = PLACEMENT_TYPES.index("placed_for_adoption")
        # one integer per (child, period): periods counted in base (most periods + 1), so a child
        # with 1,000 periods cannot collide with the next child (QA: a fixed 1000 did)
        base = int(p.period.max()) + 1 if len(p.period) else 1
        key = p.child.astype(np.int64) * base + p.period
        order = np.argsort(key)
        # the opening stock's placements begin when the run does: those children were placed
        # for adoption before it, at a date the run does not know (QA: counted as placed in
        # its first year, waiting until its first day)
        sel = (pl.type == pfa) & (pl.start > -float(self.cfg.horizon.warmup_days))
        pos = order[np.searchsorted(key[order], pl.child[sel].astype(np.int64) * base + pl.period[sel])]
        placed = pl.start[sel]
        wait = placed - p.start[pos]
        # the wait only for care begun in the run: the opening stock's entry dates are drawn from
        # an assumed time in care, and in the first year they are nearly all the placements (QA17);
        # so only from a year that starts once waits of two years can be seen (review: year one's
        # waits were all under a year, 100% within 14 months by construction)
        first = -float(self.cfg.horizon.warmup_days)
        timed = p.start[pos] >= first
        values = np.zeros((self.n_fy, 3))
        any_timed = np.zeros(self.n_fy, dtype=bool)
        for k, (a, b) in enumerate(self.cal.fy_windows):
            in_fy = (placed >= a) & (placed < b)
            values[k, 0] = in_fy.sum()
            in_fy &= timed
            if a - first >= ADOPTION_WAITS_SEEN_DAYS and in_fy.any():
                any_timed[k] = True
                values[k, 1:] = wait[in_fy].mean(), (wait[in_fy] <= 426).mean()
        self.annual.by_period(self.cal.fy_labels,
                              [("placed_for_adoption_children", "total", "all"),
                               ("adoption_entry_to_placed_days_mean", "total", "all"),
                               ("adoption_within_14_months_share", "total", "all")],
                              values, np.stack([np.ones_like(any_timed), any_timed, any_timed], axis=1))

    def _capacity(self, fixed_costs, monthly=True):
        """In-house place-days, occupied days and occupancy per FY, and places at month ends."""
        cap, cal = self.log.columns("capacity"), self.cal
        spend, annual, month_ends = {}, [], []
        for i, name in enumerate(self.pool_names):
            mine = cap.pool == i
            # step functions logged at each change, from -inf
            t = np.r_[-np.inf, cap.time[mine]]
            places = np.r_[self.cfg.placements.capacity[name].initial_places, cap.places[mine]]
            occupied = np.r_[0, cap.occupied[mine]]
            days = days_in_windows(np.maximum(t, -1e12), np.r_[t[1:], np.inf], cal.fy_windows)
            place_days, occupied_days = (days * places[:, None]).sum(axis=0), (days * occupied[:, None]).sum(axis=0)
            spend[name] = place_days * fixed_costs[name] / 7.0
            share = np.divide(occupied_days, place_days, out=np.full(self.n_fy, np.nan), where=place_days != 0)
            annual.append(np.stack([place_days, occupied_days, share], axis=1))
            # the state just before each month-end instant, as the stock counts children (start < t <= end):
            # a change at that instant belongs to the next month (and a run ending there never makes it)
            j = np.searchsorted(t, cal.month_times, side="left") - 1
            month_ends.append(np.stack([places[j], occupied[j]], axis=1))
        values = np.reshape(annual, (len(self.pool_names), self.n_fy, 3))
        # a pool with no places in a year has no occupancy: the row is left out, as other
        # measures with nothing to measure are (QA: Wiltshire's 0 home places wrote empty cells)
        self.annual.add(cal.fy_labels, [[(m, "pool", name) for m in ("inhouse_place_days", "inhouse_occupied_days",
                                                                    "inhouse_occupancy_share")]
                                        for name in self.pool_names],
                        values, keep=~np.isnan(values))
        if monthly:
            self.monthly.add(cal.month_labels, [[("inhouse_places", "pool", name), ("inhouse_occupied", "pool", name)]
                                                for name in self.pool_names],
                             np.reshape(month_ends, (len(self.pool_names), len(cal.month_times), 2)))
        return spend

    def _services(self, monthly=True):
        """Edge-of-care outcomes and service cases per FY; queues at month ends. Returns
        the cases started in each FY, by service: (fy, service)."""
        cal, n_fy, n_services = self.cal, self.n_fy, len(self.service_names)
        e, s = self.log.columns("edge"), self.log.columns("services")
        e_fy, s_fy = cal.fy_index(e.time), cal.fy_index(s.start)
        e_in, s_in = (e_fy >= 0) & (e_fy < n_fy), (s_fy >= 0) & (s_fy < n_fy)
        started = _tally(s_fy[s_in], s.service[s_in], n_services, n_fy)
        # a success is counted in the year the intervention ends, when it is known: a
        # case still open at the horizon is not yet a success or a failure
        end_fy = cal.fy_index(s.end)
        ok = (s.outcome == SERVICE_OUTCOME_CODE["success"]) & (end_fy >= 0) & (end_fy < n_fy)
        succeeded = _tally(end_fy[ok], s.service[ok], n_services, n_fy)
        self.annual.by_period(cal.fy_labels,
                              _items("edge_of_care_children", "outcome", EDGE_OUTCOMES)
                              + [(m, "service", name) for name in self.service_names
                                 for m in ("service_cases_started", "service_successes")],
                              np.hstack([_tally(e_fy[e_in], e.outcome[e_in], len(EDGE_OUTCOMES), n_fy),
                                         np.stack([started, succeeded], axis=2).reshape(n_fy, -1)]))
        if monthly:
            self._queues()
        return started

    def _queues(self):
        q, at = self.log.columns("queues"), self.cal.month_times
        values = np.zeros((len(self.service_names), len(at), 2))
        for i in range(len(self.service_names)):
            mine = q.service == i
            # the last queue record before each month-end instant (records are in time order), as above
            j = np.searchsorted(q.time[mine], at, side="left") - 1
            if mine.any():
                seen = j >= 0
                values[i, seen] = np.stack([q.waiting[mine], q.in_service[mine]], axis=1)[j[seen]]
        self.monthly.add(self.cal.month_labels,
                         [[("service_waiting_children", "service", name), ("service_caseload_children", "service", name)]
                          for name in self.service_names], values)

    # ---------------------------------------------------------------- spend
    def _spend(self, placement_spend, fixed_spend, service_cases, service_costs, allowance_steps=None,
               contribution_steps=None):
        costs, cal, windows = self.cfg.costs, self.cal, self.cal.fy_windows
        comps: dict[str, np.ndarray] = {}
        for i, name in enumerate(PLACEMENT_TYPES):
            comps[f"placement:{name}"] = placement_spend[i]
        for name, v in fixed_spend.items():
            comps[f"inhouse_fixed:{name}"] = v
        for i, name in enumerate(self.service_names):
            comps[f"edge_of_care:{name}"] = service_cases[:, i] * service_costs[i]
        post = self.log.columns("post_care")
        weekly = {"sgo_allowance": costs.sgo_allowance.weekly_gbp, "adoption_allowance": costs.adoption_allowance.weekly_gbp,
                  "care_leaver": costs.care_leaver_weekly_gbp, "staying_put": costs.staying_put_weekly_gbp}
        kind_days = _row_sums_by(days_in_windows(post.start, post.end, windows), post.kind, len(POST_CARE_KINDS))
        for i, kind in enumerate(POST_CARE_KINDS):
            steps = merge_steps((allowance_steps or {}).get(kind, []))
            if steps:
                sel = post.kind == i
                priced = stepped_days(post.start[sel], post.end[sel], windows, steps)
            else:
                priced = kind_days[i]
            comps[f"post_care:{kind}"] = priced * weekly[kind] / 7.0
        self.annual.by_item(cal.fy_labels, _items("post_care_days", "kind", POST_CARE_KINDS), kind_days)
        p, uasc = self.periods, self.period_uasc
        lac_days = days_in_windows(p.start, p.end, windows)
        other_days, uasc_days = _row_sums_by(lac_days, uasc.astype(np.intp), 2)
        if costs.spend_scope == "all_lac":
            comps["social_work"] = lac_days.sum(axis=0) * costs.social_work_weekly_gbp_per_child / 7.0
        comps["income:uasc_grant"] = -uasc_days * costs.uasc_grant_weekly_gbp / 7.0
        pc = costs.parental_contribution
        contribution = other_days * pc.share * pc.weekly_gbp / 7.0
        for share, steps in contribution_steps or []:
            # steps hold GBP a week; the step helper weights days by them
            contribution = contribution + share * stepped_days(p.start[~uasc], p.end[~uasc], windows, steps) / 7.0
        comps["income:parental_contribution"] = -contribution
        price = np.array([self._price_factor(y) for y in cal.fy_years])
        priced = [v * price for v in comps.values()]
        total = np.zeros(self.n_fy)
        placements_total = np.zeros(self.n_fy)
        for key, v in zip(comps, priced):
            total += v
            if key.partition(":")[0] in ("placement", "inhouse_fixed"):
                placements_total += v
        self.annual.by_item(cal.fy_labels, [("spend_gbp", group, name or group)
                                            for group, _, name in (key.partition(":") for key in comps)], priced)
        self.annual.by_period(cal.fy_labels, [("spend_gbp", "total", "placements"), ("spend_gbp", "total", "all"),
                                              ("lac_days", "total", "all")],
                              np.stack([placements_total, total, [lac_days[:, k].sum() for k in range(self.n_fy)]],
                                       axis=1))

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
        fy_of_month = np.array([fy_start_year(m) for m in month_starts(self.cfg)])
        fy = fy_of_month[r[:, 0]] - self.cal.fy_years[0]
        in_run = (fy >= 0) & (fy < self.n_fy)
        fy, r = fy[in_run], r[in_run]
        self.annual.by_period(self.cal.fy_labels,
                              [("referrals", "total", "all"), ("referrals", "early_help", "with_family_caf")],
                              np.stack([np.bincount(fy, weights=r[:, col], minlength=self.n_fy) for col in (2, 3)],
                                       axis=1))

    def compute(self, service_costs=None, unit_costs=None, fixed_costs=None, unit_cost_steps=None,
                allowance_steps=None, contribution_steps=None, lean=False):
        """All measures; `lean` skips what experiments do not keep (monthly breakdowns,
        durations, stability, adoption timeliness, referrals) to save time per replication."""
        cfg, cal = self.cfg, self.cal
        if service_costs is None:
            by_name = {s.name: s.cost_per_case_gbp for s in cfg.edge_of_care.services}
            service_costs = [by_name.get(n, 0.0) for n in self.service_names]
        if unit_costs is None:
            unit_costs = [cfg.placements.types[p].weekly_cost_gbp for p in PLACEMENT_TYPES]
        if fixed_costs is None:
            fixed_costs = {n: c.fixed_weekly_cost_gbp_per_place for n, c in cfg.placements.capacity.items()}
        population = [cfg.population.children_in(y) for y in cal.march_years]
        self._stock(self.annual, cal.march_labels, cal.march_times, population=population)
        self._stock(self.monthly, cal.month_labels, cal.month_times, detail=not lean)
        self._flows(durations=not lean)
        placement_spend = self._placement_volumes(unit_costs, unit_cost_steps, stability=not lean)
        if not lean:
            self._adoption()
        fixed_spend = self._capacity(fixed_costs, monthly=not lean)
        service_cases = self._services(monthly=not lean)
        self._spend(placement_spend, fixed_spend, service_cases, service_costs, allowance_steps, contribution_steps)
        if not lean:
            self._referrals()
        return self.annual.frame(), self.monthly.frame()


def measures(cfg, log, service_names, pool_names, **kw):
    """(annual, monthly) tidy tables for one replication."""
    return Measures(cfg, log, service_names, pool_names).compute(**kw)
