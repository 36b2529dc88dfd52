r"""The three distances of ``theory_sim.core.distances`` against naive plain-Python twins.

The twins are written from the definitions in the module docstring, deliberately slow:

* ``function_gap``: an explicit loop over the J = 64 test functions φ_j(z) = cos(ω_j·z + c_j);
* ``energy_distance``: a double loop over all pairs (n, m ≤ 30);
* ``ks_distance``: both weighted ECDFs evaluated at every point of the union of projected
  values and just below each one, O((n + m)²) per direction. The supremum of |F − G| over
  t ∈ R is attained there, since F − G is a step function that only jumps at those points.

The families (ω_j, c_j) and the KS directions are rebuilt here from their documented seed,
so that a silent change of the family (which would make distances from different versions
incomparable) fails these tests. Agreement is to 1e-12 absolute: the library and the twins sum
the same terms in another order. A sum of N terms of size ≤ M has rounding error ≤ N·M·2^-53 in
the worst case and ~√N·M·2^-53 in practice (Higham's probabilistic bound: errors of random sign):
with ≤ 64 cosines of size 1, ≤ 30² = 900 pair distances of size ≤ 10, and 72 pairs of size ≤ 300
in the ``large-values`` case, that is ≤ 3e-13 — the bound 1e-12 relies on (the worst case for
``large-values`` is 2.4e-12).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import theory_sim as ts
from theory_sim import Data

ATOL = 1e-12
SEED = 230206960  # FUNCTION_SEED: the arXiv number of the paper (distances module)


# ------------------------------------------------------------------------------------------
# naive twins
# ------------------------------------------------------------------------------------------


def family(dim, n_functions=64, seed=SEED):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_functions, dim)), rng.uniform(0.0, 2.0 * math.pi, n_functions)


def directions(dim, n_random=8, seed=SEED):
    extra = np.random.default_rng(seed + 1).standard_normal((n_random, dim))
    extra /= np.sqrt((extra**2).sum(axis=1))[:, None]
    return np.vstack([np.eye(dim), extra])


def _z(data):
    return np.column_stack([data.x, data.y])


def _w(weights, n):
    return np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=float)


def naive_function_gap(data, weights, target, target_weights=None, functions=None):
    z, t = _z(data), _z(target)
    w, v = _w(weights, len(z)), _w(target_weights, len(t))
    omega, c = family(z.shape[1]) if functions is None else functions
    gap = 0.0
    for j in range(omega.shape[0]):
        mean_z = sum(w[i] * math.cos(float(omega[j] @ z[i]) + c[j]) for i in range(len(z)))
        mean_t = sum(v[i] * math.cos(float(omega[j] @ t[i]) + c[j]) for i in range(len(t)))
        gap = max(gap, abs(mean_z - mean_t))
    return gap


def naive_energy_distance(data, weights, target, target_weights=None):
    z, t = _z(data), _z(target)
    w, v = _w(weights, len(z)), _w(target_weights, len(t))

    def cross(a, wa, b, wb):
        return sum(wa[i] * wb[j] * math.dist(a[i], b[j]) for i in range(len(a)) for j in range(len(b)))

    return 2 * cross(z, w, t, v) - cross(z, w, z, w) - cross(t, v, t, v)


def naive_ks_distance(data, weights, target, target_weights=None, dirs=None):
    z, t = _z(data), _z(target)
    w, v = _w(weights, len(z)), _w(target_weights, len(t))
    dirs = directions(z.shape[1]) if dirs is None else dirs
    best = 0.0
    for u in dirs:
        a, b = z @ u, t @ u
        for s in np.concatenate([a, b]):
            at = abs(sum(w[a <= s]) - sum(v[b <= s]))  # F(s) − G(s)
            below = abs(sum(w[a < s]) - sum(v[b < s]))  # F(s−) − G(s−)
            best = max(best, at, below)
    return best


# ------------------------------------------------------------------------------------------
# inputs: random and adversarial
# ------------------------------------------------------------------------------------------


def _random_data(rng, n, d, label="binary"):
    x = rng.normal(size=(n, d))
    y = rng.integers(0, 2, n).astype(float) if label == "binary" else rng.normal(size=n)
    return Data(x, y)


def _dirichlet(rng, n):
    return rng.dirichlet(np.ones(n))


def _cases():
    rng = np.random.default_rng(2024)
    cases = []
    for n, m, d in [(5, 7, 1), (30, 20, 2), (13, 30, 3), (1, 9, 2), (8, 1, 2), (1, 1, 1)]:
        a, b = _random_data(rng, n, d), _random_data(rng, m, d, label="real")
        cases.append((f"random-n{n}-m{m}-d{d}-uniform", a, None, b, None))
        cases.append((f"random-n{n}-m{m}-d{d}-weighted", a, _dirichlet(rng, n), b, _dirichlet(rng, m)))
    # ties: coordinates rounded to one decimal, so many projections on the axes coincide,
    # within and across the two samples
    a = Data(np.round(rng.normal(size=(25, 2)), 1), rng.integers(0, 2, 25).astype(float))
    b = Data(np.round(rng.normal(size=(20, 2)), 1), rng.integers(0, 2, 20).astype(float))
    cases.append(("ties", a, _dirichlet(rng, 25), b, None))
    # constant values: every point of the sample identical, and a constant target
    cases.append(("constant-sample", Data(np.full((6, 2), 0.3), np.ones(6)), None, b, _dirichlet(rng, 20)))
    cases.append(("constant-both", Data(np.full((4, 1), -1.0), np.zeros(4)), None,
                  Data(np.full((3, 1), 2.0), np.ones(3)), None))
    cases.append(("same-constant", Data(np.full((4, 1), 0.5), np.ones(4)), _dirichlet(rng, 4),
                  Data(np.full((7, 1), 0.5), np.ones(7)), None))
    # duplicated points: the sample is target points repeated, with weights that differ
    t = _random_data(rng, 10, 2)
    dup = t.take(np.array([0, 0, 0, 3, 3, 9, 9, 9, 9]))
    cases.append(("duplicated", dup, _dirichlet(rng, 9), t, None))
    cases.append(("duplicated-target", t, None, Data(np.repeat(t.x, 3, axis=0), np.repeat(t.y, 3)), None))
    # extreme weights: one point carries all but 1e-12 of the mass; zero weights
    w = np.full(12, 1e-13)
    w[4] = 1.0 - 11e-13
    cases.append(("extreme-weights", _random_data(rng, 12, 2), w, _random_data(rng, 15, 2), None))
    w0 = np.zeros(10)
    w0[[2, 7]] = 0.5
    v0 = np.zeros(11)
    v0[0] = 1.0
    cases.append(("zero-weights", _random_data(rng, 10, 2), w0, _random_data(rng, 11, 2), v0))
    # large but moderate magnitudes (cos arguments stay < ~1e3, where rounding is ~1e-13)
    cases.append(("large-values", Data(rng.normal(0, 50, (8, 2)), np.ones(8)), None,
                  Data(rng.normal(0, 50, (9, 2)), np.zeros(9)), None))
    return cases


CASES = _cases()
IDS = [c[0] for c in CASES]


# ------------------------------------------------------------------------------------------
# library vs twins
# ------------------------------------------------------------------------------------------


def test_documented_families_are_unchanged():
    for dim in (1, 2, 4):
        omega, c = ts.cosine_functions(dim)
        o2, c2 = family(dim)
        np.testing.assert_array_equal(omega, o2)
        np.testing.assert_array_equal(c, c2)
        np.testing.assert_allclose(ts.ks_directions(dim), directions(dim), rtol=0, atol=1e-15)
    assert ts.FUNCTION_SEED == SEED


@pytest.mark.parametrize(("case", "data", "w", "target", "v"), CASES, ids=IDS)
def test_function_gap_matches_twin(case, data, w, target, v):
    want = naive_function_gap(data, w, target, v)
    np.testing.assert_allclose(ts.function_gap(data, w, target, v), want, rtol=0, atol=ATOL)


@pytest.mark.parametrize(("case", "data", "w", "target", "v"), CASES, ids=IDS)
def test_energy_distance_matches_twin(case, data, w, target, v):
    want = naive_energy_distance(data, w, target, v)
    assert want >= -ATOL
    np.testing.assert_allclose(ts.energy_distance(data, w, target, v), want, rtol=0, atol=ATOL)


@pytest.mark.parametrize(("case", "data", "w", "target", "v"), CASES, ids=IDS)
def test_ks_distance_matches_twin(case, data, w, target, v):
    want = naive_ks_distance(data, w, target, v)
    np.testing.assert_allclose(ts.ks_distance(data, w, target, v), want, rtol=0, atol=ATOL)


def test_twins_see_known_values():
    # two Dirac masses, z = (0, 0) and (1, 0) (x in R, then the label)
    a = Data(np.zeros((1, 1)), np.zeros(1))
    b = Data(np.ones((1, 1)), np.zeros(1))
    # energy distance of two Dirac masses = 2‖a − b‖ = 2; KS = 1 on the x axis
    np.testing.assert_allclose(naive_energy_distance(a, None, b), 2.0, atol=1e-15)
    np.testing.assert_allclose(ts.energy_distance(a, None, b), 2.0, atol=1e-15)
    np.testing.assert_allclose(naive_ks_distance(a, None, b), 1.0, atol=1e-15)
    np.testing.assert_allclose(ts.ks_distance(a, None, b), 1.0, atol=1e-15)
    # mixing weights: sample = ½ δ0 + ½ δ1 vs δ0 → KS ½ and energy 2·½ − 2·¼ − 0 = ½
    ab = Data(np.array([[0.0], [1.0]]), np.zeros(2))
    np.testing.assert_allclose(ts.ks_distance(ab, None, a), 0.5, atol=1e-15)
    np.testing.assert_allclose(ts.energy_distance(ab, None, a), 0.5, atol=1e-15)


def test_custom_functions_and_directions():
    rng = np.random.default_rng(5)
    a, b = _random_data(rng, 9, 2), _random_data(rng, 11, 2)
    fam = family(3, n_functions=5, seed=77)
    dirs = np.array([[0.6, 0.8, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(ts.function_gap(a, None, b, functions=fam),
                               naive_function_gap(a, None, b, functions=fam), atol=ATOL)
    np.testing.assert_allclose(ts.ks_distance(a, None, b, directions=dirs),
                               naive_ks_distance(a, None, b, dirs=dirs), atol=ATOL)


def test_prepared_target_reuse():
    rng = np.random.default_rng(6)
    target, v = _random_data(rng, 30, 2), _dirichlet(rng, 30)
    prepared = ts.PreparedTarget(target, v)
    for i in range(4):
        n = (1, 5, 17, 30)[i]
        data = _random_data(rng, n, 2)
        w = None if i % 2 else _dirichlet(rng, n)
        gap = ts.function_gap(data, w, prepared)
        ks = ts.ks_distance(data, w, prepared)
        np.testing.assert_allclose(gap, naive_function_gap(data, w, target, v), atol=ATOL)
        np.testing.assert_allclose(ks, naive_ks_distance(data, w, target, v), atol=ATOL)
        # the same numbers as unprepared calls
        np.testing.assert_allclose(gap, ts.function_gap(data, w, target, v), rtol=0, atol=1e-15)
        np.testing.assert_allclose(ks, ts.ks_distance(data, w, target, v), rtol=0, atol=1e-15)
        np.testing.assert_allclose(prepared.function_gap(data, w), gap, rtol=0, atol=0)
        np.testing.assert_allclose(prepared.ks(data, w), ks, rtol=0, atol=0)


# ------------------------------------------------------------------------------------------
# properties
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "data", "w", "target", "v"), CASES, ids=IDS)
def test_distance_of_a_sample_to_itself_is_zero(case, data, w, target, v):
    assert ts.function_gap(data, w, data, w) == 0.0
    assert ts.ks_distance(data, w, data, w) == 0.0
    np.testing.assert_allclose(ts.energy_distance(data, w, data, w), 0.0, atol=ATOL)
    prepared = ts.PreparedTarget(data, w)
    assert ts.function_gap(data, w, prepared) == 0.0
    assert ts.ks_distance(data, w, prepared) == 0.0


@pytest.mark.parametrize(("case", "data", "w", "target", "v"), CASES, ids=IDS)
def test_ranges(case, data, w, target, v):
    assert ts.energy_distance(data, w, target, v) >= 0.0
    # KS is a difference of two CDFs; the library clips the rounding of its cumulative sums
    # (nine additions of 1/9 give 1 + 2.2e-16), so the range is exact
    assert 0.0 <= ts.ks_distance(data, w, target, v) <= 1.0
    assert 0.0 <= ts.function_gap(data, w, target, v) <= 2.0  # |cos| ≤ 1


def test_duplicating_points_changes_nothing():
    # the distances see measures, not lists: repeating every target point 3 times is the same law
    rng = np.random.default_rng(8)
    a, t = _random_data(rng, 6, 2), _random_data(rng, 10, 2)
    t3 = Data(np.repeat(t.x, 3, axis=0), np.repeat(t.y, 3))
    for f in (ts.function_gap, ts.energy_distance, ts.ks_distance):
        np.testing.assert_allclose(f(a, None, t3), f(a, None, t), rtol=0, atol=ATOL)


# ------------------------------------------------------------------------------------------
# input errors
# ------------------------------------------------------------------------------------------

_A = _random_data(np.random.default_rng(9), 5, 2)
_B = _random_data(np.random.default_rng(10), 6, 2)
_B3 = _random_data(np.random.default_rng(11), 6, 3)
DISTANCES = [ts.function_gap, ts.energy_distance, ts.ks_distance]
DNAMES = [f.__name__ for f in DISTANCES]


@pytest.mark.parametrize("f", DISTANCES, ids=DNAMES)
def test_weights_must_sum_to_one(f):
    with pytest.raises(ValueError, match="weights must sum to 1, got sum"):
        f(_A, np.full(5, 0.3), _B)
    with pytest.raises(ValueError, match="target_weights must sum to 1"):
        f(_A, None, _B, np.full(6, 0.1))


@pytest.mark.parametrize("f", DISTANCES, ids=DNAMES)
def test_weights_must_be_non_negative_and_finite(f):
    with pytest.raises(ValueError, match="weights must be finite and non-negative"):
        f(_A, np.array([0.5, 0.5, 0.5, -0.5, 0.0]), _B)
    with pytest.raises(ValueError, match="weights must be finite and non-negative"):
        f(_A, np.array([np.inf, 0, 0, 0, 0]), _B)
    with pytest.raises(ValueError, match="weights must not contain NaN"):
        f(_A, np.array([np.nan, 0, 0, 0, 1.0]), _B)
    with pytest.raises(ValueError, match=r"weights must have shape \(5,\)"):
        f(_A, np.full(4, 0.25), _B)


@pytest.mark.parametrize("f", DISTANCES, ids=DNAMES)
def test_dimension_mismatch(f):
    with pytest.raises(ValueError, match="data and target must have the same dimension, got d=2 and d=3"):
        f(_A, None, _B3)


def test_dimension_mismatch_prepared():
    prepared = ts.PreparedTarget(_B3)
    with pytest.raises(ValueError, match="same dimension, got d=2 and d=3"):
        ts.function_gap(_A, None, prepared)
    with pytest.raises(ValueError, match="same dimension, got d=2 and d=3"):
        ts.ks_distance(_A, None, prepared)


def test_prepared_target_refuses_new_options():
    prepared = ts.PreparedTarget(_B)
    with pytest.raises(ValueError, match="fixed by the PreparedTarget"):
        ts.function_gap(_A, None, prepared, np.full(6, 1 / 6))
    with pytest.raises(ValueError, match="fixed by the PreparedTarget"):
        ts.ks_distance(_A, None, prepared, directions=np.eye(3))


def test_not_a_data_sample():
    with pytest.raises(TypeError, match="data must be a Data sample, got ndarray"):
        ts.energy_distance(_A.x, None, _B)
    with pytest.raises(TypeError, match="target must be a Data sample"):
        ts.ks_distance(_A, None, _B.x)


def test_energy_max_pairs():
    # 5·6 + 5² + 6² = 91 pairs
    np.testing.assert_allclose(ts.energy_distance(_A, None, _B, max_pairs=91), naive_energy_distance(_A, None, _B),
                               atol=ATOL)
    with pytest.raises(ValueError, match="energy_distance needs 91 pairs, more than max_pairs=90"):
        ts.energy_distance(_A, None, _B, max_pairs=90)
