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

SUCCESS, FAILURE, ENTERED_WAITING, GAVE_UP, CENSORED = (SERVICE_OUTCOME_CODE[k] for k in (
    "success", "failure", "entered_while_waiting", "gave_up_waiting", "censored"))


class Service:
    def __init__(self, env, index: int, cfg, start_day: float, end_day: float, log, mods):
        self.env, self.index, self.cfg, self.log, self.mods = env, index, cfg, log, mods
        self.name = cfg.name
        capacity = mods.service_capacity(cfg.name, start_day, cfg.caseload_capacity) if mods.active else cfg.caseload_capacity
        self.resource = simpy.Resource(env, capacity=max(capacity, 1)) if capacity > 0 else None
        self.start_day, self.end_day = start_day, end_day
        self.duration = cfg.intervention_days.sampler()
        self.lo_days = cfg.eligible_age_years[0] * 365.25
        self.hi_days = (cfg.eligible_age_years[1] + 1) * 365.25
        self.needs = None if cfg.eligible_needs is None else set(cfg.eligible_needs)
        self.need_codes = None if cfg.eligible_needs is None else np.array([NEEDS.index(n) for n in cfg.eligible_needs])

    def eligible(self, child, t: float, need_name: str) -> bool:
        if self.resource is None or not (self.start_day <= t < self.end_day):
            return False
        age = t - child.dob
        if not (self.lo_days <= age < self.hi_days):
            return False
        return self.needs is None or need_name in self.needs

    def eligible_array(self, times, age_days, needs):
        """Eligibility of a cohort of arrivals (arrays), by date, age and need."""
        if self.resource is None:
            return np.zeros(len(times), dtype=bool)
        ok = (times >= self.start_day) & (times < self.end_day) & (age_days >= self.lo_days) & (age_days < self.hi_days)
        if self.need_codes is not None:
            ok &= np.isin(needs, self.need_codes)
        return ok

    def success_probability(self, t: float) -> float:
        p = self.cfg.success_probability
        return self.mods.service_success(self.name, t, p) if self.mods.active else p

    def record_queue(self):
        r = self.resource
        self.log.queues.append((self.env.now, self.index, len(r.queue), r.count))


def intervention(system, child, service: Service, t_entry_if_waiting: float):
    """Wait for a place, work with the family, then stay home, relapse, or enter care."""
    env, log = system.env, system.log
    requested = env.now
    req = service.resource.request()
    service.record_queue()
    deadline = min(t_entry_if_waiting, requested + service.cfg.max_wait_days)
    if not req.triggered:
        yield req | env.timeout(max(deadline - env.now, 0.0))
    if not req.triggered:
        req.cancel()
        service.record_queue()
        if t_entry_if_waiting <= deadline:
            log.services.append((child.id, service.index, requested, math.nan, env.now, ENTERED_WAITING))
            return True
        log.services.append((child.id, service.index, requested, math.nan, env.now, GAVE_UP))
        # no place in time: the family goes on as without a service
        if t_entry_if_waiting < math.inf:
            yield env.timeout(max(t_entry_if_waiting - env.now, 0.0))
            return True
        return False
    begun = env.now
    service.record_queue()
    yield env.timeout(service.duration(child.u()))
    service.resource.release(req)
    service.record_queue()
    ok = child.u() < service.success_probability(begun)
    log.services.append((child.id, service.index, requested, begun, env.now, SUCCESS if ok else FAILURE))
    if not ok:
        return True
    cfg = system.cfg.edge_of_care
    if child.u() < cfg.relapse_probability:
        yield env.timeout(system.edge_days_to_relapse(child.u()))
        return True
    return False
