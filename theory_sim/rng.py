"""One scheme for random streams (SPEC 7; docs/theory.md, "Randomness").

Every random number of an experiment comes from a stream ``SeedSequence(seed, spawn_key=key)``
whose key names what it draws and for which unit of work: e.g. the data of replication j at
sample size n is ``streams(seed, "data", n, j)``. A stream depends only on the config's seed and
its key, never on the order in which units run, on the thread count or on the worker, so a
resumed or distributed run draws exactly what an uninterrupted local one does.

The ids of the names are part of each experiment's definition (they enter the seeds): an
experiment declares its table once, as a :class:`Streams`, and never renumbers it.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from theory_sim.validation import check_int

__all__ = ["R_UNIT", "Streams", "child_streams", "r_key", "stream"]

R_UNIT = 10**9  # r enters keys as an integer number of 1e-9 (r is read to 9 decimals)


def stream(seed: int, *key: int) -> np.random.SeedSequence:
    """The stream ``SeedSequence(seed, spawn_key=key)``.

    ``SeedSequence(seed).spawn(m)[i]`` is ``stream(seed, i)``: both are the i-th child of the seed.
    """
    seed = check_int("seed", seed, low=0)
    return np.random.SeedSequence(seed, spawn_key=tuple(int(k) for k in key))


def child_streams(rng, count: int) -> list:
    """``count`` child streams of a caller's ``rng``, a function of it alone.

    An int seed s gives ``stream(s, i)``; a SeedSequence gives its i-th child by key
    (``spawn_key + (i,)``, without touching its spawn counter, so the same SeedSequence always
    gives the same children; ``SeedSequence(s)`` and s give the same children); a Generator gives
    the children of one 63-bit seed drawn from it (it advances by one draw); None: fresh OS
    entropy (not reproducible).

    Examples
    --------
    >>> [c.spawn_key for c in child_streams(7, 2)]
    [(0,), (1,)]
    """
    count = check_int("count", count, low=1)
    if isinstance(rng, np.random.Generator):
        rng = int(rng.integers(0, 2**63))
    if rng is None:
        rng = np.random.SeedSequence()
    if isinstance(rng, np.random.SeedSequence):
        return [np.random.SeedSequence(rng.entropy, spawn_key=tuple(rng.spawn_key) + (i,), pool_size=rng.pool_size)
                for i in range(count)]
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)) or rng < 0:
        raise TypeError("rng must be a numpy Generator, a SeedSequence, a non-negative integer seed or None; "
                        f"got {rng!r}")
    return [stream(int(rng), i) for i in range(count)]


def r_key(r: float, unit: int = R_UNIT) -> int:
    """r as an integer key: the nearest integer to r · unit."""
    return int(round(float(r) * unit))


class Streams:
    """The named streams of one experiment.

    Parameters
    ----------
    **ids : int or None
        name -> the first element of the key (None: the key is the unit's alone).

    Examples
    --------
    >>> STREAMS = Streams(data=0, pruning=1, init=2)
    >>> STREAMS(7, "data", 1000, 3).spawn_key
    (0, 1000, 3)
    """

    def __init__(self, **ids):
        for name, value in ids.items():
            if value is not None:
                check_int(f"stream id of {name!r}", value, low=0)
        if len({v for v in ids.values()}) != len(ids):
            raise ValueError(f"stream ids must be distinct, got {ids}")
        self.ids = MappingProxyType(dict(ids))

    def __call__(self, seed: int, name: str, *key: int) -> np.random.SeedSequence:
        if name not in self.ids:
            raise ValueError(f"stream must be one of {', '.join(map(repr, self.ids))}; got {name!r}")
        head = self.ids[name]
        return stream(seed, *key) if head is None else stream(seed, head, *key)

    def __repr__(self) -> str:
        return "Streams(" + ", ".join(f"{k}={v}" for k, v in self.ids.items()) + ")"
