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


def _sigterm_default(_):
    return signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_workers_die_on_sigterm_whatever_their_parent_set():
    previous = signal.signal(signal.SIGTERM, lambda *_: None)  # as the command line sets it
    try:
        with worker_pool(2) as pool:
            assert all(pool.map(_sigterm_default, range(2)))
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads the process tree from /proc")
def test_sigterm_stops_an_experiment_as_ctrl_c_does(tmp_path):
    """QA: a batch system's kill (SIGTERM) left the two workers running with no parent. It
    now stops the experiment as Ctrl-C does: exit 143, finished chunks kept, no workers left."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "carejourney.cli", "experiment", str(root / "experiments" / "carers-and-alternatives-to-care.yaml"),
         "--reps", "200", "--workers", "2", "--out", str(out), "--no-report"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    t0 = time.monotonic()
    while len(workers) < 2 and time.monotonic() - t0 < 60:  # wait until both workers run
        time.sleep(0.2)
        try:
            text = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text()
        except FileNotFoundError:
            break
        workers = [int(p) for p in text.split()]
    if len(workers) >= 2:
        time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)  # orphaned workers would hold its pipes open
        deadline = time.monotonic() + 15
        while any(_exists(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [p for p in workers if _exists(p)]
    finally:
        for pid in workers:  # whatever happened, leave no process behind
            if _exists(pid):
                os.kill(pid, signal.SIGKILL)
        proc.kill()
    assert proc.returncode == 143, err  # 128 + SIGTERM
    assert "interrupted: finished chunks are kept" in err
    assert len(workers) >= 2 and not left


PARENT = """
import sys, time
from carejourney.runner import worker_pool
from tests.unit.test_worker_pool import _sleep
with worker_pool(2) as pool:
    futures = [pool.submit(_sleep, 60) for _ in range(2)]
    time.sleep(1.0)
    print(*[p.pid for p in pool._processes.values()], flush=True)
    time.sleep(60)
"""


def test_workers_leave_when_their_parent_is_killed_outright():
    """QA14: kill -9 of the main process (or the out-of-memory killer) left its workers
    asleep for ever; nothing can terminate them then, so they notice by themselves."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, cwd=root)
    try:
        workers = [int(x) for x in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(_exists(w) for w in workers)
    finally:
        parent.kill()
        parent.wait()
    t0 = time.monotonic()
    while any(_exists(w) for w in workers) and time.monotonic() - t0 < 15:
        time.sleep(0.1)
    assert not any(_exists(w) for w in workers)
