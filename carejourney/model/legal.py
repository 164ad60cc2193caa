"""Legal status over a period of care: how a child came in and what the courts decide.

s20 may turn into care proceedings; police protection lasts days; an interim care order
ends after proceedings of stochastic length with a care order, a placement order, or an
order that ends care (SGO, child arrangements order, return home). Remand ends by itself.
"""

from __future__ import annotations

import math

from ..distributions import categorical
from ..vocab import AGE_BANDS, EXIT_CODE, LEGAL_CODE

S20, PP, ICO, CO, PO, REMAND = (LEGAL_CODE[s] for s in (
    "s20", "police_protection", "interim_care_order", "care_order", "placement_order", "remand"))

# An outcome that ends care is stored as a negative code: -(exit code + 1).
def exit_marker(route: str) -> int:
    return -(EXIT_CODE[route] + 1)


def marker_route(marker: int) -> int:
    return -marker - 1


class LegalPathway:
    def __init__(self, cfg, exits):
        lc = cfg.legal
        self.exits = exits
        self.entry = [categorical(lc.entry_status_by_age_band[b]) for b in AGE_BANDS]
        self.pp_days = lc.police_protection_days.sampler()
        self.after_pp = categorical(lc.after_police_protection)
        self.s20_proc_p = [lc.s20_proceedings_probability_by_age_band[b] for b in AGE_BANDS]
        self.s20_days = lc.days_s20_to_proceedings.sampler()
        self.s20_survival = lc.days_s20_to_proceedings.survival
        self.proc_days = lc.proceedings_days.sampler()
        self.outcome = [categorical(lc.proceedings_outcome_by_age_band[b]) for b in AGE_BANDS]
        self.remand_days = lc.remand_days.sampler()
        # lengths of the spells found running at the start (length-biased), by status
        self.running_days = {PP: lc.police_protection_days.length_biased(), S20: lc.days_s20_to_proceedings.length_biased(),
                             ICO: lc.proceedings_days.length_biased(), REMAND: lc.remand_days.length_biased()}

    def entry_status(self, child, t: float) -> int:
        return LEGAL_CODE[self.entry[child.age_band(t)](child.u())]

    def schedule(self, child, t: float):
        """Set the child's next legal event (time and what it becomes) for its status."""
        status = child.status
        u = child.u()
        child.t_legal, child.next_status = math.inf, None
        if status == PP:
            nxt = self.after_pp(child.u())
            child.t_legal = t + self.pp_days(u)
            child.next_status = self._decision(child, nxt)
        elif status == S20:
            if u < self.s20_proc_p[child.age_band(t)]:
                child.t_legal = t + self.s20_days(child.u())
                child.next_status = ICO
        elif status == ICO:
            child.t_legal = t + self.proc_days(u)
            child.next_status = self._decision(child, self.outcome[child.age_band(t)](child.u()))
        elif status == REMAND:
            child.t_legal = t + self.remand_days(u)
            child.next_status = exit_marker("remand_ended")

    def s20_court_still_to_come(self, child, t: float, on_s20_days: float, u: float) -> bool:
        """For a child found on s20 at the start, drawn (at entry's chance p) to go to court:
        after `on_s20_days` without proceedings the chance they are still to come is
        p S / (p S + 1 - p), S the chance the wait is longer, so keep the draw with
        S / (p S + 1 - p). A child years on s20 rarely goes to court (QA17: at entry's chance,
        30-60%, too many of the opening stock did, and soon)."""
        p = self.s20_proc_p[child.age_band(t)]
        s = self.s20_survival(on_s20_days)
        seen = p * s + 1.0 - p
        return seen <= 0.0 or u < s / seen  # 0: every child goes to court, and this one is late

    def _decision(self, child, outcome: str) -> int:
        if outcome in LEGAL_CODE:
            return LEGAL_CODE[outcome]
        if outcome == "sgo":
            return exit_marker(self.exits.sgo_route(child))
        if outcome == "child_arrangements_order":
            return exit_marker("child_arrangements_order")
        return exit_marker(self.exits.returned_home_route(child))
