"""Chunks of an experiment's replications: a cover of [0, reps) that reuses what is written."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from carejourney.experiment import CHUNK_REPS, chunk_spans

spans = st.tuples(st.integers(0, 60), st.integers(1, 20)).map(lambda t: (t[0], t[0] + t[1]))


@given(have=st.sets(spans, max_size=8), reps=st.integers(1, 80))
def test_chunks_cover_every_replication_once_in_order(have, reps):
    cover = chunk_spans(have, reps)
    assert cover[0][0] == 0 and cover[-1][1] == reps
    assert all(a < b for a, b in cover)
    assert all(b == a2 for (_, b), (a2, _) in zip(cover, cover[1:]))
    for a, b in cover:  # a new chunk never crosses a multiple of CHUNK_REPS
        assert (a, b) in have or (b - 1) // CHUNK_REPS == a // CHUNK_REPS


@given(have=st.sets(spans, max_size=8), reps=st.integers(1, 80))
def test_a_written_chunk_that_fits_where_the_cover_reaches_is_used(have, reps):
    cover = chunk_spans(have, reps)
    for a, b in cover:
        fits = [e for s, e in have if s == a and e <= reps]
        if fits:
            assert b == max(fits)


def test_a_batch_extended_from_25_to_40_keeps_its_chunks():
    assert chunk_spans(set(), 25) == [(0, 10), (10, 20), (20, 25)]
    assert chunk_spans({(0, 10), (10, 20), (20, 25)}, 40) == [(0, 10), (10, 20), (20, 25), (25, 30), (30, 40)]
    assert chunk_spans({(0, 10), (10, 20), (20, 30), (30, 40)}, 25) == [(0, 10), (10, 20), (20, 25)]
    assert chunk_spans({(0, 10), (10, 20), (20, 25), (20, 30)}, 40)[2] == (20, 30)  # the longest that fits
