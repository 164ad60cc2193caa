"""Alarms: the lightest SimPy event, a callback due at a time.

A `Timeout` carries what a generator process needs; a child driven by callbacks needs
only a time, a callback and a value. `Environment.schedule` accepts any object with
`callbacks`, `_ok` and `_value`, so an alarm is queued and processed by SimPy exactly as
a timeout is (same time, priority and order), at about half the cost of building one.
Callers that set many alarms with the same callback pass one shared tuple of callbacks
(SimPy only iterates it), so an alarm is a single small object.
"""

from __future__ import annotations

from simpy.events import NORMAL


class Alarm:
    __slots__ = ("callbacks", "_value")
    _ok = True  # an alarm never fails

    def __init__(self, callbacks: tuple, value):
        self.callbacks = callbacks
        self._value = value


def alarm(env, delay: float, callbacks: tuple, value=None) -> Alarm:
    """Call each of `callbacks` with the alarm after `delay` days; `alarm._value` is `value`.
    A negative delay would turn SimPy's clock back (env.timeout refuses one; schedule does not)."""
    if delay < 0:
        raise ValueError(f"an alarm cannot be set in the past (delay {delay} days)")
    a = Alarm(callbacks, value)
    env.schedule(a, NORMAL, delay)
    return a
