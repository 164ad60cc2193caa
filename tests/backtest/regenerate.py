"""Regenerate the stored back-test output. Run only after an intended model change:

    python -m tests.backtest.regenerate

and say in the commit message why the numbers moved.
"""

from pathlib import Path

from carejourney.config import parse_config
from carejourney.runner import run_replications
from tests.conftest import small_dict

HERE = Path(__file__).parent
STORED = HERE / "baseline_2y_seed7.csv"


def current():
    cfg = parse_config(small_dict(2), "backtest")
    res = run_replications(cfg, reps=2, seed=7)
    return res.annual


if __name__ == "__main__":
    current().to_csv(STORED, index=False)
    print(f"wrote {STORED}")
