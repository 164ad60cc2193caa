"""A small run's tidy output, stored and compared exactly: any change to the model's
numbers shows up here as a diff. Exact equality needs the pinned versions in
requirements-lock.txt (numpy and scipy change low-order bits between releases)."""

import pandas as pd

from tests.backtest.regenerate import STORED, current


def test_output_matches_stored_backtest():
    stored = pd.read_csv(STORED)
    now = current()
    now = now.astype({c: stored[c].dtype for c in stored.columns})
    pd.testing.assert_frame_equal(now.reset_index(drop=True), stored, check_exact=True)
