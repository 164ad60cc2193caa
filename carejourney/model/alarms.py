"""Alarms: the lightest SimPy event, a callback due at a time.

A `Timeout` carries what a generator process needs; a child driven by callbacks needs
only a time, a callback and a value. `Environment.schedule` accepts any object with
`callbacks`, `_ok` and `_value`, so an alarm is queued and processed by SimPy exactly as
a timeout is (same time, priority and order), at about half the cost of building one.
"""

from __future__ import annotations

from simpy.events import NORMAL


class Alarm:
    __slots__ = ("callbacks", "_ok", "_value")

    def __init__(self, callback, value):
        self.callbacks = [callback]
        self._ok = True
        self._value = value


def alarm(env, delay: float, callback, value=None) -> Alarm:
    """Call `callback(alarm)` after `delay` days; `alarm._value` is `value`."""
    a = Alarm(callback, value)
    env.schedule(a, NORMAL, delay)
    return a
