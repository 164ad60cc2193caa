"""The care system for one replication: wires demand, edge of care, placements, legal
status and exits into one SimPy environment and runs it.

Time is in days from the config's start date (negative during warm-up). Arrivals are
decided up front and scheduled once each; a child in care is driven by alarms (journey.py),
re-entries included.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import simpy

from ..events import EDGE_OUTCOME_CODE, END_REASON_CODE, POST_CARE_CODE, EventLog
from ..streams import CHILD_SOURCES, Streams
from ..vocab import AGE_BANDS, EXIT_CODE, NEEDS, PLACEMENT_TYPES
from .alarms import alarm
from .children import U_DIVERT, U_ENTRY, U_ENTRY_DAYS, U_REFERRAL, U_ROUTE, ChildFactory
from .demand import (
    accepted,
    edge_candidates,
    edge_cohort,
    referral_counts,
    uasc_arrival_times,
    uasc_cohort,
)
from .edge_of_care import CENSORED, Referral, Service
from .exits import STAYING_PUT_MAX_DAYS, ExitRisks
from .journey import CareJourneys
from .legal import PP, S20, LegalPathway
from .modifiers import NO_CHANGE
from .opening import draw_opening
from .placements import (
    CapacityPool,
    PlacementPolicy,
    capacity_process,
    lever_recruitment_process,
)

INF = math.inf
# Children reach the edge of care months before they enter: arrivals begin this long
# before the start, so the first year is not short of entries. Entries before the start
# are already in the opening stock and are dropped.
PIPELINE_DAYS = 180.0
DISABILITY = NEEDS.index("N2_disability")
ADOPTER_STEP_DAYS = 30.0  # waiting adopters are thinned monthly: for mean waits of months
SOURCE_OFFSET = {"opening": 0, "edge_of_care": 10_000_000, "uasc": 20_000_000}
EDGE = EDGE_OUTCOME_CODE
END = END_REASON_CODE


class CareSystem(CareJourneys):
    def __init__(self, cfg, seed: int, replication: int, mods=NO_CHANGE):
        self.cfg = cfg
        self.mods = mods
        h = cfg.horizon
        self.t0 = -float(h.warmup_days)
        self.t_end = float((h.end_date - h.start_date).days + 1)
        self.env = simpy.Environment(initial_time=self.t0 - PIPELINE_DAYS)
        self.streams = Streams(seed, replication)
        self.log = EventLog()
        self.active: dict[int, object] = {}
        self.in_service: dict[int, tuple] = {}  # child -> (service, requested, begun), for censoring
        self.waiting: dict[int, tuple] = {}  # child -> (service, requested): queued for a place, for censoring
        self.processes: list = []  # generator processes, closed at the horizon (_release)
        self.pools = {name: CapacityPool(name, i, c, self.log, mods)
                      for i, (name, c) in enumerate(cfg.placements.capacity.items())}
        self.policy = PlacementPolicy(cfg, self.pools, mods)
        self.exits = ExitRisks(cfg, mods)
        self.legal = LegalPathway(cfg, self.exits)
        self.in_area = [cfg.placements.types[p].in_area_probability for p in PLACEMENT_TYPES]
        start = h.start_date
        services = list(cfg.edge_of_care.services) + list(mods.extra_services() if mods.active else [])
        self.services = [
            Service(self.env, i, s,
                    float((s.start_date - start).days) if s.start_date else -INF,
                    float((s.end_date - start).days) if s.end_date else INF, self.log, mods)
            for i, s in enumerate(services)
        ]
        if mods.active:
            for name, from_day, to_day, caseload in mods.service_resizes():
                next(sv for sv in self.services if sv.name == name).plan_resize(from_day, to_day, caseload)
        eoc = cfg.edge_of_care
        self.emergency = [eoc.emergency_share_by_age_band[b] for b in AGE_BANDS]
        self.edge_days_to_entry = eoc.days_to_entry.sampler()
        self.edge_days_to_relapse = eoc.days_to_relapse.sampler()
        ad = cfg.exits.adoption
        self.adopters = simpy.Container(self.env, init=ad.initial_adopters)
        self.family_finding = ad.days_family_finding.sampler()
        self.family_finding_running = ad.days_family_finding.length_biased()
        self.adoptable_until_days = (cfg.placements.types["placed_for_adoption"].max_age_years + 1) * 365.25
        self.factories = {src: ChildFactory(self.streams, src, off, start) for src, off in SOURCE_OFFSET.items()}
        a18 = cfg.costs
        self.sgo_allowance_share = a18.sgo_allowance.share
        self.adoption_allowance_share = a18.adoption_allowance.share
        self.leaver_days = a18.care_leaver_to_age_years * 365.25
        # one callbacks tuple per kind of alarm, shared by all of them (see alarms.py)
        self._on_wake, self._on_reentry = (self._wake,), (self._reenter,)
        self._on_delayed_entry = (self._delayed_entry,)

    # ================================================================ running
    def run(self) -> EventLog:
        env = self.env
        self.processes.append(env.process(self._open_stock()))
        self._edge_arrivals()
        self._uasc_arrivals()
        cap_rng = self.streams.shared("capacity")
        for pool in self.pools.values():
            rng = np.random.Generator(np.random.PCG64(cap_rng.integers(2**63)))
            self.processes.append(env.process(capacity_process(env, pool, rng, self.t0)))
            extra = self.mods.capacity_recruitment(pool.name) if self.mods.active else []
            if extra:
                rng = self.streams.shared_block("recruitment", pool.index)
                self.processes.append(env.process(lever_recruitment_process(env, pool, rng, extra)))
        self.processes.append(env.process(self._adopter_approvals()))
        self.processes.append(env.process(self._adopter_departures()))
        if self.mods.active:
            for service in self.services:
                for from_day, to_day, caseload in service.resizes:
                    self.processes.append(env.process(self._resize(service, from_day, to_day, caseload)))
        self.log.referrals = referral_counts(self.cfg, partial(self.streams.shared_block, "referrals"),
                                             getattr(self.mods, "early_help_share_at", None) if self.mods.active else None)
        env.run(until=self.t_end)
        self._censor()
        self._release()
        return self.log

    def _release(self):
        """Break the reference cycles left at the horizon (pending events, queued requests
        and suspended processes -> callbacks -> this system -> its log), so reference
        counting frees the run at once instead of the cyclic garbage collector tracing
        its ~30k objects (measured: ~50 ms a replication). tests/functional/
        test_run_properties.py checks that nothing is left for the collector."""
        for child in self.active.values():
            child.wake = None
            child.adopter_request = None
        self.active.clear()
        self.in_service.clear()
        self.waiting.clear()
        self.env._queue.clear()
        for process in self.processes:
            process._generator.close()
        self.processes.clear()
        for queue_owner in [s.resource for s in self.services] + [self.adopters]:
            for request in queue_owner.put_queue + queue_owner.get_queue:
                request.callbacks = None  # a waiting referral and its request hold each other
            queue_owner.put_queue.clear()
            queue_owner.get_queue.clear()
            getattr(queue_owner, "users", []).clear()
        self._on_wake = self._on_reentry = self._on_delayed_entry = None

    def _censor(self):
        """Close the spells of children still looked after at the horizon (end = NaN)."""
        log = self.log
        nan = math.nan
        for cid, (svc, requested, begun) in self.in_service.items():
            log.services.append((cid, svc, requested, begun, nan, CENSORED))
        for cid, (svc, requested) in self.waiting.items():  # still queued: never begun
            log.services.append((cid, svc, requested, nan, nan, CENSORED))
        for child in self.active.values():
            log.placements.append((child.id, child.period, child.p_start, nan, child.ptype,
                                   child.pool is not None, child.p_in_area, END["censored"]))
            log.legal.append((child.id, child.period, child.status_start, nan, child.status))
            log.periods.append((child.id, child.period, child.period_start, nan,
                                child.entry_status, EXIT_CODE["censored"]))

    # ================================================================ arrivals
    def _open_stock(self):
        yield self.env.timeout(self.t0 - self.env.now)
        o = draw_opening(self.cfg, self.streams.shared("opening"))
        factory = self.factories["opening"]
        t = self.env.now
        n = len(o["band"])
        dob = t - o["age_days"]
        t18 = factory.birthdays_18(dob)
        disabled = NEEDS.index("N2_disability")
        self.log.children.extend(zip(range(n), dob.tolist(), o["male"].tolist(), o["need"].tolist(),
                                     o["uasc"].tolist(), [False] * n, [0] * n))
        for i, d, b18, male, need, uasc, status, ptype, days in zip(
                range(n), dob.tolist(), t18.tolist(), o["male"].tolist(), o["need"].tolist(), o["uasc"].tolist(),
                o["status"].tolist(), o["placement"].tolist(), o["days_in_care"].tolist()):
            child = factory.make(i)
            child.dob, child.t18, child.male, child.need, child.uasc = d, b18, male, need, uasc
            child.sibling, child.factors, child.disabled = False, 0, need == disabled
            self._enter(child, status, t - days, ptype)
        self._open_post_care(t)

    def _open_post_care(self, t: float):
        """Payments already running for people who left care before the run (child id -1)."""
        opening = self.cfg.opening
        # no longer than payments made in the run can last: support from 16, Staying Put 18 to 21
        longest = {"care_leaver": self.leaver_days - 16 * 365.25, "staying_put": STAYING_PUT_MAX_DAYS,
                   "sgo_allowance": 18 * 365.25, "adoption_allowance": 18 * 365.25}
        for kind, given in opening.post_care.items():
            code, left, cap = POST_CARE_CODE[kind], given.remaining_days.sampler(), max(longest[kind], 0.0)
            n = round(given.per_child_looked_after * opening.children)
            rng = self.streams.shared_block("post_care", code)  # one stream a kind: the kinds' order is free
            self.log.post_care.extend((-1, code, t, t + min(left(u), cap)) for u in rng.random(n).tolist())

    def _log_cohort(self, factory, coh, source: str):
        ids = (factory.offset + coh.index).tolist()
        n = len(coh)
        self.log.children.extend(zip(ids, coh.dob.tolist(), coh.male.tolist(), coh.need.tolist(),
                                     [coh.uasc] * n, coh.sibling.tolist(), [CHILD_SOURCES.index(source)] * n))
        return ids

    @staticmethod
    def _people(coh) -> list[tuple]:
        """Each arrival's attributes as Python values, converted once for the cohort."""
        return list(zip(coh.index.tolist(), coh.dob.tolist(), coh.t18.tolist(), coh.male.tolist(),
                        coh.need.tolist(), coh.factors.tolist(), coh.sibling.tolist(), [coh.uasc] * len(coh)))

    @staticmethod
    def _child(factory, person: tuple):
        index, dob, t18, male, need, factors, sibling, uasc = person
        child = factory.make(index)
        child.dob, child.t18, child.male, child.need, child.uasc = dob, t18, male, need, uasc
        child.factors, child.sibling, child.disabled = factors, sibling, need == DISABILITY
        return child

    def _edge_arrivals(self):
        """Decide each edge-of-care arrival up front (it depends on time and the child,
        not on the system's state). Only children who go further get a SimPy event: at
        arrival for an emergency entry or a referral, at the day of entry for a child who
        enters without a service (one event, not two), none for entries before the start."""
        cfg, env, log = self.cfg, self.env, self.log
        times, bands, acc_u, lam = edge_candidates(cfg, partial(self.streams.shared_block, "arrivals"),
                                                   self.t0 - PIPELINE_DAYS, self.t_end)
        eh = getattr(self.mods, "early_help_share_at", None) if self.mods.active else None
        factory = self.factories["edge_of_care"]
        coh = edge_cohort(cfg, factory, np.flatnonzero(accepted(cfg, times, bands, acc_u, lam, eh)), times, bands)
        ids = self._log_cohort(factory, coh, "edge_of_care")
        outcome, entry_at, service = self._edge_decisions(coh)
        log.edge.extend(zip(ids, coh.time.tolist(), coh.band.tolist(), outcome.tolist()))
        if not len(coh):
            return
        at = np.where(outcome == EDGE["entry_without_service"], entry_at, coh.time)
        go = (outcome == EDGE["referred_to_service"]) | (
            ((outcome == EDGE["emergency_entry"]) | (outcome == EDGE["entry_without_service"])) & (at >= self.t0))
        now, on_arrival = env.now, (self._edge_arrival,)
        people, outcome, entry_at, service = self._people(coh), outcome.tolist(), entry_at.tolist(), service.tolist()
        for k, t in zip(np.flatnonzero(go).tolist(), at[go].tolist()):
            alarm(env, t - now, on_arrival, (people[k], outcome[k], entry_at[k], service[k]))

    def _edge_arrival(self, ev):
        person, kind, entry_at, service = ev._value
        child = self._child(self.factories["edge_of_care"], person)
        now = self.env.now
        if kind == EDGE["emergency_entry"]:
            self._enter(child, PP, now)
        elif kind == EDGE["referred_to_service"]:
            Referral(self, child, self.services[service], entry_at)
        else:
            self.edge_outcome(child, True)

    def _edge_decisions(self, coh):
        """Outcome code, time of entry without help, and service index for each arrival."""
        n = len(coh)
        rows = coh.rows
        eoc = self.cfg.edge_of_care
        outcome = np.full(n, EDGE["stayed_home"])
        if not n:
            return outcome, np.zeros(0), np.zeros(0, dtype=int)
        diverted = np.zeros(n, dtype=bool)
        if self.mods.active:
            diverted = rows[:, U_DIVERT] < self.mods.diversion_probability(coh, "edge_of_care")
        # care cannot begin in a child's last day before 18 (can_enter_now), an emergency's neither
        emergency = ~diverted & (rows[:, U_ROUTE] < np.array(self.emergency)[coh.band]) & (coh.time < coh.t18 - 1)
        entering = rows[:, U_ENTRY] < eoc.entry_probability_without_service
        entry_at = np.full(n, INF)
        entry_at[entering] = coh.time[entering] + np.array(
            [self.edge_days_to_entry(u) for u in rows[entering, U_ENTRY_DAYS].tolist()])
        # Referral shares partition the children eligible for each service, in the
        # config's order (lever-added services last): one uniform picks at most one service.
        # A crisis service (would_be_entrants_only) takes only children who would enter.
        service = np.full(n, -1)
        age_days = coh.time - coh.dob
        would_enter = entry_at < coh.t18 - 1
        u = rows[:, U_REFERRAL]
        taken = np.zeros(n)
        for i, s in enumerate(self.services):
            eligible = s.eligible_array(coh.time, age_days, coh.need)
            if s.cfg.would_be_entrants_only:
                eligible &= would_enter
            base = s.cfg.referral_share
            share = self.mods.service_referral_share(s.name, coh.time, base) if self.mods.active else base
            share = np.where(eligible, np.minimum(share, 1.0 - taken), 0.0)
            pick = (service < 0) & eligible & (u >= taken) & (u < taken + share)
            service[pick] = i
            taken = taken + share
        # a lead-in arrival who would have entered before the start is in the opening stock
        # already: not referred, so a service cannot bring it in (again) after the start
        in_opening_stock = would_enter & (entry_at < self.t0)
        referred = ~diverted & ~emergency & (service >= 0) & ~in_opening_stock
        without = ~diverted & ~emergency & ~referred & would_enter
        outcome[diverted] = EDGE["diverted"]
        outcome[emergency] = EDGE["emergency_entry"]
        outcome[referred] = EDGE["referred_to_service"]
        outcome[without] = EDGE["entry_without_service"]
        return outcome, entry_at, service

    def _uasc_arrivals(self):
        cfg, env = self.cfg, self.env
        times = uasc_arrival_times(cfg, self.streams.shared("uasc"), self.t0, self.t_end)
        factory = self.factories["uasc"]
        coh = uasc_cohort(cfg, factory, times)
        self._log_cohort(factory, coh, "uasc")
        diverted = np.zeros(len(coh), dtype=bool)
        if self.mods.active and len(coh):
            diverted = coh.rows[:, U_DIVERT] < self.mods.diversion_probability(coh, "uasc")
        now, on_arrival = env.now, (self._uasc_arrival,)
        people, times = self._people(coh), coh.time.tolist()
        for k in np.flatnonzero(~diverted).tolist():
            alarm(env, times[k] - now, on_arrival, people[k])

    def _uasc_arrival(self, ev):
        self._enter(self._child(self.factories["uasc"], ev._value), S20, self.env.now)

    def _resize(self, service, from_day, to_day, caseload):
        """A lever's caseload for its service from its start; back to the config's at its end."""
        yield self.env.timeout(max(from_day - self.env.now, 0.0))
        service.set_capacity(caseload)
        if to_day < self.t_end:
            yield self.env.timeout(to_day - self.env.now)
            service.set_capacity(service.cfg.caseload_capacity)

    def _adopter_approvals(self):
        """Approvals from the run's start (`initial_adopters` are those waiting that day; no
        child is matched in the arrivals' lead-in before it)."""
        rate = self.cfg.exits.adoption.adopter_approvals_per_year / 365.25
        if rate <= 0:
            return
        yield self.env.timeout(self.t0 - self.env.now)
        rng = self.streams.shared("adopters")
        while True:
            yield self.env.timeout(rng.exponential(1.0 / rate))
            yield self.adopters.put(1)

    def _adopter_departures(self):
        """Waiting adopters leave at a constant hazard each (matched by another council, or
        withdrawn), thinned every ADOPTER_STEP_DAYS: whichever leaves, the pool is the same."""
        mean = self.cfg.exits.adoption.adopter_mean_days_waiting
        if mean is None:
            return
        yield self.env.timeout(self.t0 - self.env.now)
        rng = self.streams.shared("adopter_departures")
        leave = -math.expm1(-ADOPTER_STEP_DAYS / mean)
        while True:
            yield self.env.timeout(ADOPTER_STEP_DAYS)
            n = int(rng.binomial(self.adopters.level, leave))
            if n:
                self.adopters.get(n)  # at most the level: served at once (waiting children hold none)

    # ================================================================ edge of care
    def can_enter_now(self, child) -> bool:
        """Whether care can begin now: not in the child's last day before 18."""
        return self.env.now < child.t18 - 1

    def edge_outcome(self, child, enters: bool):
        """After an intervention or a wait: into care now (before the 18th birthday)."""
        if enters and self.can_enter_now(child):
            self._enter(child, self.legal.entry_status(child, self.env.now), self.env.now)

    def enter_later(self, child, delay: float):
        alarm(self.env, delay, self._on_delayed_entry, child)

    def _delayed_entry(self, ev):
        self.edge_outcome(ev._value, True)
