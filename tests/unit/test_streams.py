import numpy as np

from carejourney.model.children import ChildFactory
from carejourney.streams import Streams


def test_child_rows_do_not_depend_on_how_many_children_there_are():
    s = Streams(seed=5, replication=3)
    all_rows = s.child_uniform_rows("edge_of_care", 0, 100)
    assert np.array_equal(all_rows[40:45], s.child_uniform_rows("edge_of_care", 40, 5))


def test_streams_differ_by_seed_replication_and_source():
    a = Streams(1, 0).child_uniform_rows("opening", 0, 3)
    assert not np.array_equal(a, Streams(2, 0).child_uniform_rows("opening", 0, 3))
    assert not np.array_equal(a, Streams(1, 1).child_uniform_rows("opening", 0, 3))
    assert not np.array_equal(a, Streams(1, 0).child_uniform_rows("uasc", 0, 3))
    assert np.array_equal(a, Streams(1, 0).child_uniform_rows("opening", 0, 3))


def test_a_child_keeps_its_numbers_past_its_first_block():
    import datetime as dt
    f1 = ChildFactory(Streams(9, 0), "edge_of_care", 0, dt.date(2015, 4, 1))
    f2 = ChildFactory(Streams(9, 0), "edge_of_care", 0, dt.date(2015, 4, 1))
    c1, c2 = f1.make(7), f2.make(7)
    f2.make(3)  # another child drawing in between changes nothing
    assert [c1.u() for _ in range(200)] == [c2.u() for _ in range(200)]


def test_every_key_part_gives_its_own_numbers():
    """Blocks of a shared stream, shared streams by name, and each child's overflow blocks
    are all distinct: a key part dropped would hand two children (or two years of arrivals)
    the same random numbers."""
    s = Streams(4, 2)
    first = s.shared_block("arrivals", 0).random(4)
    assert not np.array_equal(first, s.shared_block("arrivals", 1).random(4))
    assert not np.array_equal(first, s.shared_block("referrals", 0).random(4))
    assert np.array_equal(first, Streams(4, 2).shared_block("arrivals", 0).random(4))
    assert not np.array_equal(s.shared("arrivals").random(4), s.shared("uasc").random(4))
    a = s.child_overflow("edge_of_care", 7, 1)
    assert a != s.child_overflow("edge_of_care", 8, 1)
    assert a != s.child_overflow("edge_of_care", 7, 2)
    assert a != s.child_overflow("uasc", 7, 1)
    assert a == Streams(4, 2).child_overflow("edge_of_care", 7, 1)
