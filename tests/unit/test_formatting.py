"""Counts and chances as people read them (carejourney.formatting)."""

from __future__ import annotations

import pytest

from carejourney.formatting import count_text, percent_text


@pytest.mark.parametrize("value, text", [
    (442.5, "442.5"), (445.5, "445.5"), (442.0, "442"), (442.4, "442"), (442.6, "443"), (441.75, "442"),
    (-0.4, "0"), (0.5, "0.5"), (1234567.0, "1,234,567"), (1234.5, "1,234.5"), (0, "0")])
def test_a_count_is_whole_unless_it_is_a_half(value, text):
    assert count_text(value) == text


@pytest.mark.parametrize("p, text", [
    (0.0, "0%"), (1.0, "100%"), (0.995, ">99%"), (0.9999, ">99%"), (0.004, "<1%"), (1e-9, "<1%"),
    (0.005, "<1%"),  # f"{0.005:.0%}" is "0%": rounded half to even
    (0.5, "50%"), (0.994, "99%"), (0.01, "1%"), (0.126, "13%")])
def test_a_chance_reads_certain_only_when_it_is(p, text):
    assert percent_text(p) == text
