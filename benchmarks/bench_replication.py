"""Speed of one replication, metrics included, on one core.

    python benchmarks/bench_replication.py [--reps 40] [--england-reps 1]

Prints replications per second for the default config and seconds per replication for
configs/england-2015.yaml. Targets (issue 2): Cambridgeshire >= 20 reps/s (<= 50 ms), one
5-year England replication <= 20 s. Record results in benchmarks/HISTORY.md.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import time
from pathlib import Path

from carejourney import __version__
from carejourney.config import load_config
from carejourney.metrics import measures
from carejourney.model.system import CareSystem
from carejourney.runner import run_replication
from carejourney.uncertainty import with_parameter_draws

ROOT = Path(__file__).resolve().parents[1]


def time_reps(cfg, reps: int, seed: int = 1) -> list[float]:
    out = []
    for r in range(reps):
        t = time.perf_counter()
        run_replication(cfg, seed, r)
        out.append(time.perf_counter() - t)
    return out


def split_ms(cfg, reps: int, seed: int = 1) -> tuple[float, float]:
    """Median milliseconds of the simulation and of the metrics, timed apart (the steps of
    runner.run_replication, with the collector paused as it pauses it)."""
    sim, met = [], []
    for r in range(reps):
        gc.disable()
        try:
            t0 = time.perf_counter()
            c = with_parameter_draws(cfg, seed, r)
            system = CareSystem(c, seed, r)
            log = system.run()
            t1 = time.perf_counter()
            measures(c, log, [s.name for s in system.services], list(system.pools),
                     service_costs=[s.cfg.cost_per_case_gbp for s in system.services])
            t2 = time.perf_counter()
        finally:
            gc.enable()
        sim.append(t1 - t0)
        met.append(t2 - t1)
    return statistics.median(sim) * 1000, statistics.median(met) * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--england-reps", type=int, default=1)
    args = ap.parse_args()
    print(f"carejourney {__version__}, Python {platform.python_version()}, {platform.processor() or platform.machine()}")
    cambs = load_config(ROOT / "configs" / "cambridgeshire-2015.yaml")
    time_reps(cambs, 2)  # warm up imports and caches
    t = time_reps(cambs, args.reps)
    med = statistics.median(t)
    print(f"cambridgeshire-2015: {1 / med:.1f} replications/s per core "
          f"(median {med * 1000:.0f} ms, min {min(t) * 1000:.0f} ms over {args.reps}; target >= 20/s)")
    sim, met = split_ms(cambs, args.reps)
    print(f"  of which: simulation {sim:.0f} ms, metrics {met:.0f} ms (medians, timed apart)")
    if args.england_reps:
        eng = load_config(ROOT / "configs" / "england-2015.yaml")
        te = time_reps(eng, args.england_reps)
        print(f"england-2015: {statistics.median(te):.1f} s per 5-year replication "
              f"(over {args.england_reps}; target <= 20 s)")


if __name__ == "__main__":
    main()
