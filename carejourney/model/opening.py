"""Children already looked after on the start date, drawn to match the published stock.

The published tables give margins (by age, by legal status, by placement), not their
joint distribution. Each margin is matched exactly by drawing without replacement from an
urn of the published counts, weighted by which combinations are plausible at each age
(a baby is not in supported accommodation, a 16-year-old is not placed for adoption),
with the weights first raked to both margins (iterative proportional fitting) so that each
age gets its share of a type, and impossible combinations left at the end swapped away.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate
from operator import mul

import numpy as np

from ..vocab import AGE_BANDS, DAYS_PER_YEAR, LEGAL_STATUSES, NEEDS, PLACEMENT_TYPES
from .demand import BAND_LOWER_YEARS, BAND_UPPER_YEARS
from .placements import lawful

# Structural plausibility of a placement type or legal status at each age band (relative
# weights), for the urn that draws the opening stock's joint table: the built-in values,
# which a config replaces name by name (opening.placement_type_age_weights and
# legal_status_age_weights). Assumption: what exists at which ages, not fitted values.
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
# A draw closer than this (relative to the total weight) to a boundary of the running
# sums is left to numpy, whose total may differ in the last bits: see _draw_in_order.
_BOUNDARY_TOL = 1e-12


def _age_weights(names: tuple[str, ...], weights: dict) -> np.ndarray:
    """(types, bands) plausibility weights."""
    return np.array([weights.get(n, (1, 1, 1, 1, 1)) for n in names], dtype=float)


def _raked_weights(w_age: np.ndarray, type_counts: np.ndarray, band_counts: np.ndarray) -> np.ndarray:
    """Urn weights that make the expected joint table (type x age band) the one closest to
    the plausibility weights with both published margins (iterative proportional fitting).

    With the plausibility weights alone, the urn must still empty exactly: types that are
    rare at most ages (placement orders) are then left over at the end and fall to
    whoever is drawn last, teenagers included. Raking first gives each age its fair share:
    a child of band b draws type k with probability J[k, b] / N_b at the start, where J is
    the raked table, i.e. weight J[k, b] / n_k on the n_k of type k left in the urn."""
    joint = w_age * (type_counts[:, None] > 0)
    for _ in range(200):
        rows = joint.sum(axis=1)
        joint = joint * np.divide(type_counts, rows, out=np.zeros_like(rows), where=rows > 0)[:, None]
        cols = joint.sum(axis=0)
        joint = joint * np.divide(band_counts, cols, out=np.zeros_like(cols), where=cols > 0)[None, :]
        if np.allclose(joint.sum(axis=1), type_counts, rtol=1e-9, atol=1e-9):
            break
    return np.divide(joint, type_counts[:, None], out=np.zeros_like(joint), where=type_counts[:, None] > 0)


def age_weights(names: tuple[str, ...], config_weights: dict[str, list[float]]) -> tuple:
    """The (types, bands) weights for an urn: the built-in ones, replaced for each name the
    config gives (opening.legal_status_age_weights / placement_type_age_weights)."""
    default = _PLACEMENT_AGE_WEIGHT if names == PLACEMENT_TYPES else _LEGAL_AGE_WEIGHT
    merged = {**default, **{k: tuple(v) for k, v in config_weights.items()}}
    return tuple(tuple(float(x) for x in row) for row in _age_weights(names, merged).tolist())


@lru_cache(maxsize=64)
def _raked_cached(weights: tuple, type_counts: tuple, band_counts: tuple, allowed: tuple | None) -> np.ndarray:
    """The same margins give the same weights in every replication: rake once. `weights`:
    the (types, bands) plausibility weights; `allowed`: which (type, band) pairs the config's
    age limits permit (None: all)."""
    w_age = np.array(weights, dtype=float)
    if allowed is not None:
        w_age = w_age * np.array(allowed, dtype=float)
    out = _raked_weights(w_age, np.array(type_counts, dtype=float), np.array(band_counts, dtype=float))
    out.flags.writeable = False
    return out


def _urn(rng, bands: np.ndarray, counts: dict[str, int], names: tuple[str, ...], weights: tuple,
         allowed: tuple | None = None) -> np.ndarray:
    remaining = np.array([counts.get(n, 0) for n in names], dtype=float)
    w_age = _raked_cached(weights, tuple(remaining.tolist()), tuple(np.bincount(bands, minlength=len(AGE_BANDS)).tolist()),
                          allowed)
    out = np.empty(len(bands), dtype=np.int64)
    # place the most constrained ages first (babies, then 16-17s) so rare combinations fit
    keys = rng.random(len(bands))
    order = np.lexsort((keys, (bands != 0) & (bands != 4)))
    draws = rng.random(len(bands))
    out[order] = _draw_in_order(w_age, bands[order], draws, remaining)
    return _repair(out, bands, w_age)


def _repair(out: np.ndarray, bands: np.ndarray, w_age: np.ndarray) -> np.ndarray:
    """The urn must empty exactly, so the last children drawn can be left only types that
    are impossible at their age (supported accommodation at 3). Swap each such child's
    type with the first child for whom both swapped types are possible: both margins stay
    as published, and no child keeps an impossible combination while a swap exists."""
    for i in np.flatnonzero(w_age[out, bands] == 0).tolist():
        k, b = out[i], bands[i]
        if w_age[k, b] > 0:
            continue  # mended by an earlier swap
        fits = np.flatnonzero((w_age[k, bands] > 0) & (w_age[out, b] > 0))
        if len(fits):
            j = fits[0]
            out[i], out[j] = out[j], k
    return out


# (placement types, legal statuses): True where a child found at the start can hold the placement
# under the status: where the placement can be held under it (placements.lawful), but for one pair
_HELD_AT_START = np.array([[lawful(k, s) for s in range(len(LEGAL_STATUSES))] for k in range(len(PLACEMENT_TYPES))])
# Concurrent carers are approved adopters: once a placement order is made the child is placed with
# them for adoption at once (journey._set_status), so concurrent care under a placement order lasts
# no time in the model and the DfE records the child as placed for adoption. Drawn at the start, it
# was turned into a placement for adoption made on day 0, which the year's count could not tell from
# the opening stock's (QA21: ~1 child a run).
_HELD_AT_START[PLACEMENT_TYPES.index("concurrent_foster_to_adopt"), LEGAL_STATUSES.index("placement_order")] = False


def _lawful(status: np.ndarray, placement: np.ndarray, bands: np.ndarray, legal_weights: np.ndarray) -> np.ndarray:
    """Placement and legal status come from two urns, so a child can draw a placement its
    status does not allow (placed with parents on s20, concurrent carers under a care order:
    PLACEMENT_LEGAL_STATUSES). Swap such a child's status with another child's, of the same
    age band if one fits, such that both placements allow their new status and both statuses
    are plausible at their new ages: both margins stay as published. No random draws, so
    every other draw is unchanged; a status no child can swap stays (the counts allow no better)."""
    ok = _HELD_AT_START
    status = status.copy()
    for i in np.flatnonzero(~ok[placement, status]).tolist():
        k, s, b = placement[i], status[i], bands[i]
        if ok[k, s]:
            continue  # mended by an earlier swap
        fits = ok[k, status] & ok[placement, s] & (legal_weights[status, b] > 0) & (legal_weights[s, bands] > 0)
        same_band = np.flatnonzero(fits & (bands == b))
        anywhere = same_band if len(same_band) else np.flatnonzero(fits)
        if len(anywhere):
            j = anywhere[0]
            status[i], status[j] = status[j], s
    return status


def _draw_in_order(w_age: np.ndarray, bands: np.ndarray, draws: np.ndarray, remaining: np.ndarray) -> list[int]:
    """One type per child in turn, each taken out of the urn.

    Each draw depends on the ones before, so this is a loop, on Python floats: their
    products and running sums are the same IEEE operations as numpy's, so it draws what
    numpy would. Only the total can differ (numpy's is a pairwise sum) in the last bits:
    a draw within rounding of a boundary is left to numpy.
    """
    left = remaining.tolist()
    by_band = w_age.T.tolist()
    # the types each age can draw, and their weights: any other adds exactly 0 to the sums
    live = [[k for k, w in enumerate(ws) if w > 0 and left[k] > 0] for ws in by_band]
    by_age = [(types, [ws[k] for k in types], b) for b, (ws, types) in enumerate(zip(by_band, live))]
    picks = []
    for (types, weights, b), u in zip(map(by_age.__getitem__, bands.tolist()), draws.tolist()):
        cum = list(accumulate(map(mul, weights, map(left.__getitem__, types))))
        total = cum[-1] if cum else 0.0
        if total <= 0:  # no plausible type left at this age
            k = _by_count(left, u)
        else:
            x = u * total
            i = bisect_right(cum, x)
            margin = _BOUNDARY_TOL * total
            if i < len(cum) and cum[i] - x > margin and (i == 0 or x - cum[i - 1] > margin):
                k = types[i]
            else:
                k = _numpy_draw(w_age[:, b], np.array(left), u)
        left[k] -= 1
        picks.append(k)
    return picks


def _numpy_draw(w_age: np.ndarray, remaining: np.ndarray, u: float) -> int:
    """One draw weighted by age plausibility, with numpy's arithmetic."""
    w = w_age * remaining
    k = min(int(np.searchsorted(np.cumsum(w), u * w.sum(), side="right")), len(w) - 1)
    while remaining[k] <= 0:  # guard against rounding at the top of the cumulative sum
        k -= 1
    return k


def _by_count(left: list[float], u: float) -> int:
    """One draw weighted by the counts left (whole numbers: every sum is exact)."""
    cum = list(accumulate(left))
    k = min(bisect_right(cum, u * cum[-1]), len(left) - 1)
    while left[k] <= 0:
        k -= 1
    return k


def placement_age_limits(cfg) -> tuple[np.ndarray, np.ndarray]:
    """Each placement type's youngest and oldest age (years, upper bound exclusive) in the config."""
    types = [cfg.placements.types[name] for name in PLACEMENT_TYPES]
    return (np.array([t.min_age_years for t in types], dtype=float),
            np.array([t.max_age_years + 1 for t in types], dtype=float))


def weighted_bands(config_weights: dict[str, list[float]]) -> np.ndarray:
    """(types, bands) True where the config's own opening.placement_type_age_weights give the
    band a positive weight: where a council's data held children at the start (calibrate writes
    them), allowed there even outside the type's ages."""
    out = np.zeros((len(PLACEMENT_TYPES), len(AGE_BANDS)), dtype=bool)
    for name, weights in config_weights.items():
        out[PLACEMENT_TYPES.index(name)] = np.array(weights) > 0
    return out


def _allowed_by_age(lo: np.ndarray, hi: np.ndarray, config_weights: dict[str, list[float]]) -> tuple:
    """(types, bands) 1 where some age of the band is within the type's limits, or the config's
    weights give the band (weighted_bands), else 0."""
    ok = np.maximum(BAND_LOWER_YEARS[None, :], lo[:, None]) < np.minimum(BAND_UPPER_YEARS[None, :], hi[:, None])
    return tuple(map(tuple, (ok | weighted_bands(config_weights)).astype(int).tolist()))


def _ages_within(bands: np.ndarray, type_lo: np.ndarray, type_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ages (years, upper exclusive) each child can be within its band: those its placement
    type takes (a children's home from 8: a 5-9 is 8 or 9); for a band the config's weights hold
    outside the type's ages (or an impossible pair the urn could not swap away), the band's one
    year nearest to them (a 10-15 in supported accommodation from 16 is 15)."""
    band_lo, band_hi = BAND_LOWER_YEARS[bands], BAND_UPPER_YEARS[bands]
    lo, hi = np.maximum(band_lo, type_lo), np.minimum(band_hi, type_hi)
    below, above = band_hi <= type_lo, band_lo >= type_hi
    lo = np.where(below, np.maximum(band_hi - 1, band_lo), np.where(above, band_lo, lo))
    hi = np.where(below, band_hi, np.where(above, np.minimum(band_lo + 1, band_hi), hi))
    return lo, hi


def draw_opening(cfg, rng: np.random.Generator):
    """Arrays describing the opening stock: age (days), band, status, placement, need, uasc, male, days in care."""
    op = cfg.opening
    bands = np.concatenate([np.full(op.age_band_counts.get(b, 0), i) for i, b in enumerate(AGE_BANDS)]).astype(int)
    rng.shuffle(bands)
    n = len(bands)
    u_age = rng.random(n)
    type_lo, type_hi = placement_age_limits(cfg)
    placement = _urn(rng, bands, op.placement_type_counts, PLACEMENT_TYPES,
                     age_weights(PLACEMENT_TYPES, op.placement_type_age_weights),
                     _allowed_by_age(type_lo, type_hi, op.placement_type_age_weights))
    lo, hi = _ages_within(bands, type_lo[placement], type_hi[placement])
    # looked after on 31 March: born, and in care, at least part of a day before the start
    age_days = np.maximum((lo + u_age * (hi - lo)) * DAYS_PER_YEAR, 1.0)
    # a child placed for adoption holds a placement order
    pfa = PLACEMENT_TYPES.index("placed_for_adoption")
    po = LEGAL_STATUSES.index("placement_order")
    counts = dict(op.legal_status_counts)
    forced = int((placement == pfa).sum())
    counts["placement_order"] = max(counts.get("placement_order", 0) - forced, 0)
    free = placement != pfa
    status = np.full(n, po)
    legal_weights = age_weights(LEGAL_STATUSES, op.legal_status_age_weights)
    status[free] = _urn(rng, bands[free], counts, LEGAL_STATUSES, legal_weights)
    status = _lawful(status, placement, bands, np.array(legal_weights))
    # UASC are the oldest: pick among 16-17s, then 10-15s at least the youngest arrival age
    # (filtered after the permutations, which keep their draws)
    youngest_days = (cfg.demand.uasc.arrival_ages or [0])[0] * DAYS_PER_YEAR
    uasc = np.zeros(n, dtype=bool)
    candidates = np.concatenate([rng.permutation(np.flatnonzero(bands == b)) for b in (4, 3)])
    # and not placed with a parent (an unaccompanied child has none here)
    first = (age_days[candidates] >= youngest_days) & (placement[candidates] != PLACEMENT_TYPES.index("placed_with_parents"))
    candidates = np.concatenate([candidates[first], candidates[~first]])
    uasc[candidates[: op.uasc_count]] = True
    need_names = list(op.need_mix)
    need = rng.choice([NEEDS.index(k) for k in need_names], size=n, p=[op.need_mix[k] for k in need_names])
    need[uasc] = NEEDS.index("N8_absent_parenting")
    male = rng.random(n) < op.male_share
    dist = op.days_in_care_so_far
    u = rng.random(n)
    # a UASC arrived at the youngest arrival age or older, not as a young child (QA18: 16-year-olds
    # had been in care since they were 7): its time in care is drawn below that bound (inverse CDF
    # of the distribution truncated there), not capped at it
    bound = np.maximum(age_days - youngest_days, 1.0)
    u[uasc] *= [1.0 - dist.survival(b) for b in bound[uasc].tolist()]
    in_care = np.clip(list(map(dist.sampler(), u.tolist())), 0.5, age_days - 0.5)
    in_care[uasc] = np.minimum(in_care[uasc], np.maximum(bound[uasc] - 0.5, 0.5))
    return dict(age_days=age_days, band=bands, status=status, placement=placement,
                need=need, uasc=uasc, male=male, days_in_care=in_care)
