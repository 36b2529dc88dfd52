"""numba kernels against their plain-numpy twins: bitwise, on random and adversarial inputs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from theory_sim.numerics.selection import merge_sorted, merge_sorted_reference, split_at_threshold, split_at_threshold_reference

finite = st.floats(-1e300, 1e300, allow_nan=False) | st.sampled_from([0.0, -0.0, 1.0, np.inf, -np.inf])


@given(hnp.arrays(np.float64, st.integers(1, 200), elements=finite), st.data())
def test_split_matches_twin(g, data):
    k = data.draw(st.integers(1, g.shape[0]))
    v = np.partition(g, k - 1)[k - 1]
    for got, want in zip(split_at_threshold(g, v, k), split_at_threshold_reference(g, v, k)):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.int64


@pytest.mark.parametrize("g", [np.zeros(1), np.zeros(50), np.repeat([3.0, 1.0, 2.0], 17), np.arange(100.0)[::-1]])
def test_split_adversarial(g):
    for k in (1, g.shape[0] // 2 + 1, g.shape[0]):
        v = np.partition(g, k - 1)[k - 1]
        for got, want in zip(split_at_threshold(g, v, k), split_at_threshold_reference(g, v, k)):
            np.testing.assert_array_equal(got, want)


@given(st.sets(st.integers(0, 10_000), max_size=300), st.data())
def test_merge_matches_twin(values, data):
    values = sorted(values)
    mask = data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values)))
    a = np.array([v for v, m in zip(values, mask) if m], dtype=np.int64)
    b = np.array([v for v, m in zip(values, mask) if not m], dtype=np.int64)
    np.testing.assert_array_equal(merge_sorted(a, b), merge_sorted_reference(a, b))


def _inputs():
    rng = np.random.default_rng(5)
    n = 60_000
    yield "normal", rng.standard_normal(n)
    yield "few values", rng.integers(0, 4, n).astype(float)  # heavy ties at the threshold
    yield "sorted", np.sort(rng.standard_normal(n))
    yield "reversed", np.sort(rng.standard_normal(n))[::-1].copy()
    yield "constant", np.zeros(n)
    yield "with infinities", np.where(rng.random(n) < 0.2, np.inf, rng.standard_normal(n))
    # Periodic with the subsample's stride: the subsample sees only one value, so the bracket
    # misses and the exact fallback must run.
    periodic = rng.standard_normal(n) + 10.0
    periodic[:: n // 20_000] = 0.0
    yield "stride-periodic", periodic
    # The subsample sees only high values: far more than k entries fall below the bracket.
    high = rng.standard_normal(n)
    high[:: n // 20_000] = 100.0
    yield "stride-periodic high", high


@pytest.mark.parametrize("name, g", list(_inputs()), ids=[name for name, _ in _inputs()])
@pytest.mark.parametrize("r", [0.001, 0.1, 0.5, 1.0])
def test_lowest_k_matches_twin(name, g, r):
    from theory_sim.numerics.selection import lowest_k, lowest_k_reference

    k = max(1, int(r * g.shape[0]))
    got, want = lowest_k(g, k), lowest_k_reference(g, k)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert got[2] == want[2]
