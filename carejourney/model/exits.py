"""Leaving care: competing exit risks, adoption, turning 18, and coming back.

Each exit route is a time-to-event while the child holds a legal status; the earliest of
them, the next legal event, the next placement move and the 18th birthday decides what
happens next (competing risks). Times are redrawn when the status changes.
"""

from __future__ import annotations

import math

from ..vocab import AGE_BANDS, EXIT_CODE, LEGAL_STATUSES, PLACEMENT_CODE

STAYING_PUT_MAX_DAYS = 3 * 365.25  # from 18 to 21

FOSTER = {PLACEMENT_CODE[t] for t in ("kinship_foster", "inhouse_foster", "concurrent_foster_to_adopt", "ifa_foster")}
ROUTES = ("returned_home", "sgo", "child_arrangements_order", "independent_living", "other")


class _Route:
    def __init__(self, name, cfg):
        self.name = name
        self.sampler = cfg.days.sampler()
        self.status_mult = [cfg.multiplier_by_status.get(s) for s in LEGAL_STATUSES]
        self.age_mult = [cfg.multiplier_by_age_band.get(b, 1.0) for b in AGE_BANDS]
        self.from_age_days = cfg.from_age_years * 365.25


class ExitRisks:
    def __init__(self, cfg, mods):
        ec = cfg.exits
        self.cfg = ec
        self.mods = mods
        self.routes = [_Route(name, getattr(ec, name)) for name in ROUTES]
        # per legal status and age band, only the routes open to it, multipliers combined:
        # no draws for closed routes, one multiplication per open one
        self.open_routes = [
            [tuple((r.sampler, r.status_mult[s] * r.age_mult[b], r.from_age_days, r.name,
                    mods.affects("exit:" + r.name))
                   for r in self.routes if r.status_mult[s] is not None) for b in range(len(AGE_BANDS))]
            for s in range(len(LEGAL_STATUSES))]
        self.adoption_changed = mods.affects("exit:adopted")
        self.staying_put_changed = mods.affects("staying_put")
        self.uasc_cfg = cfg.demand.uasc
        self.uasc_days = self.uasc_cfg.age_assessment_days.sampler() if self.uasc_cfg.age_assessment_days else None
        self.placed_to_order = ec.adoption.days_placed_to_order.sampler()
        self.placed_to_order_running = ec.adoption.days_placed_to_order.length_biased()
        self.staying_put_days = ec.at_18.staying_put_days.sampler()
        self.reentry_home = ec.reentry_after_return_home
        self.reentry_home_days = ec.reentry_after_return_home.days.sampler()
        self.reentry_order = ec.reentry_after_order
        self.reentry_order_days = ec.reentry_after_order.days.sampler()
        self.leaver_days = cfg.costs.care_leaver_to_age_years * 365.25

    # ------------------------------------------------------------ competing risks
    def draw(self, child, t: float):
        """Earliest exit by any open route for the child's status, from time t."""
        best, best_route = math.inf, None
        mods = self.mods
        dob = child.dob
        u = child.u
        for sampler, m, from_age, name, changed in self.open_routes[child.status][child.age_band(t)]:
            d = sampler(u()) * m
            start = dob + from_age
            origin = start if start > t else t
            warp = mods.exit_warp(origin, child, name) if changed else None
            when = origin + d if warp is None else warp.advance(origin, d)
            if when < best:
                best, best_route = when, name
        if child.uasc and child.period == 1 and self.uasc_days is not None:
            if child.t_assessed is None:  # once a period: redrawn at every status change, it was lost at most (QA17)
                u1, u2 = child.u(), child.u()
                child.t_assessed = (child.period_start + self.uasc_days(u2)
                                    if u1 < self.uasc_cfg.age_assessment_18_plus_probability else math.inf)
            when = child.t_assessed
            if t <= when < best:
                best, best_route = when, "age_assessment_18_plus"
        child.t_exit = best
        # The route's SSDA903 detail (planned or not, to whom) is drawn when the child
        # leaves (`specific`): drawn here, its varying number of draws would let a lever
        # that changes which route wins after its start shift this child's draws before it.
        child.exit_route = best_route

    def specific(self, child, route: str) -> str:
        """The SSDA903-level reason for a route (planned or not, to whom)."""
        if route == "returned_home":
            return self.returned_home_route(child)
        if route == "sgo":
            return self.sgo_route(child)
        if route == "independent_living":
            u = child.u()
            return "independent_living_supported" if u < self.cfg.independent_living_supported_share else "independent_living_unsupported"
        if route == "other":
            return "transferred_or_other"
        return route

    def returned_home_route(self, child) -> str:
        u = child.u()
        if u < self.cfg.lives_with_relatives_no_pr_share:
            return "lives_with_relatives_no_pr"
        u = child.u()
        return "returned_home_planned" if u < self.cfg.returned_home_planned_share else "returned_home_unplanned"

    def sgo_route(self, child) -> str:
        u = child.u()
        if child.ptype in FOSTER and u < self.cfg.sgo_former_foster_carer_share:
            return "sgo_former_foster_carer"
        return "sgo_other_carer"

    # ------------------------------------------------------------ adoption and 18
    def days_placed_to_order(self, child) -> float:
        """Drawn days from placed for adoption to the order (see `order_warp`)."""
        return self.placed_to_order(child.u())

    def days_placed_to_order_running(self, child) -> float:
        """Drawn length of an adoption placement found running (length-biased)."""
        return self.placed_to_order_running(child.u())

    def order_warp(self, child, t: float):
        """The lever clock on which an adoption order drawn at t runs, or None."""
        return self.mods.exit_warp(t, child, "adopted") if self.adoption_changed else None

    def at_18(self, child) -> tuple[str, float]:
        """Route at the 18th birthday, and how long a Staying Put arrangement lasts."""
        a = self.cfg.at_18
        u1, u2, u3 = child.u(), child.u(), child.u()
        share = a.staying_put_share_from_foster
        if self.staying_put_changed:
            share = self.mods.staying_put_share(child.t18, share)
        if child.ptype in FOSTER and u1 < share:
            return "staying_put_18", min(self.staying_put_days(u2), STAYING_PUT_MAX_DAYS)
        asc = a.adult_social_care_share_disability if child.disabled else 0.0
        if u3 < asc:
            return "adult_social_care", 0.0
        # what is left of the draw, rescaled: a disabled child who missed adult social care
        # (a draw of asc or more) would otherwise never get supported living (QA14)
        if (u3 - asc) / (1.0 - asc) < a.supported_living_share:
            return "independent_living_supported", 0.0
        return "turned_18_other", 0.0

    def reentry_delay(self, child, route: str) -> float:
        u1, u2 = child.u(), child.u()
        if route.startswith("returned_home") or route == "lives_with_relatives_no_pr":
            spec, sampler = self.reentry_home, self.reentry_home_days
        elif route.startswith("sgo") or route == "child_arrangements_order":
            spec, sampler = self.reentry_order, self.reentry_order_days
        else:
            return math.inf
        return sampler(u2) if u1 < spec.probability else math.inf


CARE_LEAVER_ROUTES = {EXIT_CODE[r] for r in (
    "independent_living_supported", "independent_living_unsupported", "staying_put_18",
    "turned_18_other", "adult_social_care")}
