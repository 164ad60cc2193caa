"""Random streams for one replication, derived from one numpy SeedSequence.

Layout (the spawn key under the run's entropy):
  (replication, SHARED, k)            shared system streams: opening, capacity, adopters ...
  (replication, SHARED, k, b)         block b (a year) of a shared stream: arrivals, referrals
  (replication, CHILDREN, source)     one matrix of uniforms, row i = child i of that source
  (replication, OVERFLOW, source, i, b)   block b >= 1 of child i, when row i is used up

Every scenario of replication r sees the same shared streams, and child i of a source
always reads row i, so a lever that diverts one child leaves every other child's numbers
unchanged: a lever's effect is a paired difference, not noise.
"""

from __future__ import annotations

import numpy as np

SHARED, CHILDREN, OVERFLOW = 0, 1, 2
SHARED_STREAMS = ("arrivals", "uasc", "opening", "capacity", "referrals", "adopters", "parameters", "recruitment",
                  "post_care", "adopter_departures")  # append only: a stream's index is part of its seed
CHILD_SOURCES = ("opening", "edge_of_care", "uasc")
UNIFORMS_PER_CHILD = 64  # enough for most journeys; longer ones draw further blocks lazily


class Streams:
    def __init__(self, seed: int, replication: int):
        self.seed = int(seed)
        self.replication = int(replication)

    def _seq(self, *key: int) -> np.random.SeedSequence:
        return np.random.SeedSequence(entropy=self.seed, spawn_key=(self.replication, *key))

    def shared(self, name: str) -> np.random.Generator:
        """A system-level stream, the same in every scenario of this replication."""
        return np.random.Generator(np.random.PCG64(self._seq(SHARED, SHARED_STREAMS.index(name))))

    def shared_block(self, name: str, block: int) -> np.random.Generator:
        """Block `block` (a year of arrivals, say) of a system-level stream. Drawing each
        block from its own generator makes the draws for one period independent of how
        many periods follow, so a run to 2018 is the first years of a run to 2021."""
        return np.random.Generator(np.random.PCG64(self._seq(SHARED, SHARED_STREAMS.index(name), int(block))))

    def child_uniform_rows(self, source: str, first: int, n: int) -> np.ndarray:
        """First blocks of uniforms for children first..first+n-1 of a source (row i = child i).

        The source's generator is jumped ahead to row `first` (one 64-bit step per double),
        so row i depends only on (seed, replication, source, i).
        """
        bitgen = np.random.PCG64(self._seq(CHILDREN, CHILD_SOURCES.index(source)))
        if first:
            bitgen.advance(first * UNIFORMS_PER_CHILD)
        return np.random.Generator(bitgen).random((n, UNIFORMS_PER_CHILD))

    def child_overflow(self, source: str, index: int, block: int) -> list[float]:
        seq = self._seq(OVERFLOW, CHILD_SOURCES.index(source), index, block)
        return np.random.Generator(np.random.PCG64(seq)).random(UNIFORMS_PER_CHILD).tolist()
