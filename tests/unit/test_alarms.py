"""Alarms: the model's lightest SimPy event."""

from __future__ import annotations

import pytest
import simpy

from carejourney.model.alarms import alarm


def test_alarms_ring_in_time_order_with_their_values():
    env = simpy.Environment(initial_time=5.0)
    rung = []
    for delay, name in ((2.0, "b"), (0.0, "a"), (7.5, "c")):
        alarm(env, delay, (lambda ev: rung.append((env.now, ev._value)),), name)
    env.run()
    assert rung == [(5.0, "a"), (7.0, "b"), (12.5, "c")]


def test_an_alarm_in_the_past_is_refused():
    """It would turn the clock back: a child re-entering 'before' now, say."""
    env = simpy.Environment(initial_time=5.0)
    with pytest.raises(ValueError, match="in the past"):
        alarm(env, -1e-9, (lambda ev: None,))
