"""Local worker processes: Ctrl-C (sent to the whole process group) interrupts only the main
process, which then stops the workers at once, however many times it is pressed."""

from __future__ import annotations

import os
import signal
import time

import pytest

from carejourney.runner import worker_pool


def _sigint_handler(_):
    return signal.getsignal(signal.SIGINT) == signal.SIG_IGN


def _sleep(seconds):
    time.sleep(seconds)
    return seconds


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_workers_ignore_ctrl_c():
    with worker_pool(2) as pool:
        assert all(pool.map(_sigint_handler, range(2)))


def test_an_interrupt_stops_the_workers_without_waiting_for_their_work():
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        with worker_pool(2) as pool:
            futures = [pool.submit(_sleep, 60) for _ in range(4)]
            time.sleep(0.5)  # the workers are busy
            processes = list(pool._processes.values())
            raise KeyboardInterrupt
    # asked of the operating system: the pool's own thread may reap a worker first, and then
    # Process.is_alive() cannot tell
    while any(_exists(p.pid) for p in processes) and time.monotonic() - t0 < 15:
        time.sleep(0.05)
    assert not any(_exists(p.pid) for p in processes)
    assert time.monotonic() - t0 < 15  # not the 60 s of work, nor for ever
    assert all(f.cancelled() or f.done() for f in futures)


def test_no_more_processes_than_there_is_work_for(monkeypatch):
    """QA: `run --reps 4 --workers 999` forked ~999 processes and took ten times longer."""
    from contextlib import contextmanager

    import carejourney.runner as runner
    from carejourney.config import parse_config
    from tests.conftest import small_dict

    asked = []
    real = runner.worker_pool

    @contextmanager
    def recording(workers):
        asked.append(workers)
        with real(workers) as pool:
            yield pool

    monkeypatch.setattr(runner, "worker_pool", recording)
    result = runner.run_replications(parse_config(small_dict(1)), reps=3, seed=1, workers=999)
    assert asked and max(asked) <= 3
    assert sorted(result.annual["replication"].unique()) == [0, 1, 2]
