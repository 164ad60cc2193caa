"""Edge-of-care services: capacity-limited interventions that keep children at home.

A service is a SimPy resource whose capacity is its caseload. A full service means a
queue, and a child can enter care while waiting. Success is not forever: a relapse hazard
can still bring the child into care later.
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from ..events import SERVICE_OUTCOME_CODE
from ..vocab import NEEDS
from .alarms import alarm

SUCCESS, FAILURE, ENTERED_WAITING, GAVE_UP, CENSORED = (SERVICE_OUTCOME_CODE[k] for k in (
    "success", "failure", "entered_while_waiting", "gave_up_waiting", "censored"))


class ResizableResource(simpy.Resource):
    """A SimPy resource whose capacity a lever can change during the run."""

    def set_capacity(self, capacity: int):
        self._capacity = capacity  # 0 too: SimPy refuses it only when the resource is made
        # a larger caseload admits whoever is waiting, as far as it has room. SimPy admits one
        # queued request a call (Resource._do_put ends its loop): QA14 found one child let in,
        # the rest waiting beside free places until their wait ran out
        while self.put_queue and len(self.users) < capacity:
            waiting = len(self.put_queue)
            self._trigger_put(None)
            if len(self.put_queue) == waiting:
                break


class Service:
    def __init__(self, env, index: int, cfg, start_day: float, end_day: float, log, mods):
        self.env, self.index, self.cfg, self.log, self.mods = env, index, cfg, log, mods
        self.name = cfg.name
        self.resource = ResizableResource(env, capacity=max(cfg.caseload_capacity, 1))
        self.resizes: list[tuple[float, float, int]] = []  # (from_day, to_day, caseload), by a lever
        self.start_day, self.end_day = start_day, end_day
        self.duration = cfg.intervention_days.sampler()
        self.lo_days = cfg.eligible_age_years[0] * 365.25
        self.hi_days = (cfg.eligible_age_years[1] + 1) * 365.25
        self.needs = None if cfg.eligible_needs is None else set(cfg.eligible_needs)
        self.need_codes = None if cfg.eligible_needs is None else np.array([NEEDS.index(n) for n in cfg.eligible_needs])

    def plan_resize(self, from_day: float, to_day: float, caseload: int):
        """A lever's caseload from `from_day` to `to_day`, known before the run: referrals are
        decided up front, and a caseload of 0 closes the service to them."""
        self.resizes.append((from_day, to_day, caseload))

    def set_capacity(self, caseload: int):
        """Resize the caseload now (at a planned resize); a caseload of 0 admits no one new,
        not even those already waiting (QA14: it was 1, so they could be let in one by one)."""
        self.resource.set_capacity(caseload)

    def open_array(self, times) -> np.ndarray:
        """Whether the service takes referrals at each of `times` (its caseload is above 0)."""
        caseload = np.full(len(times), self.cfg.caseload_capacity)
        for start, end, c in self.resizes:
            caseload = np.where((times >= start) & (times < end), c, caseload)
        return caseload > 0

    def eligible_array(self, times, age_days, needs):
        """Eligibility of a cohort of arrivals (arrays), by date, age and need."""
        ok = (times >= self.start_day) & (times < self.end_day) & (age_days >= self.lo_days) & (age_days < self.hi_days)
        ok &= self.open_array(times)
        if self.need_codes is not None:
            ok &= np.isin(needs, self.need_codes)
        return ok

    def success_probability(self, t: float) -> float:
        p = self.cfg.success_probability
        return self.mods.service_success(self.name, t, p) if self.mods.active else p

    def record_queue(self):
        r = self.resource
        self.log.queues.append((self.env.now, self.index, len(r.queue), r.count))


class Referral:
    """One child referred to a service: waiting for a place, then the intervention.

    Driven by callbacks on SimPy events (the service's Request, a deadline timeout, the
    intervention's timeout), like a child in care. `entry_at` is when the child would
    enter care without help (inf: never). Success means a child who would have entered
    stays home, so a service can only prevent or delay entries, never cause or hasten them; a
    child can still enter while waiting, and a success can still relapse. A service referred
    from every edge-of-care arrival also works with children who would have stayed home; a
    crisis service (`would_be_entrants_only`) works only with would-be entrants, as seed 002
    counts Alternatives to Care ("working with 60, 43% success": 26 fewer).
    """

    __slots__ = ("system", "child", "service", "entry_at", "requested", "deadline", "req", "waiting")

    def __init__(self, system, child, service: Service, entry_at: float):
        env = system.env
        self.system, self.child, self.service, self.entry_at = system, child, service, entry_at
        self.requested = env.now
        self.deadline = min(entry_at, self.requested + service.cfg.max_wait_days)
        self.req = service.resource.request()
        service.record_queue()
        self.waiting = True
        if self.req.triggered:
            self._begin()
        else:
            system.waiting[child.id] = (service.index, self.requested)
            self.req.callbacks.append(self._granted)
            alarm(env, max(self.deadline - env.now, 0.0), (self._wait_over,))

    def _granted(self, _req):
        if self.waiting:
            self._begin()

    def _wait_over(self, _timeout):
        if not self.waiting or self.req.triggered:
            return  # a place came first (or at this very moment: its callback follows)
        self.waiting = False
        system, service, child = self.system, self.service, self.child
        env, log = system.env, system.log
        del system.waiting[child.id]
        self.req.cancel()
        self.req = None  # the cancelled request and this referral would otherwise hold each other
        service.record_queue()
        if self.entry_at <= self.deadline:
            # a crisis while waiting brings the child in, unless it came at 18: then the wait just
            # ends (QA14: logged as entering, with no care period)
            entering = system.can_enter_now(child)
            log.services.append((child.id, service.index, self.requested, math.nan, env.now,
                                 ENTERED_WAITING if entering else GAVE_UP))
            system.edge_outcome(child, entering)
            return
        log.services.append((child.id, service.index, self.requested, math.nan, env.now, GAVE_UP))
        if self.entry_at < math.inf:  # no place in time: as without a service
            system.enter_later(child, self.entry_at - env.now)

    def _begin(self):
        self.waiting = False
        system, service, child = self.system, self.service, self.child
        env = system.env
        system.waiting.pop(child.id, None)
        begun = env.now
        service.record_queue()
        system.in_service[child.id] = (service.index, self.requested, begun)
        alarm(env, service.duration(child.u()), (self._finished,), begun)

    def _finished(self, ev):
        system, service, child = self.system, self.service, self.child
        env, log = system.env, system.log
        begun = ev._value
        del system.in_service[child.id]
        service.resource.release(self.req)
        service.record_queue()
        ok = child.u() < service.success_probability(begun)
        log.services.append((child.id, service.index, self.requested, begun, env.now, SUCCESS if ok else FAILURE))
        would_enter = self.entry_at < child.t18 - 1  # as without a service (system._edge_decisions)
        if not ok:
            # a failed intervention holds a crisis that came while it ran until it ends, and
            # never brings one forward: a child due to enter later enters when it would have
            if would_enter and self.entry_at > env.now:
                system.enter_later(child, self.entry_at - env.now)
            else:
                system.edge_outcome(child, would_enter)
        elif would_enter and child.u() < system.cfg.edge_of_care.relapse_probability:
            # a relapse, like a failure, never comes before the crisis the child would have had
            system.enter_later(child, max(system.edge_days_to_relapse(child.u()), self.entry_at - env.now))
