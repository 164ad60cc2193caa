"""Progress of a long batch: tqdm's bar on a terminal, a plain line every half minute in a
log file (a batch job's, nohup's), where tqdm would stay silent (QA14: no sign of progress)."""

from __future__ import annotations

import sys
import time

LOG_EVERY_S = 30.0


class LogLines:
    """The bar's update/close, written as whole lines a log can hold."""

    def __init__(self, total: int, desc: str, initial: int = 0, file=None, every_s: float = LOG_EVERY_S):
        self.total, self.desc, self.n, self.file, self.every_s = total, desc, initial, file or sys.stderr, every_s
        self.start = self.last = time.monotonic()
        self.first = initial
        self.shown = None  # the count the last line gave

    def update(self, n: int = 1):
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            self._line(now)

    def _line(self, now: float):
        done, elapsed = self.n - self.first, now - self.start
        left = f", about {_duration(elapsed / done * (self.total - self.n))} left" if 0 < done and self.n < self.total else ""
        print(f"{self.desc}: {self.n:,} of {self.total:,} ({self.n / max(self.total, 1):.0%}), "
              f"{_duration(elapsed)} so far{left}", file=self.file, flush=True)
        self.shown = self.n

    def close(self):
        # a line was written: end with the last count, unless the last line gave it (QA20: twice)
        if self.last > self.start and self.shown != self.n:
            self._line(time.monotonic())
            self.last = self.start

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def progress_bar(total: int, desc: str, initial: int = 0, enabled: bool = True):
    """An object with update(n) and close(): nothing when not enabled, tqdm on a terminal,
    LogLines otherwise."""
    from tqdm import tqdm
    if enabled and not sys.stderr.isatty():
        return LogLines(total, desc, initial)
    return tqdm(total=total, initial=initial, desc=desc, unit="rep", disable=not enabled, file=sys.stderr)
