"""Progress in a log file: whole lines every so often, where tqdm's bar stays silent."""

from __future__ import annotations

import io

from carejourney import progress
from carejourney.progress import LogLines, progress_bar


def test_log_lines_say_how_far_and_how_long_to_go(monkeypatch):
    clock = iter([0.0, 10.0, 31.0, 45.0, 62.0, 70.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    out = io.StringIO()
    with LogLines(100, "replications", initial=20, file=out) as bar:  # resumed with 20 done
        for _ in range(4):
            bar.update(10)
    lines = out.getvalue().splitlines()
    # at 31 s (40 done, 20 of them in 31 s: 60 left take ~93 s) and 62 s; close adds no line
    # when the last one already gave the count (QA20: the final line came twice)
    assert lines == ["replications: 40 of 100 (40%), 31 s so far, about 1 min 33 s left",
                     "replications: 60 of 100 (60%), 1 min 02 s so far, about 1 min 02 s left"]


def test_log_lines_end_with_the_last_count_once(monkeypatch):
    clock = iter([0.0, 31.0, 40.0, 62.0, 70.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    out = io.StringIO()
    with LogLines(30, "replications", file=out) as bar:
        for _ in range(3):
            bar.update(10)
    assert out.getvalue().splitlines() == ["replications: 10 of 30 (33%), 31 s so far, about 1 min 02 s left",
                                           "replications: 30 of 30 (100%), 1 min 02 s so far"]


def test_a_short_run_writes_nothing():
    out = io.StringIO()
    with LogLines(10, "replications", file=out) as bar:
        bar.update(10)
    assert out.getvalue() == ""


def test_a_log_gets_lines_and_a_terminal_the_bar(monkeypatch):
    monkeypatch.setattr(progress.sys.stderr, "isatty", lambda: False, raising=False)
    assert isinstance(progress_bar(10, "x"), LogLines)
    assert not isinstance(progress_bar(10, "x", enabled=False), LogLines)
    monkeypatch.setattr(progress.sys.stderr, "isatty", lambda: True, raising=False)
    assert not isinstance(progress_bar(10, "x"), LogLines)


def test_log_lines_end_with_the_count_the_last_line_had_not_given(monkeypatch):
    clock = iter([0.0, 31.0, 40.0, 45.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    out = io.StringIO()
    with LogLines(20, "replications", file=out) as bar:
        bar.update(10)
        bar.update(10)
    assert out.getvalue().splitlines() == ["replications: 10 of 20 (50%), 31 s so far, about 31 s left",
                                           "replications: 20 of 20 (100%), 45 s so far"]
