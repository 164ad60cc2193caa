"""Small-number suppression and rounding as DfE publishes; pseudonyms."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from carejourney.ssda903 import pseudonymise, round_to, suppress


def test_suppress_hides_small_counts_with_flag():
    df = pd.DataFrame({"group": list("abcde"), "n": [0, 1, 4, 5, 12], "m": [9, 9, 9, 2, 9]})
    out = suppress(df, ["n", "m"], threshold=5)
    assert out["n"].tolist()[:1] == [0.0] and np.isnan(out["n"].iloc[1]) and np.isnan(out["n"].iloc[2])
    assert out["n"].tolist()[3:] == [5.0, 12.0]
    assert np.isnan(out["m"].iloc[3])
    assert out["suppressed"].tolist() == [False, True, True, True, False]
    assert df["n"].tolist() == [0, 1, 4, 5, 12]  # input untouched


def test_suppress_display_variant_and_zero():
    df = pd.DataFrame({"n": [0, 3, 7]})
    assert suppress(df, "n", display=True)["n"].tolist() == [0, "c", 7]
    assert suppress(df, "n", display=True, hide_zero=True)["n"].tolist() == ["c", "c", 7]
    assert "suppressed" not in suppress(df, "n", display=True)


def test_round_to_nearest_ten_halves_up():
    df = pd.DataFrame({"n": [0, 4, 5, 14, 15, 88374, np.nan]})
    assert round_to(df, "n")["n"].tolist()[:-1] == [0, 0, 10, 10, 20, 88370]
    assert pd.isna(round_to(df, "n")["n"].iloc[-1])


@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=20), st.sampled_from([5, 10, 100]))
def test_round_to_stays_within_half_a_base(values, base):
    out = round_to(pd.DataFrame({"n": values}), "n", base=base)["n"].astype(int)
    assert ((out % base) == 0).all()
    assert (abs(out - pd.Series(values)) <= base / 2).all()


def test_pseudonyms_are_stable_per_salt_and_hide_the_id():
    ids = pd.Series(["123456", "123457", "123456"])
    a, b = pseudonymise(ids, "s1"), pseudonymise(ids, "s2")
    assert a.iloc[0] == a.iloc[2] and a.iloc[0] != a.iloc[1]
    assert a.iloc[0] != b.iloc[0]
    assert not any("123456" in p for p in a)
