"""A child's journey through care: a small state machine driven by SimPy alarms.

`CareJourneys` is the in-care half of `system.CareSystem` (which inherits it): entering
care, the next event among six clocks, placement moves, legal status, adoption matching,
leaving and coming back. It uses the system's environment, log, placement policy, exit
risks, legal pathway, adopter pool and the set of children in care (see CareSystem).
"""

from __future__ import annotations

import math

from ..events import END_REASON_CODE, POST_CARE_CODE
from ..vocab import EXIT_CODE, LEGAL_CODE, PLACEMENT_CODE
from ..vocab import EXIT_ROUTES as EXIT_ROUTE_NAMES
from .alarms import alarm
from .exits import CARE_LEAVER_ROUTES
from .legal import PO, S20, marker_route
from .placements import lawful

INF = math.inf
PFA = PLACEMENT_CODE["placed_for_adoption"]
CARE_ORDER = LEGAL_CODE["care_order"]
CONCURRENT = PLACEMENT_CODE["concurrent_foster_to_adopt"]
END = END_REASON_CODE


def _due(now: float, days: float, share: float = 1.0, warp=None) -> float:
    """When a clock started now falls due: `share` of its drawn `days`, on a lever's clock
    if one applies. The share is taken as (now + days) - now, as in a run with no lever, so a
    clock due before a lever starts falls due at exactly the same time with or without it."""
    if share != 1.0:
        days = ((now + days) - now) * share
    return now + days if warp is None else warp.advance(now, days)


class CareJourneys:
    """A child in care is a small state machine: six clocks (18th birthday, exit, legal
    event, adoption deadline, ready for matching, placement move); the earliest is
    scheduled as one alarm whose callback advances the child. Callbacks rather than a
    process per child halve SimPy's overhead (benchmarks/HISTORY.md), with the same
    clocks and the same draws in the same order."""

    def _enter(self, child, status, entered, ptype=None):
        """A period of care begins: placement, legal status, then the next event.
        `ptype` is given only for the opening stock, whose period began at `entered`."""
        now = self.env.now
        if now < self.t0:
            return  # entered before the start: part of the opening stock already
        child.period += 1
        child.period_start = entered
        child.entry_status = status
        child.status = None
        child.match_deadline = child.t_ready = INF
        self.active[child.id] = child
        opening = ptype is not None
        opening_pfa = ptype == PFA
        if ptype is None:
            ptype = self.policy.place(child, now, self.policy.wanted(child, now, None))
        else:
            pool = self.policy.pools.get(ptype)
            child.pool = pool
            if pool is not None:
                pool.force_place(now)
        self._start_placement(child, ptype, now)
        self._set_status(child, status, now)
        if opening_pfa:
            self._placed_for_adoption(child, now, move=False)
        if opening and entered < now:
            self._part_elapsed(child, now, opening_pfa)
        self._schedule(child)

    def _schedule(self, child):
        """Schedule the child's earliest clock; while waiting for adopters, a match can
        come first (the request's callback)."""
        req = child.adopter_request
        if req is not None and req.triggered:
            self._placed_for_adoption(child, self.env.now)
            req = None
        while True:
            t_other = min(child.t18, child.t_exit, child.match_deadline, child.t_move, child.t_ready)
            t_legal = child.t_legal
            if not (t_legal < t_other and t_legal < self.t_end and req is None and self._private(child)):
                break
            # Nothing else reads or changes this child before then, so the status change
            # is made now, dated t_legal: the same draws in the same order, one event fewer.
            self._set_status(child, child.next_status, t_legal)
        t_next = min(t_other, t_legal)
        child.t_next = t_next
        child.wake = alarm(self.env, t_next - self.env.now, self._on_wake, child)
        if req is not None and req.callbacks is not None and self._matched not in req.callbacks:
            req.child = child
            req.callbacks.append(self._matched)

    @staticmethod
    def _private(child) -> bool:
        """Whether the child's next legal event touches nothing shared: not an exit (frees
        a place), not a concurrent carer becoming the adopter (ends a placement)."""
        nxt = child.next_status
        return nxt >= 0 and not (nxt == PO and child.ptype == CONCURRENT)

    def _matched(self, req):
        child = req.child
        if child.adopter_request is not req:
            return  # the plan changed or the child left before this adopter came
        child.wake = None  # the pending clock is void
        self._placed_for_adoption(child, self.env.now)
        self._schedule(child)

    def _wake(self, ev):
        child = ev._value
        if child.wake is not ev:
            return  # superseded by an adoption match
        now = self.env.now
        t_next = child.t_next
        if t_next == child.t18:
            route, staying_put_days = self.exits.at_18(child)
            return self._after_exit(child, self._leave(child, now, route, staying_put_days))
        if t_next == child.t_exit:
            return self._after_exit(child, self._leave(child, now, self.exits.specific(child, child.exit_route)))
        if t_next == child.t_legal:
            nxt = child.next_status
            if nxt < 0:
                return self._after_exit(child, self._leave(child, now, EXIT_ROUTE_NAMES[marker_route(nxt)]))
            self._set_status(child, nxt, now)
        elif t_next == child.t_ready:
            # family finding done: wait for an approved adopter
            child.t_ready = INF
            child.adopter_request = self.adopters.get(1)
        elif t_next == child.match_deadline:
            # no adopters found in time: the plan changes to long-term care
            self._drop_adopter_request(child)
            self._set_status(child, CARE_ORDER, now)
        else:
            self._move(child, now)
        self._schedule(child)

    def _after_exit(self, child, route):
        """Re-entry after a return home or a broken-down order, before the 18th birthday."""
        child.wake = None
        delay = self.exits.reentry_delay(child, route)
        if self.env.now + delay < child.t18 - 1:
            alarm(self.env, delay, self._on_reentry, child)

    def _reenter(self, ev):
        child = ev._value
        now = self.env.now
        if child.allowance is not None:  # the order broke down: its allowance stops (QA17: paid on to 18)
            row = self.log.post_care[child.allowance]
            self.log.post_care[child.allowance] = (*row[:3], now)
            child.allowance = None
        self._enter(child, self.legal.entry_status(child, now), now)

    def _part_elapsed(self, child, now, placed_for_adoption):
        """Children already in care at the start are part-way through their current
        proceedings, family finding, adoption placement and placement: a fresh clock
        would hold back their exits for months, and a share of a fresh one brings them
        forward (2.6 times too soon for a placement, QA17). What remains is a uniform share
        of the length-biased duration of a spell found running (the equilibrium residual)."""
        if child.t_legal < INF and child.status == S20 and not self.legal.s20_court_still_to_come(
                child, now, now - child.period_start, child.u()):
            child.t_legal, child.next_status = INF, None
        if child.t_legal < INF:
            child.t_legal = now + self.legal.running_days[child.status](child.u()) * child.u()
        if child.t_ready < INF:
            d = self.family_finding_running(child.u())
            child.t_ready = _due(now, d, child.u(), self.exits.order_warp(child, now))
        if now < child.t_move < INF:  # not a move due at once (a concurrent placement under a care order)
            d = self.policy.days_to_move_running(child, now, child.ptype)
            child.t_move = _due(now, d, child.u(), self.policy.move_warp(child, now, child.ptype))
        if placed_for_adoption:
            d = self.exits.days_placed_to_order_running(child)
            child.t_exit = _due(now, d, child.u(), self.exits.order_warp(child, now))

    def _start_placement(self, child, ptype, now):
        child.ptype = ptype
        child.p_start = now
        child.p_in_area = child.u() < self.in_area[ptype]
        d = self.policy.days_to_move(child, now, ptype)
        child.t_move = _due(now, d, warp=self.policy.move_warp(child, now, ptype))

    def _end_placement(self, child, now, reason, release=True):
        self.log.placements.append((child.id, child.period, child.p_start, now, child.ptype,
                                    child.pool is not None, child.p_in_area, END[reason]))
        if release and child.pool is not None:
            child.pool.release(now)
        child.pool = None

    def _move(self, child, now):
        old = child.ptype
        wanted = self.policy.wanted(child, now, old)
        self._end_placement(child, now, self.policy.move_reason(old, wanted))
        new = self.policy.place(child, now, wanted)
        self._start_placement(child, new, now)

    def _set_status(self, child, status, now):
        if child.status is not None:
            self.log.legal.append((child.id, child.period, child.status_start, now, child.status))
        child.status = status
        child.status_start = now
        self.legal.schedule(child, now)
        self.exits.draw(child, now)
        if not lawful(child.ptype, status):
            # the placement cannot be held under the new order, so the child moves on now: a care
            # order without a placement order means the concurrent carers (prospective adopters)
            # are not the plan (QA16: the placement had no other end); a placement order ends a
            # placement with parents
            child.t_move = now
        if status == PO and child.ptype != PFA:
            too_old = child.dob + self.adoptable_until_days
            if now >= too_old:
                # older than any placement for adoption: no family to find, so the plan changes
                # to long-term care when a search would have been given up (QA16: 18 was the only exit)
                child.match_deadline = now + self.cfg.exits.adoption.max_days_to_match
            elif child.ptype == CONCURRENT:
                # concurrent carers are approved adopters: matched already
                self._placed_for_adoption(child, now)
            else:
                # family finding is a step to adoption: an adoption lever's clock runs it too
                d = self.family_finding(child.u())
                child.t_ready = _due(now, d, warp=self.exits.order_warp(child, now))
                # the plan changes to long-term care after max_days_to_match, or sooner if the
                # child would otherwise outgrow placed_for_adoption's max_age_years while waiting
                child.match_deadline = min(now + self.cfg.exits.adoption.max_days_to_match, too_old)

    def _placed_for_adoption(self, child, now, move=True):
        child.adopter_request = None
        child.match_deadline = child.t_ready = INF
        if move:
            self._end_placement(child, now, "adoption_match")
            child.ptype, child.p_start = PFA, now
            child.p_in_area = child.u() < self.in_area[PFA]
        child.t_move = INF
        d = self.exits.days_placed_to_order(child)
        child.t_exit = _due(now, d, warp=self.exits.order_warp(child, now))
        child.exit_route = "adopted"

    def _drop_adopter_request(self, child):
        req = child.adopter_request
        if req is not None:
            if req.triggered:
                self.adopters.put(1)  # an adopter matched at the last moment goes back to the pool
            else:
                req.cancel()
        child.adopter_request = None
        child.match_deadline = child.t_ready = INF

    def _leave(self, child, now, route: str, staying_put_days: float = 0.0) -> str:
        log = self.log
        self._drop_adopter_request(child)
        keep_bed = route == "staying_put_18" and child.pool is not None
        pool = child.pool
        self._end_placement(child, now, "exit", release=not keep_bed)
        log.legal.append((child.id, child.period, child.status_start, now, child.status))
        code = EXIT_CODE[route]
        log.periods.append((child.id, child.period, child.period_start, now, child.entry_status, code))
        del self.active[child.id]
        child.status = None
        if route == "staying_put_18":
            log.post_care.append((child.id, POST_CARE_CODE["staying_put"], now, now + staying_put_days))
            if keep_bed:
                alarm(self.env, staying_put_days, (lambda _a, p=pool: p.release(self.env.now),))
        if code in CARE_LEAVER_ROUTES and now - child.dob >= 16 * 365.25:
            # support to an age counted in 365.25-day years; leaving on the calendar 18th birthday with
            # support "to 18" would otherwise end up to half a day before it starts (QA)
            log.post_care.append((child.id, POST_CARE_CODE["care_leaver"], now, max(now, child.dob + self.leaver_days)))
        elif route.startswith("sgo") and child.u() < self.sgo_allowance_share:
            child.allowance = len(log.post_care)
            log.post_care.append((child.id, POST_CARE_CODE["sgo_allowance"], now, child.t18))
        elif route == "adopted" and child.u() < self.adoption_allowance_share:
            child.allowance = len(log.post_care)
            log.post_care.append((child.id, POST_CARE_CODE["adoption_allowance"], now, child.t18))
        return route

