"""The pruning theorems of docs/theory.md ("Protocols", "Limits") as properties over whole families.

Each test draws a member of the families of :mod:`strategies` — a process µ with its parameters,
a compatible score g (truth or probe reference, default or drawn centre, sometimes rounded so
that it has ties), n, r ∈ (0, 1] with ⌊r n⌋ ≥ 1, a protocol with its α, ``keep`` and a seed —
samples D_n from µ, scores it and checks one statement of the theory on it. The raw-array
properties (adversarial floats, huge n) live in ``test_pruning_properties.py``; here the inputs
are the ones the theory is about.

Structural properties (exact, hold for every draw): budget, nestedness in r, rank-only
dependence of SBPA, orientation, α = 0 is random pruning, the acceptance region. One
statistical property: the empirical threshold g_(k) is within z standard errors of q_r, with
its false-failure rate stated and checked exactly (:func:`test_empirical_threshold_approaches_q_r`).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from tests.properties.strategies import (
    KEEPS,
    SEEDS,
    cases,
    compression_levels,
    processes,
    scores_for,
)
from theory_sim.validation import budget
from theory_sim.core.limits import score_cdf, score_quantile
from theory_sim.core.pruning import prune
from theory_sim.core.scores import make_score


def kept_mask(sel):
    mask = np.zeros(sel.n, dtype=bool)
    mask[sel.indices] = True
    return mask


def call(case, **overrides):
    options = dict(r=case.r, protocol=case.protocol, alpha=case.alpha, keep=case.keep, rng=case.seed)
    options.update(overrides)
    g = options.pop("g", case.g)
    return prune(g, options.pop("r"), options.pop("protocol"), **options)


def assert_bitwise_equal(a, b):
    for name in ("indices", "weights", "signal"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), name


# --------------------------------------------------------------------------- budget


@given(cases(rounded=True))
def test_budget_is_floor_r_n_for_every_protocol(case):
    sel = call(case)
    k = budget(case.r, case.n)
    # k = ⌊r n⌋ (docs/theory.md, "Definitions"): checked against the product in float64, which can differ from the
    # decimal reading of r only when r n is within a few ulps of an integer.
    rn = case.r * case.n
    assert k - 1e-9 * rn <= rn < k + 1 + 1e-9 * rn
    percent = round(case.r * 100)
    if percent / 100 == case.r:  # r = p/100, which prints as a 2-decimal number: k = ⌊p n / 100⌋ in integers
        assert k == percent * case.n // 100
    assert k >= 1
    assert sel.k == k and sel.indices.shape == (k,) and np.unique(sel.indices).shape == (k,)
    assert sel.n == case.n
    # k_s = ⌊α k⌋ for the calibrated protocols; all of k for SBPA; none for random (docs/theory.md, "Protocols").
    expected_signal = {"sbpa": k, "random": 0}.get(case.protocol)
    if expected_signal is None:
        expected_signal = budget(case.alpha, k)
    assert sel.k_signal == expected_signal == int(np.count_nonzero(sel.signal))
    # Σ p_i = 1 up to float summation of k ≤ 2000 terms (error ≤ k·2^-53 ≈ 2.2e-13).
    np.testing.assert_allclose(sel.weights.sum(), 1.0, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- nested in r


@given(case=cases(protocols=("sbpa",), rounded=True), data=st.data())
def test_sbpa_kept_sets_are_nested_in_r(case, data):
    # The SBPA kept set at a smaller r is contained in the one at a larger r (same seed): the
    # acceptance regions A_r grow with r, and ties are filled from prefixes of one permutation.
    # r2 anywhere, or a few points above r1, where (with rounded scores) both thresholds often
    # fall in the same tie group and nestedness depends on how ties are broken.
    near = st.integers(1, 5).map(lambda j: min(1.0, (budget(case.r, case.n) + j) / case.n))
    r1, r2 = sorted([case.r, data.draw(st.one_of(compression_levels(case.n), near), label="r2")])
    small = kept_mask(call(case, r=r1))
    large = kept_mask(call(case, r=r2))
    assert np.all(large[small])
    assert small.sum() == budget(r1, case.n) and large.sum() == budget(r2, case.n)


# --------------------------------------------------------------------------- SBPA depends only on ranks

# Strictly increasing maps on the reals. Rounding in float64 can merge two neighbours, which is
# why each test checks that the order is preserved *on the data* before comparing selections.
INCREASING = {
    "3g+1": lambda g: 3.0 * g + 1.0,
    "exp(g/10)": lambda g: np.exp(g / 10.0),
    "arctan": np.arctan,
    "g^3": lambda g: g**3,
    "log1p(g)": np.log1p,  # increasing on g ≥ 0, and every registered score is ≥ 0
}


def _same_order(a, b):
    """Do a and b induce the same weak order (including ties) on the points?"""
    order = np.argsort(a, kind="stable")
    return np.array_equal(np.diff(a[order]) > 0, np.diff(b[order]) > 0) and np.all(np.diff(b[order]) >= 0)


@given(case=cases(protocols=("sbpa",), rounded=True), name=st.sampled_from(sorted(INCREASING)))
def test_sbpa_is_invariant_under_increasing_transforms_of_the_score(case, name):
    assert np.all(case.g >= 0)  # every registered score is ≥ 0, so log1p is increasing on it
    t = INCREASING[name](case.g)
    assume(_same_order(case.g, t))
    before, after = call(case), call(case, g=t)
    np.testing.assert_array_equal(after.indices, before.indices)
    np.testing.assert_array_equal(after.weights, before.weights)


@given(case=cases(protocols=("sbpa",), score_names=("margin", "entropy", "loss", "el2n")))
def test_sbpa_of_equivalent_scores_is_the_same_selection(case):
    # Two registered scores that are monotone functions of each other must give the same SBPA:
    # entropy = h(margin) with h(a) = H(σ(a)) strictly decreasing, so keeping the lowest entropy
    # is keeping the highest margin; loss = softplus(−yu) and el2n = σ(−yu) are both strictly
    # increasing in −y·u (y ∈ {±1}), so they order the points alike.
    twin = {"margin": "entropy", "entropy": "margin", "loss": "el2n", "el2n": "loss"}[case.score.name]
    other = make_score(twin, case.process, reference=case.score.reference)
    g2 = other(case.x, case.y)
    flip = case.score.name in ("margin", "entropy")
    t = -g2 if flip else g2
    # Discard draws where float64 merged two distinct neighbours into a tie; any *inversion* of
    # the order is a failure.
    assume(np.unique(case.g).shape[0] == np.unique(t).shape[0] == case.n)
    assert _same_order(case.g, t)
    keep2 = {"lowest": "highest", "highest": "lowest"}[case.keep] if flip else case.keep
    # The declared hard ends agree with the map: opposite ends for a decreasing map, same end otherwise.
    assert (other.hard != case.score.hard) == flip
    np.testing.assert_array_equal(call(case, g=g2, keep=keep2).indices, call(case).indices)


@given(case=cases(protocols=("sbpa",), rounded=True), perm_seed=SEEDS)
def test_sbpa_is_equivariant_under_permuting_the_data(case, perm_seed):
    # D'_n = D_n permuted: point j of D'_n is point perm[j] of D_n. The multiset of kept scores is
    # the same always; the kept points themselves are the same when no tie straddles the threshold
    # (then which tied copy is kept depends on position, by design).
    perm = np.random.default_rng(perm_seed).permutation(case.n)
    g_perm = case.score(case.x[perm], case.y[perm])
    np.testing.assert_array_equal(g_perm, case.g[perm])  # a score is a function of the point only
    sel, sel_perm = call(case), call(case, g=g_perm)
    np.testing.assert_array_equal(np.sort(g_perm[sel_perm.indices]), np.sort(case.g[sel.indices]))
    s = case.g if case.keep == "lowest" else -case.g
    v = np.sort(s)[sel.k - 1]
    if np.count_nonzero(s <= v) == sel.k:  # no tie at the threshold
        np.testing.assert_array_equal(np.sort(perm[sel_perm.indices]), sel.indices)


# --------------------------------------------------------------------------- orientation


@given(cases(rounded=True))
def test_keep_highest_is_keep_lowest_of_the_negated_score(case):
    # The orientation is explicit and nothing else: keep="highest" on g is keep="lowest" on −g,
    # bit for bit (same seed), for every protocol; the threshold is negated.
    flipped = {"lowest": "highest", "highest": "lowest"}[case.keep]
    a, b = call(case), call(case, g=-case.g, keep=flipped)
    assert_bitwise_equal(a, b)
    if a.k_signal:
        assert a.threshold == -b.threshold
    else:
        assert math.isnan(a.threshold) and math.isnan(b.threshold)


def _difficulty(score, x, y):
    """An independent statement of "hard" for each score (docs/theory.md, "Definitions"; scores.py table):
    near the reference boundary (small |u|) for margin and entropy; misclassified with
    confidence (small y·u, y ∈ {±1}) for loss and el2n; far from the centre for distance."""
    if score.name == "distance":
        return np.linalg.norm(x - score.center, axis=1)
    u = x @ score.reference.w + score.reference.b
    if score.name in ("margin", "entropy"):
        return -np.abs(u)
    return -(2.0 * y - 1.0) * u


@given(case=cases(protocols=("sbpa",), score_names=("margin", "entropy", "distance", "loss", "el2n")),
       which=st.sampled_from(["hard", "easy"]))
def test_declared_orientation_keeps_the_hard_or_easy_points(case, which):
    # keep=score.keep("hard") must keep the k points of highest independent difficulty, and
    # "easy" the k of lowest; a score whose declared hard end were wrong fails this.
    difficulty = _difficulty(case.score, case.x, case.y)
    assume(np.unique(difficulty).shape[0] == case.n)
    sel = call(case, keep=case.score.keep(which))
    order = np.argsort(-difficulty if which == "hard" else difficulty, kind="stable")
    s = -difficulty if which == "hard" else difficulty
    # Compare as sets of values so a float64 tie of the score (not of the difficulty) cannot matter.
    np.testing.assert_array_equal(np.sort(s[sel.indices]), np.sort(s[order[: sel.k]]))


# --------------------------------------------------------------------------- α = 0 is random pruning


@given(cases(protocols=("random",), rounded=True))
def test_calibrated_protocols_at_alpha_zero_are_random_pruning_bitwise(case):
    # docs/theory.md, "Protocols": EC and AC with α = 0 are random pruning, here bit for bit with the same seed.
    rand = call(case)
    for protocol in ("ec", "ac"):
        sel = call(case, protocol=protocol, alpha=0.0)
        assert_bitwise_equal(sel, rand)
        assert sel.k_signal == 0 and math.isnan(sel.threshold)


# --------------------------------------------------------------------------- the acceptance region


@given(cases(protocols=("sbpa", "ec", "ac"), rounded=True))
def test_acceptance_region_separates_kept_and_dropped(case):
    # The score-based part S is the empirical acceptance region {g ≤ g_(k_s)} (keep lowest):
    # every point of S has g ≤ threshold, every point outside S (dropped, or explored by EC/AC)
    # has g ≥ threshold; mirrored for keep="highest". Ties sit on the threshold on both sides.
    sel = call(case)
    in_s = np.zeros(case.n, dtype=bool)
    in_s[sel.indices[sel.signal]] = True
    if sel.k_signal == 0:
        assert math.isnan(sel.threshold)
        return
    s_in, s_out = case.g[in_s], case.g[~in_s]
    if case.keep == "lowest":
        assert np.all(s_in <= sel.threshold) and np.all(s_out >= sel.threshold)
    else:
        assert np.all(s_in >= sel.threshold) and np.all(s_out <= sel.threshold)
    assert sel.threshold in s_in  # the threshold is a kept score (the k_s-th order statistic)
    if case.protocol == "sbpa":
        assert np.array_equal(in_s, kept_mask(sel))


# --------------------------------------------------------------------------- g_(k) → q_r

N_Q = 100_000  # sample size of the threshold test: the level-space standard error is ≤ 0.5/√N_Q ≈ 0.0016
Z_Q = 5.5
# Every (process, score) pair whose law of g(Z) is known exactly (limits.score_cdf): grand has none,
# so q_r would itself be a Monte Carlo estimate and it is left out; sine-regression takes only
# distance. Parametrizing over the pairs guarantees each of them its examples.
EXACT_PAIRS = [(p, s) for p in ("gaussian-logistic", "gaussian-mixture", "exponential")
               for s in ("margin", "entropy", "distance", "loss", "el2n")] + [("sine-regression", "distance")]
Q_EXAMPLES_PER_PAIR = 4
Q_EXAMPLES = len(EXACT_PAIRS) * Q_EXAMPLES_PER_PAIR  # 16 pairs × 4 = 64 examples
FAMILY_RATE = 1e-4
# Design: per example, P(|g_(k) − q_r| > z·se) → 2(1 − Φ(5.5)) = 3.8e-8 (normal limit of the
# central order statistic); by Bonferroni over the Q_EXAMPLES = 64 examples the family-wise
# false-failure rate is ≤ 64 × 3.8e-8 = 2.4e-6. The normal limit is only asymptotic, and some
# laws have kinks, steep densities or gaps near q_r, so each example also computes the *exact*
# probability of its own false failure from the binomial law of the order statistic and the
# exact CDF, and is skipped unless that is ≤ FAMILY_RATE / Q_EXAMPLES = 1.6e-6: the family-wise
# rate ≤ 1e-4 then holds exactly, not only asymptotically. z = 5.5 rather than 5 keeps such
# skips rare (skewed laws such as the entropy near 0 exceed 3e-6 at z = 5). Measured over 1500
# random (dev-profile) examples: largest exact per-example rate 9.6e-7, none above 1.6e-6.
PER_EXAMPLE_RATE = FAMILY_RATE / Q_EXAMPLES


def _order_statistic_tail(cdf, n, j, lo, hi):
    """P(X_(j) ∉ [lo, hi]) for the j-th smallest of n i.i.d. draws with continuous CDF ``cdf``.

    X_(j) > hi ⇔ #{X ≤ hi} ≤ j − 1 and X_(j) < lo ⇔ #{X < lo} ≥ j, with the counts binomial.
    """
    return float(stats.binom.cdf(j - 1, n, cdf(hi)) + stats.binom.sf(j - 1, n, cdf(lo)))


@pytest.mark.parametrize(("process_name", "score_name"), EXACT_PAIRS)
@settings(max_examples=Q_EXAMPLES_PER_PAIR)
@given(
    data=st.data(),
    r=st.floats(0.02, 0.98),
    keep=KEEPS,
    seed=SEEDS,
)
def test_empirical_threshold_approaches_q_r(process_name, score_name, data, r, keep, seed):
    # C1: g_(k) → q_r. r ∈ [0.02, 0.98] keeps both k and n − k ≥ 2000, where the order statistic
    # is close to normal (checked exactly below); at r = 1, q_r is the end of the support.
    process = data.draw(processes(names=(process_name,)), label="process")
    score = data.draw(scores_for(process, names=(score_name,)), label="score")
    cdf = score_cdf(process, score)
    # Rounded (non-adapted) scores are not drawn here (scores_for(rounded=False)); a score with no
    # exact law (none in EXACT_PAIRS) would be skipped rather than tested against an estimate.
    assume(cdf is not None)
    q = score_quantile(process, score, r, keep=keep, method="exact")
    p = q.level
    assert p == (r if keep == "lowest" else 1.0 - r)
    # q_r solves F(q) = p (the law is continuous). The CDFs are accurate to ~1e-12 (limits.py:
    # closed forms, quadrature at epsrel 1e-13; Brent to xtol 1e-15). 1e-7 in level covers that and is
    # ≥ 4000 times smaller than the smallest level-space standard error here, √(0.02·0.98/N_Q).
    assert abs(cdf(q.value) - p) <= 1e-7, (cdf(q.value), p)
    # f(q_r) by one-sided differences of the exact CDF; the smaller one is used, which is
    # conservative where the law has a kink at q_r (e.g. |x − c| for x uniform: the density
    # halves at t = 1 − |c|), where the order statistic has different spreads on the two sides.
    h = 1e-4 * max(abs(q.value), 1e-3)
    density = min(cdf(q.value + h) - p, p - cdf(q.value - h)) / h
    assume(density > 0)  # skipped: q_r at the edge of a gap in the support
    se = math.sqrt(r * (1 - r) / N_Q) / density  # asymptotic s.e. of the central order statistic
    k = budget(r, N_Q)
    j = k if keep == "lowest" else N_Q - k + 1  # the threshold is the j-th smallest score
    exact_rate = _order_statistic_tail(cdf, N_Q, j, q.value - Z_Q * se, q.value + Z_Q * se)
    assume(exact_rate <= PER_EXAMPLE_RATE)  # skipped: the law is not regular within z·se of q_r

    sample = process.sample(N_Q, rng=np.random.SeedSequence(seed, spawn_key=(1,)))
    g = score(sample.x, sample.y)
    sel = prune(g, r, "sbpa", keep=keep, rng=seed)
    assert abs(sel.threshold - q.value) <= Z_Q * se, (sel.threshold, q.value, se)


def test_entropy_is_accurate_at_large_margins():
    # H(σ(a)) = σ(a)·softplus(−a) + σ(−a)·softplus(a), evaluated independently by mpmath at 50
    # digits. Computing 1 − σ(a) by subtraction loses relative precision ~2^-53·e^|a| (at a = 37
    # the entropy was off by 97% and no longer monotone): the toolkit's score and
    # limits._entropy_of_margin must agree with mpmath to 1e-12 relative up to a = 700.
    import mpmath

    from theory_sim.core.limits import _entropy_of_margin
    from theory_sim.core.processes import make_process

    a = np.array([0.5, 5.0, 25.0, 30.0, 37.0, 100.0, 700.0])
    with mpmath.workdps(50):
        def h(v):
            v = mpmath.mpf(v)
            # σ(v) and σ(−v) each from its own exponential: 1 − σ(v) would cancel even at 50 digits
            return float(mpmath.log1p(mpmath.exp(-v)) / (1 + mpmath.exp(-v))
                         + mpmath.log1p(mpmath.exp(v)) / (1 + mpmath.exp(v)))

        truth = np.array([h(v) for v in a])
    score = make_score("entropy", make_process("gaussian-logistic", d=1, w_star=[1.0], b_star=0.0))
    np.testing.assert_allclose(score(a[:, None]), truth, rtol=1e-12)
    np.testing.assert_allclose([_entropy_of_margin(v) for v in a], truth, rtol=1e-12)
    assert np.all(np.diff(score(a[:, None])) < 0)  # decreasing in the margin, as H(σ(a)) is
