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
