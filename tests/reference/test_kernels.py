"""numba kernels against their plain-numpy twins: bitwise, on random and adversarial inputs."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from theory_sim._kernels import merge_sorted, merge_sorted_reference, split_at_threshold, split_at_threshold_reference

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
