"""The opening stock matches every published margin and holds no impossible combination."""

from __future__ import annotations

import numpy as np
import pytest

from carejourney.config import load_config
from carejourney.model.opening import age_weights, draw_opening
from carejourney.streams import Streams
from carejourney.vocab import (
    AGE_BANDS,
    LEGAL_STATUSES,
    PLACEMENT_LEGAL_STATUSES,
    PLACEMENT_TYPES,
)
from tests.conftest import DEFAULT_CONFIG


@pytest.mark.parametrize("replication", range(8))
def test_margins_exact_and_no_impossible_combination(replication):
    cfg = load_config(DEFAULT_CONFIG)
    op = cfg.opening
    o = draw_opening(cfg, Streams(3, replication).shared("opening"))
    assert np.bincount(o["band"], minlength=5).tolist() == [op.age_band_counts.get(b, 0) for b in AGE_BANDS]
    assert np.bincount(o["placement"], minlength=len(PLACEMENT_TYPES)).tolist() == \
        [op.placement_type_counts.get(p, 0) for p in PLACEMENT_TYPES]
    assert np.bincount(o["status"], minlength=len(LEGAL_STATUSES)).tolist() == \
        [op.legal_status_counts.get(s, 0) for s in LEGAL_STATUSES]
    # e.g. no toddler in supported accommodation, no 16-year-old placed for adoption
    placement_weights = np.array(age_weights(PLACEMENT_TYPES, op.placement_type_age_weights))
    legal_weights = np.array(age_weights(LEGAL_STATUSES, op.legal_status_age_weights))
    assert (placement_weights[o["placement"], o["band"]] > 0).all()
    assert (legal_weights[o["status"], o["band"]] > 0).all()


@pytest.mark.parametrize("replication", range(8))
def test_every_opening_child_holds_its_placement_under_a_status_that_allows_it(replication):
    """Placement and legal status come from two urns: without the swap, about five children a
    replication were placed with parents on s20 or a placement order, or with concurrent carers
    under a care order. No UASC is placed with a parent."""
    cfg = load_config(DEFAULT_CONFIG)
    o = draw_opening(cfg, Streams(3, replication).shared("opening"))
    held = [(PLACEMENT_TYPES[p], LEGAL_STATUSES[s]) for p, s in zip(o["placement"], o["status"])]
    assert [(p, s) for p, s in held if p in PLACEMENT_LEGAL_STATUSES and s not in PLACEMENT_LEGAL_STATUSES[p]] == []
    with_parents = o["placement"] == PLACEMENT_TYPES.index("placed_with_parents")
    assert with_parents.sum() == cfg.opening.placement_type_counts["placed_with_parents"]
    assert not (with_parents & o["uasc"]).any()


@pytest.mark.parametrize("replication", range(12))
def test_no_opening_child_is_with_concurrent_carers_under_a_placement_order(replication):
    """QA21: concurrent carers under a placement order are the adopters, so the child is placed for
    adoption at once: drawn at the start, ~1 child a run became a placement for adoption made on
    day 0, which the year's count of placements for adoption left out with the opening stock's."""
    cfg = load_config(DEFAULT_CONFIG)
    o = draw_opening(cfg, Streams(200, replication).shared("opening"))
    concurrent = o["placement"] == PLACEMENT_TYPES.index("concurrent_foster_to_adopt")
    assert concurrent.sum() == cfg.opening.placement_type_counts["concurrent_foster_to_adopt"] > 0
    assert not (o["status"][concurrent] == LEGAL_STATUSES.index("placement_order")).any()


def test_placement_orders_go_to_the_young():
    """Raked to both margins, placement orders sit mostly with under-10s: before raking, the
    urn left its unclaimed orders to whoever came last, a sixth of them teenagers."""
    cfg = load_config(DEFAULT_CONFIG)
    po = LEGAL_STATUSES.index("placement_order")
    by_band = np.zeros(5)
    for r in range(20):
        o = draw_opening(cfg, Streams(1, r).shared("opening"))
        by_band += np.bincount(o["band"][o["status"] == po], minlength=5)
    share_teen = by_band[3:].sum() / by_band.sum()
    assert share_teen < 0.08
    assert by_band[:2].sum() / by_band.sum() > 0.5  # 77 under-5s hold most of the 65 orders


def test_a_configs_age_weights_replace_the_built_in_ones():
    """Interim care orders weighted towards the young put more of them with under-5s than
    the built-in equal weights do; margins stay exact."""
    from carejourney.config import parse_config
    from tests.conftest import load_default_dict

    d = load_default_dict()
    d["opening"]["legal_status_age_weights"] = {}  # the built-in weights (ICO: equal at every age)
    base = parse_config(d)
    d["opening"]["legal_status_age_weights"] = {"interim_care_order": [4, 4, 1, 1, 0.2]}
    young = parse_config(d)
    ico = LEGAL_STATUSES.index("interim_care_order")
    counts = []
    for cfg in (base, young):
        n = 0
        for r in range(10):
            o = draw_opening(cfg, Streams(1, r).shared("opening"))
            n += int(((o["status"] == ico) & (o["band"] <= 1)).sum())
            assert (o["status"] == ico).sum() == cfg.opening.legal_status_counts["interim_care_order"]
        counts.append(n)
    assert counts[1] > 1.5 * counts[0], counts


@pytest.mark.parametrize("weights, message", [
    ({"interim_care_order": [1, 1, 1]}, "5 non-negative weights"),
    ({"interim_care_order": [0, 0, 0, 0, 0]}, "not all 0"),
    ({"interim_care_order": [1, -1, 1, 1, 1]}, "non-negative"),
    ({"interim_cares": [1, 1, 1, 1, 1]}, "unknown legal status"),
])
def test_bad_age_weights_name_the_field(weights, message):
    from carejourney.config import ConfigError, parse_config
    from tests.conftest import load_default_dict

    d = load_default_dict()
    d["opening"]["legal_status_age_weights"] = weights
    with pytest.raises(ConfigError, match=message) as err:
        parse_config(d, "c.yaml")
    assert "opening.legal_status_age_weights" in str(err.value)
