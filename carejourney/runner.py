"""The Monte Carlo engine: replications of one scenario, serial or across local processes.

Replication r is seeded by (seed, r) alone, so results do not depend on the number of
workers or the order replications finish in. `run` and `experiment` both use this.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd

from .events import tables as event_tables
from .metrics import measures
from .model.modifiers import NO_CHANGE
from .model.system import CareSystem
from .uncertainty import with_parameter_draws


@dataclass
class ReplicationResult:
    replication: int
    annual: pd.DataFrame
    monthly: pd.DataFrame
    events: dict[str, pd.DataFrame] | None = None


def run_replication(cfg, seed: int, replication: int, mods=NO_CHANGE, keep_events: bool = False,
                    lean: bool = False) -> ReplicationResult:
    """One replication: simulate, then derive the tidy measures from the event log."""
    return run_repriced(cfg, seed, replication, mods, [mods], keep_events, lean)[0]


def run_repriced(cfg, seed: int, replication: int, mods, priced: list, keep_events: bool = False,
                 lean: bool = False) -> list[ReplicationResult]:
    """Simulate once with `mods`, then measure the log once per entry of `priced`, whose
    cost overrides set the prices. Scenarios whose levers change only prices (unit costs,
    allowances, parental contributions) share the baseline's journeys exactly, so they
    need no simulation of their own."""
    # The run allocates many small objects that live until its end; the cyclic garbage
    # collector would scan them over and over for nothing. It is paused for the run and
    # resumed only after the run's objects are gone (_simulate's locals), so its first
    # collection has little to scan.
    enabled = gc.isenabled()
    gc.disable()
    try:
        measured = _simulate(cfg, seed, replication, mods, priced, keep_events, lean)
    finally:
        if enabled:
            gc.enable()
    out = []
    for annual, monthly, events in measured:
        annual.insert(0, "replication", replication)
        monthly.insert(0, "replication", replication)
        out.append(ReplicationResult(replication, annual, monthly, events))
    return out


def _simulate(cfg, seed, replication, mods, priced, keep_events, lean):
    cfg = with_parameter_draws(cfg, seed, replication)
    system = CareSystem(cfg, seed, replication, mods)
    log = system.run()
    services = [s.name for s in system.services]
    pools = list(system.pools)
    costs = [s.cfg.cost_per_case_gbp for s in system.services]
    events = event_tables(log, cfg.horizon.start_date, services, pools) if keep_events else None
    return [(*measures(cfg, log, services, pools, service_costs=costs, lean=lean, **_cost_overrides(p, cfg)), events)
            for p in priced]


def _cost_overrides(mods, cfg) -> dict:
    hook = getattr(mods, "cost_overrides", None) if mods.active else None
    return hook(cfg) if hook else {}


def _run_chunk(args):
    cfg, seed, reps, mods_factory = args
    out = []
    for r in reps:
        mods = mods_factory(r) if mods_factory else NO_CHANGE
        res = run_replication(cfg, seed, r, mods)
        out.append((r, res.annual, res.monthly))
    return out


@dataclass
class RunResult:
    """Tidy tables of every replication, plus the first replication's event log if kept."""

    annual: pd.DataFrame
    monthly: pd.DataFrame
    events: dict[str, pd.DataFrame] | None = field(default=None)

    def quantiles(self, table: str = "annual", qs=(0.05, 0.25, 0.5, 0.75, 0.95)) -> pd.DataFrame:
        df = getattr(self, table)
        keys = ["period", "measure", "breakdown", "category"]
        g = df.groupby(keys, observed=True, sort=False)["value"]
        out = g.mean().rename("mean").to_frame()
        for q in qs:
            out[f"q{int(q * 100):02d}"] = g.quantile(q)
        return out.reset_index()


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def chunked(seq, n):
    k, m = divmod(len(seq), n)
    out, i = [], 0
    for j in range(n):
        size = k + (1 if j < m else 0)
        if size:
            out.append(seq[i:i + size])
        i += size
    return out


# A million replications of one scenario is about a day on two cores; more is a typo
# (and the list of replications alone would exhaust memory long before it ran).
# What stacking and summarising replications holds in memory at once, per replication and
# year of run, measured on Cambridgeshire's 6 years: `run`, ~0.70 MB a replication at peak
# (the RSS of 200 replications less that of 20); an experiment's summary, 3.2 GB for 28,000
# scenario-replications (benchmarks/HISTORY.md, fourteenth QA round).
RUN_BYTES_PER_REP_YEAR = 120_000
SUMMARY_BYTES_PER_REP_YEAR = 19_000


class RunError(Exception):
    """A run this machine cannot finish, refused before it starts."""


def physical_memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system: no check
        return None


def memory_refusal(cfg, reps: int, bytes_per_rep_year: float, what: str) -> str | None:
    """Why `reps` replications cannot be held in this machine's memory, or None if they can:
    said before hours of computing, not after (--reps 1000000: QA19)."""
    have = physical_memory_bytes()
    h = cfg.horizon
    per_rep = max(1.0, (h.end_date - h.start_date).days / 365.25) * bytes_per_rep_year
    if have is None or reps * per_rep <= have:
        return None
    return (f"{reps:,} replications: {what} holds them in memory at once, about {reps * per_rep / 1e9:,.0f} GB, "
            f"and this machine has {have / 1e9:,.0f} GB: use at most about {int(have // per_rep):,} replications "
            "here (or run several batches, each with its own seed)")


MAX_REPS = 1_000_000
PARENT_CHECK_S = 1.0  # how often a worker looks for its parent


def _ignore_interrupts():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # terminate() stops a worker, whatever its parent set
    # A parent killed outright (kill -9, the out-of-memory killer) cannot terminate its
    # workers: each leaves by itself once it is orphaned (QA14: they slept on for ever).
    parent = os.getppid()
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent: int):
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)  # a chunk being written is lost whole (chunk files appear by rename)


@contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """Local worker processes that an interrupt stops at once, however often Ctrl-C is pressed.

    Ctrl-C signals the whole process group. Workers ignore it, so only the main process is
    interrupted; it then terminates the workers rather than shutting the pool down politely.
    A second Ctrl-C during a polite shutdown used to leave the workers without their stop
    signal and the interpreter waiting for them for ever. A chunk a worker was writing is
    lost (chunk files appear whole, by rename) and a resumed batch recomputes it."""
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_interrupts)
    try:
        yield pool
    except BaseException:
        for process in list((pool._processes or {}).values()):  # no public way to stop workers now
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def run_replications(cfg, reps: int, seed: int, workers: int = 1, mods_factory=None,
                     keep_events: bool = False, progress=None) -> RunResult:
    """Run replications 0..reps-1 and stack their tables (sorted by replication)."""
    results: list[tuple[int, pd.DataFrame, pd.DataFrame]] = []
    events = None
    todo = list(range(reps))
    if keep_events and reps:
        first = run_replication(cfg, seed, 0, mods_factory(0) if mods_factory else NO_CHANGE, keep_events=True)
        results.append((0, first.annual, first.monthly))
        events = first.events
        todo = todo[1:]
        if progress:
            progress(1)
    if workers <= 1 or len(todo) <= 1:
        for r in todo:
            results.extend(_run_chunk((cfg, seed, [r], mods_factory)))
            if progress:
                progress(1)
    else:
        # small chunks keep the progress bar moving and the cores evenly loaded
        chunks = chunked(todo, max(workers * 4, 1))
        with worker_pool(min(workers, len(chunks))) as pool:  # no idle processes: --workers 999 forked 999
            # futures, not pool.map: an interrupted map cancels its futures from this thread while
            # the pool's own thread marks them broken, and that race printed a traceback (QA18)
            futures = [pool.submit(_run_chunk, (cfg, seed, c, mods_factory)) for c in chunks]
            for future in futures:
                out = future.result()
                results.extend(out)
                if progress:
                    progress(len(out))
    results.sort(key=lambda x: x[0])
    annual = pd.concat([a for _, a, _ in results], ignore_index=True) if results else pd.DataFrame()
    monthly = pd.concat([m for _, _, m in results], ignore_index=True) if results else pd.DataFrame()
    return RunResult(annual, monthly, events)
