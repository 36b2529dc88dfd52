"""Property tests of the four pruning protocols (docs/theory.md, "Protocols") over random inputs.

Each test states one invariant of :func:`theory_sim.core.pruning.prune` and checks it with
hypothesis over n ∈ [1, 300], r ∈ (0, 1], α, ``keep``, the protocol, the seed and three
kinds of score arrays: continuous and tie-free, small integers (many ties, including ties
at the threshold), and adversarial values (±inf, ±0.0, subnormals, ±1e308).

Randomness: every call to ``prune`` gets an explicit integer seed drawn by hypothesis; no
global random state is read or written.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from theory_sim.validation import budget
from theory_sim.core.pruning import PROTOCOLS, prune

N_MAX = 300
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
KEEPS = st.sampled_from(["lowest", "highest"])
# A few values chosen to stress comparisons and negation: signed zeros, the smallest
# subnormal, the largest finite floats and the infinities.
EXTREMES = [-np.inf, -1e308, -1.0, -0.0, 0.0, 5e-324, 1.0, 1e308, np.inf]


# --------------------------------------------------------------------------- strategies


@st.composite
def tie_free_scores(draw, n=None, bound=1e9):
    """A 1-D float64 array with n distinct values (``-0.0`` and ``0.0`` count as equal)."""
    if n is None:
        n = draw(st.integers(1, N_MAX))
    if draw(st.booleans()):
        g = draw(
            hnp.arrays(
                np.float64, n, elements=st.floats(-bound, bound, allow_nan=False, allow_infinity=False), unique=True
            )
        )
    else:
        # Continuous draws from a seeded normal: tie-free with probability one.
        g = np.random.default_rng(draw(SEEDS)).standard_normal(n) * min(bound, draw(st.sampled_from([1e-3, 1.0, 1e3])))
    assume(np.unique(g).shape[0] == n)
    return g


@st.composite
def tied_scores(draw, n=None, extremes=True):
    """A 1-D array with many ties: small integers (sometimes left as int64), or extreme values."""
    if n is None:
        n = draw(st.integers(1, N_MAX))
    if extremes and draw(st.integers(0, 3)) == 0:
        return draw(hnp.arrays(np.float64, n, elements=st.sampled_from(EXTREMES)))
    width = draw(st.integers(0, 4))  # width 0: every score equal
    g = draw(hnp.arrays(np.int64, n, elements=st.integers(-width, width)))
    return g if draw(st.booleans()) else g.astype(np.float64)


def scores(n=None):
    return st.one_of(tie_free_scores(n=n), tied_scores(n=n))


@st.composite
def fractions_kept(draw, n):
    """r ∈ (0, 1] with ⌊r n⌋ ≥ 1: arbitrary floats, short decimals such as 0.29, and 1."""
    r = draw(
        st.one_of(
            st.floats(min_value=1.0 / n, max_value=1.0),
            st.integers(1, 100).map(lambda p: p / 100),
            st.just(1.0),
        )
    )
    assume(budget(r, n) >= 1)
    return r


def alphas(protocol):
    """α for ``protocol``: None except for ec ([0, 1)) and ac ([0, 1])."""
    if protocol == "ec":
        return st.one_of(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 99).map(lambda p: p / 100))
    if protocol == "ac":
        return st.one_of(st.floats(0.0, 1.0), st.integers(0, 100).map(lambda p: p / 100))
    return st.none()


@st.composite
def problems(draw, protocols=PROTOCOLS):
    """(g, r, protocol, alpha, keep, seed) for one call of ``prune``."""
    g = draw(scores())
    protocol = draw(st.sampled_from(protocols))
    return g, draw(fractions_kept(g.shape[0])), protocol, draw(alphas(protocol)), draw(KEEPS), draw(SEEDS)


def call(problem):
    g, r, protocol, alpha, keep, seed = problem
    return prune(g, r, protocol, alpha=alpha, keep=keep, rng=seed)


def oriented(g, keep):
    """The score the score-based part keeps the *lowest* of."""
    g = np.asarray(g, dtype=np.float64)
    return g if keep == "lowest" else -g


def kept_mask(sel):
    mask = np.zeros(sel.n, dtype=bool)
    mask[sel.indices] = True
    return mask


# --------------------------------------------------------------------------- budget


@given(problems())
def test_budget_is_exact(problem):
    g, r, protocol, alpha, keep, seed = problem
    n = g.shape[0]
    sel = call(problem)
    k = budget(r, n)
    assert k == math.floor(Fraction(repr(r)) * n)  # the definition: r read as the decimal it prints as
    assert sel.indices.shape == (k,)
    assert sel.k == k == len(sel)
    assert sel.n == n
    expected_k_signal = {"sbpa": k, "random": 0}.get(protocol)
    if expected_k_signal is None:
        expected_k_signal = budget(alpha, k)
    assert sel.k_signal == expected_k_signal


@given(n=st.integers(1, N_MAX), percent=st.integers(1, 100))
def test_budget_reads_r_as_a_decimal(n, percent):
    # r = p/100 prints as the decimal p/100 (e.g. 0.29, whose binary value times 100 is
    # 28.999999999999996): the budget is the integer ⌊p n / 100⌋, with no rounding slip.
    assume(percent * n >= 100)
    sel = prune(np.arange(n, dtype=np.float64), percent / 100, "random", rng=0)
    assert sel.k == (percent * n) // 100


# --------------------------------------------------------------------------- the shape of a Selection


@given(problems())
def test_indices_and_weights_are_well_formed(problem):
    g, r, protocol, alpha, keep, seed = problem
    sel = call(problem)
    n = g.shape[0]
    assert sel.indices.dtype == np.int64
    assert sel.weights.dtype == np.float64
    assert sel.signal.dtype == np.bool_
    assert sel.indices.shape == sel.weights.shape == sel.signal.shape == (sel.k,)
    assert np.all(np.diff(sel.indices) > 0)  # strictly increasing: sorted and unique
    assert sel.indices.size == 0 or (sel.indices[0] >= 0 and sel.indices[-1] < n)
    assert np.all(sel.weights >= 0)
    # Σ p_i = 1 up to the rounding of a sum of k ≤ 300 terms in [0, 1]: ≤ k · 2^-53 ≈ 3.3e-14.
    np.testing.assert_allclose(sel.weights.sum(), 1.0, rtol=0, atol=1e-12)
    assert sel.protocol == protocol and sel.keep == keep and sel.r == r


# --------------------------------------------------------------------------- SBPA ordering


@given(problems(protocols=("sbpa",)))
def test_sbpa_keeps_one_end_of_the_scores(problem):
    g, r, protocol, alpha, keep, seed = problem
    sel = call(problem)
    gf = np.asarray(g, dtype=np.float64)
    kept, dropped = gf[sel.indices], gf[~kept_mask(sel)]
    if keep == "lowest":
        assert dropped.size == 0 or kept.max() <= dropped.min()
        assert sel.threshold == kept.max()
    else:
        assert dropped.size == 0 or kept.min() >= dropped.max()
        assert kept.max() == gf.max()  # "keep hardest" never loses the hardest point
        assert sel.threshold == kept.min()
    np.testing.assert_array_equal(sel.weights, np.full(sel.k, 1.0 / sel.k))
    assert sel.alpha == 1.0 and np.all(sel.signal)


@given(g=tied_scores(), keep=KEEPS, data=st.data())
def test_sbpa_ties_at_the_threshold_depend_on_the_seed(g, keep, data):
    # When the threshold value has more copies than places left, which copies are kept is
    # random: over 40 seeds at least two kept sets differ. With m ≥ 2 equally likely tied
    # subsets, 40 uniform draws all agree with probability ≤ 2^-39 ≈ 1.8e-12 per example.
    # (Breaking ties by index order would give one set for every seed.)
    n = g.shape[0]
    r = data.draw(fractions_kept(n), label="r")
    s, k = oriented(g, keep), budget(r, n)
    v = np.sort(s)[k - 1]
    assume(np.count_nonzero(s == v) > k - np.count_nonzero(s < v))
    kept_sets = {prune(g, r, "sbpa", keep=keep, rng=seed).indices.tobytes() for seed in range(40)}
    assert len(kept_sets) > 1


@st.composite
def large_scores(draw):
    """n ≥ 50 000, where SBPA takes the bracketed one-pass selection of ``_kernels.lowest_k``.

    Built from a seeded generator (hypothesis arrays this long are slow), with patterns that
    a systematic subsample gets wrong: sorted, reversed, constant, and periodic data whose
    period can alias with the sampling stride.
    """
    n = draw(st.integers(50_000, 70_000))
    kind = draw(st.sampled_from(["normal", "small_ints", "sorted", "reversed", "constant", "periodic", "spikes"]))
    rng = np.random.default_rng(draw(SEEDS))
    i = np.arange(n)
    if kind == "normal":
        return rng.standard_normal(n)
    if kind == "small_ints":
        return rng.integers(-3, 4, size=n).astype(np.float64)
    if kind == "sorted":
        return np.sort(rng.standard_normal(n))
    if kind == "reversed":
        return np.sort(rng.standard_normal(n))[::-1].copy()
    if kind == "constant":
        return np.full(n, draw(st.sampled_from([0.0, -0.0, 1.0, np.inf])))
    if kind == "periodic":
        return (i % draw(st.integers(2, 8))).astype(np.float64)
    g = rng.standard_normal(n)
    g[rng.choice(n, size=draw(st.integers(1, 100)), replace=False)] = draw(st.sampled_from(EXTREMES))
    return g


@settings(max_examples=25)
@given(g=large_scores(), keep=KEEPS, seed=SEEDS, data=st.data())
def test_sbpa_ordering_budget_and_nesting_hold_for_large_n(g, keep, seed, data):
    n = g.shape[0]
    r1, r2 = sorted(data.draw(st.lists(fractions_kept(n), min_size=2, max_size=2), label="r1, r2"))
    s = oriented(g, keep)
    masks = []
    for r in (r1, r2):
        sel = prune(g, r, "sbpa", keep=keep, rng=seed)
        assert sel.indices.shape == (budget(r, n),)
        assert np.all(np.diff(sel.indices) > 0)
        mask = kept_mask(sel)
        # The kept oriented scores are exactly the budget(r, n) lowest, as a multiset.
        np.testing.assert_array_equal(np.sort(s[mask]), np.sort(s)[: sel.k])
        masks.append(mask)
    assert np.all(masks[1][masks[0]])


# --------------------------------------------------------------------------- nested in r


@given(g=scores(), keep=KEEPS, seed=SEEDS, data=st.data())
def test_sbpa_is_nested_in_r(g, keep, seed, data):
    # Ties at the threshold are filled from prefixes of one seeded permutation, so for a
    # fixed seed the kept sets grow with r even when scores tie.
    n = g.shape[0]
    r1, r2 = sorted(data.draw(st.lists(fractions_kept(n), min_size=2, max_size=2), label="r1, r2"))
    small = kept_mask(prune(g, r1, "sbpa", keep=keep, rng=seed))
    large = kept_mask(prune(g, r2, "sbpa", keep=keep, rng=seed))
    assert np.all(large[small])


# --------------------------------------------------------------------------- invariances


@given(
    g=tie_free_scores(),
    keep=KEEPS,
    seed=SEEDS,
    perm_seed=SEEDS,
    protocol=st.sampled_from(["sbpa", "ec", "ac"]),
    data=st.data(),
)
def test_score_based_part_is_equivariant_under_permuting_the_data(g, keep, seed, perm_seed, protocol, data):
    # With g' = g[perm], point j of D'_n is point perm[j] of D_n: the score-based part
    # (all of SBPA; S for EC and AC) must be the image of the original one.
    n = g.shape[0]
    r = data.draw(fractions_kept(n), label="r")
    alpha = data.draw(alphas(protocol), label="alpha")
    perm = np.random.default_rng(perm_seed).permutation(n)
    sel = prune(g, r, protocol, alpha=alpha, keep=keep, rng=seed)
    sel_perm = prune(g[perm], r, protocol, alpha=alpha, keep=keep, rng=seed)
    np.testing.assert_array_equal(np.sort(perm[sel_perm.indices[sel_perm.signal]]), sel.indices[sel.signal])


def _transforms():
    return st.sampled_from(
        [
            ("exp(g/10)", lambda g: np.exp(g / 10.0)),
            ("3g+1", lambda g: 3.0 * g + 1.0),
            ("arctan", np.arctan),
            ("g^3", lambda g: g**3),
        ]
    )


@given(
    g=st.one_of(tie_free_scores(bound=50.0), tied_scores(extremes=False)),
    transform=_transforms(),
    keep=KEEPS,
    seed=SEEDS,
    data=st.data(),
)
def test_sbpa_is_invariant_under_strictly_increasing_maps(g, transform, keep, seed, data):
    # SBPA only sees the order of the scores, ties included (the tied set is the same and
    # the same seed breaks it the same way). A float64 map that is increasing on paper may
    # still merge two neighbours by rounding: such draws are discarded, so the map is
    # strictly increasing *on this data*.
    _, h = transform
    g = np.asarray(g, dtype=np.float64)
    t = h(g)
    order = np.argsort(g, kind="stable")
    dg, dt = np.diff(g[order]), np.diff(t[order])
    assert np.all(dt >= 0)  # sanity of the chosen maps
    assume(np.array_equal(dg > 0, dt > 0))
    r = data.draw(fractions_kept(g.shape[0]), label="r")
    before = prune(g, r, "sbpa", keep=keep, rng=seed)
    after = prune(t, r, "sbpa", keep=keep, rng=seed)
    np.testing.assert_array_equal(after.indices, before.indices)
    np.testing.assert_array_equal(after.weights, before.weights)


# --------------------------------------------------------------------------- relations between protocols


@given(g=scores(), keep=KEEPS, seed=SEEDS, data=st.data())
def test_calibrated_protocols_at_alpha_zero_are_random_pruning(g, keep, seed, data):
    r = data.draw(fractions_kept(g.shape[0]), label="r")
    rand = prune(g, r, "random", keep=keep, rng=seed)
    ec = prune(g, r, "ec", alpha=0.0, keep=keep, rng=seed)
    ac = prune(g, r, "ac", alpha=0.0, keep=keep, rng=seed)
    for sel in (ec, ac):
        np.testing.assert_array_equal(sel.indices, rand.indices)
        assert sel.k_signal == 0 and not sel.signal.any()
    np.testing.assert_array_equal(ec.weights, np.full(rand.k, 1.0 / rand.k))
    np.testing.assert_array_equal(rand.weights, np.full(rand.k, 1.0 / rand.k))
    assert rand.k_signal == 0 and not rand.signal.any()


@given(g=scores(), keep=KEEPS, seed=SEEDS, data=st.data())
def test_ac_at_alpha_one_is_sbpa(g, keep, seed, data):
    r = data.draw(fractions_kept(g.shape[0]), label="r")
    ac = prune(g, r, "ac", alpha=1.0, keep=keep, rng=seed)
    sbpa = prune(g, r, "sbpa", keep=keep, rng=seed)
    np.testing.assert_array_equal(ac.indices, sbpa.indices)
    np.testing.assert_array_equal(ac.weights, sbpa.weights)
    np.testing.assert_array_equal(ac.signal, sbpa.signal)
    assert ac.k_signal == sbpa.k_signal == sbpa.k


@given(g=scores(), keep=KEEPS, seed=SEEDS, data=st.data())
def test_ec_and_ac_select_the_same_points_and_ec_weights_follow_the_formula(g, keep, seed, data):
    n = g.shape[0]
    r = data.draw(fractions_kept(n), label="r")
    alpha = data.draw(alphas("ec"), label="alpha")
    ec = prune(g, r, "ec", alpha=alpha, keep=keep, rng=seed)
    ac = prune(g, r, "ac", alpha=alpha, keep=keep, rng=seed)
    np.testing.assert_array_equal(ec.indices, ac.indices)
    np.testing.assert_array_equal(ec.signal, ac.signal)
    k, k_s = ec.k, ec.k_signal
    assert k_s < k  # α < 1 leaves room for exploration
    # docs/theory.md, "Protocols": 1/n on S (take-all stratum), (n − k_s)/(n (k − k_s)) on E (inverse inclusion probability / n).
    expected = np.where(ec.signal, 1.0 / n, (n - k_s) / (n * (k - k_s)))
    # the same one or two correctly rounded float operations, possibly in another order: ≤ 2 ulp
    np.testing.assert_allclose(ec.weights, expected, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(ac.weights, np.full(k, 1.0 / k))


# --------------------------------------------------------------------------- reproducibility


def _assert_bitwise_equal(a, b):
    for name in ("indices", "weights", "signal"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), name
    for name in ("protocol", "n", "r", "k", "alpha", "k_signal", "keep"):
        assert getattr(a, name) == getattr(b, name), name
    assert repr(a.threshold) == repr(b.threshold)  # NaN-aware, and tells -0.0 from 0.0


@given(problems())
def test_same_seed_gives_the_same_selection(problem):
    g, r, protocol, alpha, keep, seed = problem
    first = call(problem)
    _assert_bitwise_equal(first, call(problem))
    # Every accepted form of the same seed is the same stream.
    _assert_bitwise_equal(first, prune(g, r, protocol, alpha=alpha, keep=keep, rng=np.random.SeedSequence(seed)))
    _assert_bitwise_equal(first, prune(g, r, protocol, alpha=alpha, keep=keep, rng=np.random.default_rng(seed)))


# --------------------------------------------------------------------------- the signal part


@given(problems())
def test_signal_is_the_k_s_lowest_scores(problem):
    g, r, protocol, alpha, keep, seed = problem
    sel = call(problem)
    assert int(np.count_nonzero(sel.signal)) == sel.k_signal
    s = oriented(g, keep)
    # Up to ties: the multiset of signal scores is the multiset of the k_s lowest scores.
    np.testing.assert_array_equal(np.sort(s[sel.indices[sel.signal]]), np.sort(s)[: sel.k_signal])
    if sel.k_signal == 0:
        assert math.isnan(sel.threshold)
    else:
        assert sel.threshold == np.asarray(g, dtype=np.float64)[sel.indices[sel.signal]][
            np.argmax(s[sel.indices[sel.signal]])
        ]


@pytest.mark.parametrize("protocol", ["ec", "ac"])
@given(g=scores(), keep=KEEPS, seed=SEEDS, data=st.data())
def test_exploration_avoids_the_signal_part(protocol, g, keep, seed, data):
    # E is drawn from D_n \ S: exactly k − k_s kept points outside S, none counted twice.
    n = g.shape[0]
    r = data.draw(fractions_kept(n), label="r")
    alpha = data.draw(alphas(protocol), label="alpha")
    sel = prune(g, r, protocol, alpha=alpha, keep=keep, rng=seed)
    assert int(np.count_nonzero(~sel.signal)) == sel.k - sel.k_signal
    assert np.unique(sel.indices).shape[0] == sel.k
