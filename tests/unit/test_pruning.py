"""Unit tests of :func:`theory_sim.core.pruning.prune` (docs/theory.md, "Protocols"; claim C10).

- EC is unbiased for the full empirical loss, conditionally on D_n: a Monte Carlo z-test
  with a stated false-failure rate and two negative controls that must fail it, and an exact
  enumeration in rational arithmetic for tiny n.
- Ties at the SBPA threshold are broken uniformly at random (a z-test with a negative control).
- Every bad input gets a message naming the parameter, the value and what is allowed.
- The arrays of a Selection are read-only.

All randomness comes from fixed seeds; no global random state is used.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from theory_sim.core.pruning import PROTOCOLS, prune

# Two-sided normal tail at Z_MAX: P(|Z| > 4.5) = erfc(4.5 / √2) ≈ 6.8e-6. This is the
# false-failure rate of one z-test at the design level (over the choice of seed); with the
# seeds fixed below each test is deterministic.
Z_MAX = 4.5
FALSE_FAILURE_RATE = math.erfc(Z_MAX / math.sqrt(2))


def z_score(values: np.ndarray, target: float) -> float:
    """(mean − target) / (sd / √R) for R i.i.d. replicates."""
    se = values.std(ddof=1) / math.sqrt(values.shape[0])
    return float((values.mean() - target) / se)


# --------------------------------------------------------------------------- EC unbiasedness, Monte Carlo

N_DATA = 50
R_KEEP = 0.3  # k = 15
ALPHA = 0.5  # k_s = 7, k − k_s = 8 explored among the 43 points of D_n \ S
REPLICATES = 20_000


def _data_set():
    """A fixed D_n: scores from a seeded normal; per-point losses that rise with the score.

    f_i = exp(g_i) + (i mod 3)/3 is correlated with g, so keeping the lowest scores shifts
    the mean: any mis-weighting of S against E shows up as a large bias.
    """
    g = np.random.default_rng(20230214).standard_normal(N_DATA)
    f = np.exp(g) + (np.arange(N_DATA) % 3) / 3.0
    return g, f


@functools.lru_cache(maxsize=None)
def _selections(protocol: str) -> tuple:
    """REPLICATES independent selections from D_n, one spawned seed each (cached: the EC
    draws serve both the test and the swapped-weights control)."""
    g, _ = _data_set()
    children = np.random.SeedSequence(6960).spawn(REPLICATES)
    return tuple(prune(g, R_KEEP, protocol, alpha=ALPHA, rng=child) for child in children)


def _pruned_losses(protocol: str, reweight=None) -> np.ndarray:
    """L_n^A = Σ_{i∈I} p_i f_i over the REPLICATES selections."""
    _, f = _data_set()
    sels = _selections(protocol)
    return np.array([(s.weights if reweight is None else reweight(s)) @ f[s.indices] for s in sels])


def _swapped_ec_weights(sel):
    """A deliberately wrong EC: the S and E weights exchanged."""
    w_s = 1.0 / sel.n
    w_e = (sel.n - sel.k_signal) / (sel.n * (sel.k - sel.k_signal))
    return np.where(sel.signal, w_e, w_s)


def test_false_failure_rate_of_the_z_tests_is_as_stated():
    assert 6.7e-6 < FALSE_FAILURE_RATE < 6.9e-6


@pytest.mark.slow
def test_ec_is_unbiased_for_the_full_empirical_loss():
    # C10: E[L_n^EC | D_n] = L_n exactly, so the Monte Carlo mean over independent EC
    # selections must be within Z_MAX standard errors of L_n = mean(f) (false-failure rate
    # FALSE_FAILURE_RATE ≈ 6.8e-6 at the design level; R = 20 000 makes the CLT accurate).
    _, f = _data_set()
    losses = _pruned_losses("ec")
    z = z_score(losses, f.mean())
    assert abs(z) <= Z_MAX, f"EC looks biased: z = {z:.2f}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "protocol, reweight",
    [
        pytest.param("ac", None, id="AC-uniform-weights"),
        pytest.param("ec", _swapped_ec_weights, id="EC-with-S-and-E-weights-swapped"),
    ],
)
def test_negative_control_biased_weights_fail_the_same_z_test(protocol, reweight):
    # The same data, seeds and criterion with wrong weights must be rejected, or the test
    # above would prove nothing.
    _, f = _data_set()
    losses = _pruned_losses(protocol, reweight)
    z = z_score(losses, f.mean())
    assert abs(z) > Z_MAX, f"the negative control passed the unbiasedness test: z = {z:.2f}"


# --------------------------------------------------------------------------- EC unbiasedness, exact


TINY_CASES = [
    # (n, r, alpha, keep): k = ⌊r n⌋, k_s = ⌊α k⌋
    pytest.param(6, 0.5, 0.5, "lowest", id="n6-k3-ks1"),
    pytest.param(6, 0.5, 0.5, "highest", id="n6-k3-ks1-highest"),
    pytest.param(7, 0.6, 0.5, "lowest", id="n7-k4-ks2"),
    pytest.param(5, 1.0, 0.4, "lowest", id="n5-k5-ks2"),
    pytest.param(6, 0.5, 0.0, "lowest", id="n6-k3-ks0"),
]


def _tiny_data(n):
    g = np.array([0.3, -1.2, 2.5, 0.7, -0.4, 1.9, -2.2])[:n]  # distinct: S is determined
    f = [Fraction(i * i + 1, 7) + Fraction(int(10 * gi), 3) for i, gi in enumerate(g)]
    return g, f


def _ec_expectation(f, signal, rest, k_e, w_signal, w_explore):
    """E[Σ p_i f_i] over the C(|rest|, k_e) equally likely exploration subsets, exactly."""
    subsets = list(itertools.combinations(rest, k_e))
    fixed = sum((w_signal * f[i] for i in signal), Fraction(0))
    total = sum((sum((w_explore * f[i] for i in e), Fraction(0)) for e in subsets), Fraction(0))
    return fixed + total / len(subsets), subsets


@pytest.mark.parametrize("n, r, alpha, keep", TINY_CASES)
def test_ec_is_exactly_unbiased_by_enumeration(n, r, alpha, keep):
    g, f = _tiny_data(n)
    k = math.floor(Fraction(repr(r)) * n)
    k_s = math.floor(Fraction(repr(alpha)) * k)
    k_e = k - k_s
    oriented = g if keep == "lowest" else -g
    signal = sorted(np.argsort(oriented)[:k_s].tolist())
    rest = [i for i in range(n) if i not in signal]
    # docs/theory.md, "Protocols", in rational arithmetic.
    w_signal = Fraction(1, n)
    w_explore = Fraction(n - k_s, n * k_e)
    assert k_s * w_signal + k_e * w_explore == 1

    expectation, subsets = _ec_expectation(f, signal, rest, k_e, w_signal, w_explore)
    assert expectation == sum(f, Fraction(0)) / n  # E[L_n^EC | D_n] = L_n, exactly

    # Negative controls: the AC weights and the swapped EC weights are biased here (with
    # k = n or k_s = 0 they coincide with the EC weights, so there is nothing to control).
    if 0 < k_s and k < n:
        assert _ec_expectation(f, signal, rest, k_e, Fraction(1, k), Fraction(1, k))[0] != expectation
        assert _ec_expectation(f, signal, rest, k_e, w_explore, w_signal)[0] != expectation

    # prune draws from exactly this model: S fixed, E one of the enumerated subsets, and
    # its float weights are the rational ones rounded (1/n and (n − k_s)/(n k_e) are each one
    # correctly rounded division, so the match is exact).
    seen = set()
    for seed in range(400):
        sel = prune(g, r, "ec", alpha=alpha, keep=keep, rng=seed)
        np.testing.assert_array_equal(sel.indices[sel.signal], signal)
        explored = tuple(sel.indices[~sel.signal].tolist())
        assert explored in subsets
        seen.add(explored)
        expected = np.where(sel.signal, float(w_signal), float(w_explore))
        np.testing.assert_array_equal(sel.weights, expected)
    # Every subset of the enumeration is reachable (each is missed by 400 uniform draws
    # with probability at most (1 − 1/10)^400 ≈ 5e-19).
    assert seen == set(subsets)


# --------------------------------------------------------------------------- SBPA tie-breaking


TIE_SCORES = np.array([1, 0, 1, 2, 1, 1, 0, 1, 2, 1], dtype=np.float64)
TIE_R = 0.4  # k = 4: both zeros, then 2 of the 6 ones at the threshold


def _tie_inclusion_z(select) -> np.ndarray:
    """z-scores of the inclusion counts of the tied points against the uniform rate."""
    tied = np.flatnonzero(TIE_SCORES == 1.0)
    reps = 3000
    counts = np.zeros(TIE_SCORES.shape[0])
    for seed in range(reps):
        counts[select(seed)] += 1
    p = 2 / tied.shape[0]
    return (counts[tied] - reps * p) / math.sqrt(reps * p * (1 - p))


@pytest.mark.parametrize("keep", ["lowest", "highest"])
def test_sbpa_breaks_ties_uniformly_at_random(keep):
    # Each of the 6 tied points is kept with probability 1/3; the two zeros always. The
    # 6 z-tests together fail falsely with probability ≤ 6 × 6.8e-6 (Bonferroni).
    g = TIE_SCORES if keep == "lowest" else -TIE_SCORES

    def select(seed):
        sel = prune(g, TIE_R, "sbpa", keep=keep, rng=seed)
        assert {1, 6} <= set(sel.indices.tolist())
        return sel.indices

    z = _tie_inclusion_z(select)
    assert np.all(np.abs(z) <= Z_MAX), z


def test_negative_control_tie_breaking_by_index_fails_the_same_test():
    tied = np.flatnonzero(TIE_SCORES == 1.0)
    z = _tie_inclusion_z(lambda seed: np.concatenate([[1, 6], tied[:2]]))
    assert np.any(np.abs(z) > Z_MAX)


# --------------------------------------------------------------------------- error messages

G10 = np.arange(10, dtype=np.float64)


@pytest.mark.parametrize(
    "r, exc, pattern",
    [
        (0, ValueError, r"^r must be in \(0\.0, 1\.0\], got 0\.0$"),
        (-0.1, ValueError, r"^r must be in \(0\.0, 1\.0\], got -0\.1$"),
        (1.5, ValueError, r"^r must be in \(0\.0, 1\.0\], got 1\.5$"),
        (math.nan, ValueError, r"^r must be a finite number in \(0\.0, 1\.0\], got nan$"),
        (math.inf, ValueError, r"^r must be a finite number in \(0\.0, 1\.0\], got inf$"),
        ("0.1", TypeError, r"^r must be a real number, got '0\.1'$"),
        (True, TypeError, r"^r must be a real number, got True$"),
    ],
)
def test_bad_r_is_refused(r, exc, pattern):
    with pytest.raises(exc, match=pattern):
        prune(G10, r)


@pytest.mark.parametrize(
    "protocol, alpha, exc, pattern",
    [
        ("ec", None, ValueError, r"^alpha is required for protocol 'ec'"),
        ("ac", None, ValueError, r"^alpha is required for protocol 'ac'"),
        ("ec", 1, ValueError, r"^alpha must be in \[0\.0, 1\.0\), got 1\.0$"),
        ("ec", 1.0, ValueError, r"^alpha must be in \[0\.0, 1\.0\), got 1\.0$"),
        ("ec", -0.1, ValueError, r"^alpha must be in \[0\.0, 1\.0\), got -0\.1$"),
        ("ac", -0.1, ValueError, r"^alpha must be in \[0\.0, 1\.0\], got -0\.1$"),
        ("ec", 1.2, ValueError, r"^alpha must be in \[0\.0, 1\.0\), got 1\.2$"),
        ("ac", 1.2, ValueError, r"^alpha must be in \[0\.0, 1\.0\], got 1\.2$"),
        ("ac", math.nan, ValueError, r"^alpha must be a finite number in \[0\.0, 1\.0\], got nan$"),
        ("ac", True, TypeError, r"^alpha must be a real number, got True$"),
        ("sbpa", 0.5, ValueError, r"^alpha applies to protocols 'ec' and 'ac' only, not to 'sbpa'; got alpha=0\.5$"),
        (
            "random",
            0.0,
            ValueError,
            r"^alpha applies to protocols 'ec' and 'ac' only, not to 'random'; got alpha=0\.0$",
        ),
        ("sbpa", 1.0, ValueError, r"^alpha applies to protocols 'ec' and 'ac' only, not to 'sbpa'; got alpha=1\.0$"),
    ],
)
def test_bad_alpha_is_refused(protocol, alpha, exc, pattern):
    with pytest.raises(exc, match=pattern):
        prune(G10, 0.5, protocol, alpha=alpha)


def test_alpha_one_is_allowed_for_ac():
    assert prune(G10, 0.5, "ac", alpha=1, rng=0).k_signal == 5


@pytest.mark.parametrize(
    "g, r, exc, pattern",
    [
        # r n < 1: the message names the budget and the numbers that gave 0.
        (np.arange(3.0), 0.1, ValueError, r"budget: floor\(r \* n\) = floor\(0\.1 \* 3\) = 0; need r \* n >= 1$"),
        (np.arange(9.0), 0.1, ValueError, r"budget: floor\(r \* n\) = floor\(0\.1 \* 9\) = 0; need r \* n >= 1$"),
        # Empty g reaches the same check with n = 0 (see the report: the message does not name g).
        (np.array([]), 0.5, ValueError, r"^g must hold at least one score, got an empty array$"),
        ([], 1.0, ValueError, r"^g must hold at least one score, got an empty array$"),
        (np.array([0.0, np.nan, 1.0]), 0.5, ValueError, r"^g must not contain NaN, got NaN at flat index 1$"),
        ([np.nan], 1.0, ValueError, r"^g must not contain NaN, got NaN at flat index 0$"),
        (np.zeros((2, 3)), 0.5, ValueError, r"^g must be 1-dimensional, got shape \(2, 3\)$"),
        (np.zeros((4, 1)), 0.5, ValueError, r"^g must be 1-dimensional, got shape \(4, 1\)$"),
        (["a", "b"], 0.5, TypeError, r"^g must hold real numbers, got an array of dtype <U1$"),
        (np.array([1 + 1j, 2]), 0.5, TypeError, r"^g must hold real numbers, got an array of dtype complex128$"),
    ],
)
def test_bad_g_is_refused(g, r, exc, pattern):
    with pytest.raises(exc, match=pattern):
        prune(g, r)


# the four protocols, then the selection policies of core/selection_policies.py (always registered:
# the message must not depend on which modules a test worker happened to import before)
BUILTIN_POLICIES = ("'random', 'sbpa', 'ec', 'ac', 'ccs', 'moderate', 'soft', 'soft-ht', 'soft-wor', "
                    "'infobatch', 'infobatch-unweighted'")


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"protocol": "SBPA"}, rf"^protocol must be one of {BUILTIN_POLICIES}; got 'SBPA'$"),
        ({"protocol": "exact"}, rf"^protocol must be one of {BUILTIN_POLICIES}; got 'exact'$"),
        ({"protocol": None}, rf"^protocol must be one of {BUILTIN_POLICIES}; got None$"),
        ({"keep": "hardest"}, r"^keep must be one of 'lowest', 'highest'; got 'hardest'$"),
        ({"keep": "low"}, r"^keep must be one of 'lowest', 'highest'; got 'low'$"),
    ],
)
def test_unknown_choice_is_refused_with_the_allowed_values(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        prune(G10, 0.5, **kwargs)


RNG_ALLOWED = r"rng must be a numpy Generator, a SeedSequence, a non-negative integer seed or None, got "


@pytest.mark.parametrize(
    "rng, exc, shown",
    [
        ("seed", TypeError, r"'seed'"),
        (1.5, TypeError, r"1\.5"),
        (True, TypeError, r"True"),
        # A negative seed is a wrong value of the right type.
        (-1, ValueError, r"-1"),
    ],
)
def test_bad_rng_is_refused(rng, exc, shown):
    with pytest.raises(exc, match="^" + RNG_ALLOWED + shown + "$"):
        prune(G10, 0.5, rng=rng)


@pytest.mark.parametrize("g", [1.0, np.float64(1.0), np.array(1.0)], ids=["float", "float64", "0-d-array"])
def test_scalar_g_is_refused(g):
    with pytest.raises(ValueError, match=r"^g must be 1-dimensional, got shape \(\)$"):
        prune(g, 1.0)


# --------------------------------------------------------------------------- read-only results


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_selection_arrays_are_read_only(protocol):
    alpha = 0.5 if protocol in ("ec", "ac") else None
    sel = prune(G10, 0.5, protocol, alpha=alpha, rng=0)
    for name in ("indices", "weights", "signal"):
        arr = getattr(sel, name)
        assert not arr.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = arr[-1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        sel.k = 3  # type: ignore[misc]


# --------------------------------------------------------------------------- floating-point hygiene


@pytest.mark.parametrize("g", [[1e308, 1e308], [np.inf, -np.inf]], ids=["overflow", "inf-minus-inf"])
def test_valid_extreme_scores_raise_no_floating_point_error(g):
    # Large finite scores and ±inf are valid inputs (only NaN is refused); validating them
    # must not raise under np.errstate(all="raise") nor warn under default settings.
    with np.errstate(all="raise"):
        prune(g, 1.0, rng=0)
