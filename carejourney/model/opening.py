"""Children already looked after on the start date, drawn to match the published stock.

The published tables give margins (by age, by legal status, by placement), not their
joint distribution. Each margin is matched exactly by drawing without replacement from an
urn of the published counts, weighted by which combinations are possible at each age
(a baby is not in supported accommodation, a 16-year-old is not placed for adoption).
"""

from __future__ import annotations

import numpy as np

from ..vocab import AGE_BANDS, LEGAL_STATUSES, NEEDS, PLACEMENT_TYPES
from .demand import age_in_band_days

# Structural plausibility of a placement type at each age band (relative weights).
# Assumption: these encode what placements exist for which ages, not fitted values.
_PLACEMENT_AGE_WEIGHT = {
    "placed_for_adoption": (1, 1, 0.3, 0, 0),
    "concurrent_foster_to_adopt": (1, 0.5, 0, 0, 0),
    "supported_accommodation": (0, 0, 0, 0, 1),
    "inhouse_childrens_home": (0, 0.02, 0.3, 1, 1),
    "external_childrens_home": (0, 0.02, 0.3, 1, 1),
    "residential_school": (0, 0, 0.3, 1, 1),
    "secure_disability_residential": (0, 0.05, 0.3, 1, 1),
}
_LEGAL_AGE_WEIGHT = {
    "placement_order": (1, 1, 0.3, 0.02, 0),
    "remand": (0, 0, 0, 0.2, 1),
}


def _urn(rng, bands: np.ndarray, counts: dict[str, int], names: tuple[str, ...], weights: dict) -> np.ndarray:
    remaining = np.array([counts.get(n, 0) for n in names], dtype=float)
    w_age = np.array([weights.get(n, (1, 1, 1, 1, 1)) for n in names], dtype=float)  # (types, bands)
    out = np.empty(len(bands), dtype=np.int64)
    # place the most constrained ages first (babies, then 16-17s) so rare combinations fit
    keys = rng.random(len(bands))
    order = sorted(range(len(bands)), key=lambda i: (bands[i] not in (0, 4), keys[i]))
    draws = rng.random(len(bands)).tolist()
    for i, u in zip(order, draws):
        w = w_age[:, bands[i]] * remaining
        total = w.sum()
        if total <= 0:
            w, total = remaining.copy(), remaining.sum()
        k = min(int(np.searchsorted(np.cumsum(w), u * total, side="right")), len(names) - 1)
        while remaining[k] <= 0:  # guard against rounding at the top of the cumulative sum
            k -= 1
        out[i] = k
        remaining[k] -= 1
    return out


def draw_opening(cfg, rng: np.random.Generator):
    """Arrays describing the opening stock: age (days), band, status, placement, need, uasc, male, days in care."""
    op = cfg.opening
    bands = np.concatenate([np.full(op.age_band_counts.get(b, 0), i) for i, b in enumerate(AGE_BANDS)]).astype(int)
    rng.shuffle(bands)
    n = len(bands)
    # looked after on 31 March: born, and in care, at least part of a day before the start
    age_days = np.maximum([age_in_band_days(b, u) for b, u in zip(bands, rng.random(n))], 1.0)
    placement = _urn(rng, bands, op.placement_type_counts, PLACEMENT_TYPES, _PLACEMENT_AGE_WEIGHT)
    # a child placed for adoption holds a placement order
    pfa = PLACEMENT_TYPES.index("placed_for_adoption")
    po = LEGAL_STATUSES.index("placement_order")
    counts = dict(op.legal_status_counts)
    forced = int((placement == pfa).sum())
    counts["placement_order"] = max(counts.get("placement_order", 0) - forced, 0)
    free = placement != pfa
    status = np.full(n, po)
    status[free] = _urn(rng, bands[free], counts, LEGAL_STATUSES, _LEGAL_AGE_WEIGHT)
    # UASC are the oldest: pick among 16-17s, then 10-15s
    uasc = np.zeros(n, dtype=bool)
    candidates = [i for b in (4, 3) for i in rng.permutation(np.flatnonzero(bands == b))]
    uasc[candidates[: op.uasc_count]] = True
    need_names = list(op.need_mix)
    need = rng.choice([NEEDS.index(k) for k in need_names], size=n, p=[op.need_mix[k] for k in need_names])
    need[uasc] = NEEDS.index("N8_absent_parenting")
    male = rng.random(n) < op.male_share
    sampler = op.days_in_care_so_far.sampler()
    in_care = np.clip([sampler(u) for u in rng.random(n)], 0.5, age_days - 0.5)
    return dict(age_days=age_days, band=bands, status=status, placement=placement,
                need=need, uasc=uasc, male=male, days_in_care=in_care)
