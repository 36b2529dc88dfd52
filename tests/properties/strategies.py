"""Hypothesis strategies over whole families of (process, score, r, α, n) (docs/theory.md, "Definitions" to "Limits").

The theorems of docs/theory.md are statements about every data-generating process µ, every score g,
every compression level r ∈ (0, 1], every signal fraction α ∈ [0, 1) and every n with a budget
⌊r n⌋ ≥ 1. These strategies draw members of the families the toolkit implements, so that a
property test states a theorem over a family instead of over hand-picked cases.

Parameter ranges (each chosen to stay inside the validated domain of the process and away from
float64 saturation, so that a continuous law really gives distinct float scores):

=====================  ============================================================================
``gaussian-logistic``  d ∈ {1, 2, 3}; w* entries in [−3, 3] with ‖w*‖ ≥ 0.2; b* ∈ [−2, 2]
``gaussian-mixture``   d ∈ {1, 2, 3}; π ∈ [0.1, 0.9]; m entries in [−2, 2] with ‖m‖ ≥ 0.1;
                       σ ∈ [0.5, 2]
``sine-regression``    ω ∈ [0.5, 20]; noise s ∈ [0, 1]
``exponential``        λ ∈ [0.2, 5]; w* ∈ [−3, 3] with |w*| ≥ 0.2; b* ∈ [−3, 3]
=====================  ============================================================================

The lower bounds on ‖w*‖ and ‖m‖ keep the Bayes logit non-constant: with w = 0 the reference
scores (margin, entropy, loss, el2n, grand) would be constant on x, a law with atoms.
Large logits do occur (mixture with σ = 0.5 and ‖m‖ ≈ 3.5 gives |u| up to ~150), but float64
keeps the scores distinct there: σ(−|u|) and the entropy stay normal numbers down to |u| ≈ 700.
The one saturation, el2n = σ(|u|) = 1.0 for a point misclassified by the reference with
|u| > 37, has probability about e^{−37} ≈ 1e−16 per point; the properties that need distinct
scores check for ties explicitly anyway.

Valid (process, score) pairs — read off :func:`theory_sim.core.scores.make_score`'s errors: the
reference-logit scores (margin, entropy, loss, el2n, grand) need a classification process with
a linear logit (``gaussian-logistic``, ``gaussian-mixture``, ``exponential``); ``distance``
works on every process; ``sine-regression`` therefore takes ``distance`` only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from theory_sim.validation import budget
from theory_sim.core.processes import Process, make_process
from theory_sim.core.scores import SCORES, Score, make_score

PROCESS_NAMES = ("gaussian-logistic", "gaussian-mixture", "sine-regression", "exponential")
SCORE_NAMES = tuple(SCORES)
CLASSIFICATION_SCORES = SCORE_NAMES
REGRESSION_SCORES = ("distance",)
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
KEEPS = st.sampled_from(["lowest", "highest"])


def _vector(d, bound, min_norm):
    """A d-vector with entries in [−bound, bound] and Euclidean norm ≥ min_norm."""
    return (
        st.lists(st.floats(-bound, bound, allow_nan=False, allow_subnormal=False), min_size=d, max_size=d)
        .map(np.array)
        .filter(lambda v: float(np.linalg.norm(v)) >= min_norm)
    )


@st.composite
def processes(draw, names=PROCESS_NAMES):
    """A process µ from :func:`theory_sim.core.processes.make_process`, with parameters in the ranges above.

    Returns
    -------
    Process
    """
    name = draw(st.sampled_from(names))
    if name == "gaussian-logistic":
        d = draw(st.integers(1, 3))
        return make_process(name, d=d, w_star=draw(_vector(d, 3.0, 0.2)), b_star=draw(st.floats(-2.0, 2.0)))
    if name == "gaussian-mixture":
        d = draw(st.integers(1, 3))
        return make_process(
            name, d=d, pi=draw(st.floats(0.1, 0.9)), m=draw(_vector(d, 2.0, 0.1)), sigma=draw(st.floats(0.5, 2.0))
        )
    if name == "sine-regression":
        return make_process(name, omega=draw(st.floats(0.5, 20.0)), noise=draw(st.floats(0.0, 1.0)))
    w = draw(st.floats(-3.0, 3.0).filter(lambda v: abs(v) >= 0.2))
    return make_process(name, rate=draw(st.floats(0.2, 5.0)), w_star=w, b_star=draw(st.floats(-3.0, 3.0)))


def compatible_scores(process: Process) -> tuple[str, ...]:
    """The score names :func:`make_score` accepts for ``process`` (see the module docstring)."""
    return CLASSIFICATION_SCORES if hasattr(process, "truth") else REGRESSION_SCORES


@st.composite
def scores_for(draw, process: Process, names=SCORE_NAMES, rounded=False):
    """A score g compatible with ``process``.

    The reference logit is the truth or, half of the time, a perturbed "probe"
    (``truth.perturbed(scale, seed)``, scale ∈ [0, 0.5]); the centre of ``distance`` is the
    process's default or, half of the time, a point with entries in [−1, 1]. With
    ``rounded=True`` the score is, half of the time, rounded to 1 or 2 decimals: a non-adapted
    score (its law has atoms), for the properties that must hold with ties too.
    """
    allowed = [s for s in compatible_scores(process) if s in names]
    assume(allowed)
    name = draw(st.sampled_from(allowed))
    decimals = draw(st.sampled_from([None, 1, 2])) if rounded else None
    if name == "distance":
        center = None
        if draw(st.booleans()):
            center = np.array(draw(st.lists(st.floats(-1.0, 1.0), min_size=process.d, max_size=process.d)))
        return make_score(name, process, center=center, decimals=decimals)
    reference = None
    if draw(st.booleans()):
        reference = process.truth().perturbed(draw(st.floats(0.0, 0.5)), draw(SEEDS))
        assume(float(np.linalg.norm(reference.w)) >= 0.1)  # a non-constant logit (see module docstring)
    return make_score(name, process, reference=reference, decimals=decimals)


@st.composite
def compression_levels(draw, n, low=None, high=1.0):
    """r ∈ [low, high] ⊂ (0, 1] with budget ⌊r n⌋ ≥ 1."""
    low = 1.0 / n if low is None else max(low, 1.0 / n)
    # Arbitrary floats in [low, high] (their bounds, r = 1 included, come up as edge cases) and
    # two-decimal values p/100, whose binary value times n may fall just below an integer.
    r = draw(
        st.one_of(
            st.floats(min_value=low, max_value=high),
            st.integers(1, 100).map(lambda p: p / 100).filter(lambda v: low <= v <= high),
        )
    )
    assume(budget(r, n) >= 1)
    return r


def signal_fractions(protocol):
    """α for ``protocol``: [0, 1) for ``ec``, [0, 1] for ``ac``, None for ``sbpa`` and ``random``."""
    if protocol == "ec":
        return st.one_of(st.just(0.0), st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 99).map(lambda p: p / 100))
    if protocol == "ac":
        return st.one_of(st.just(0.0), st.floats(0.0, 1.0), st.integers(0, 100).map(lambda p: p / 100))
    return st.none()


@dataclass(frozen=True)
class Case:
    """One member of the family: µ, g, a sample D_n and its scores, r, and the call's options."""

    process: Process
    score: Score
    n: int
    r: float
    protocol: str
    alpha: float | None
    keep: str
    seed: int
    x: np.ndarray
    y: np.ndarray
    g: np.ndarray

    def __repr__(self) -> str:  # what hypothesis prints for a falsifying example
        return (
            f"Case(process={self.process!r}, score={self.score!r}, n={self.n}, r={self.r!r}, "
            f"protocol={self.protocol!r}, alpha={self.alpha!r}, keep={self.keep!r}, seed={self.seed})"
        )


@st.composite
def cases(draw, protocols=("random", "sbpa", "ec", "ac"), n_max=2000, rounded=False, score_names=SCORE_NAMES):
    """A :class:`Case`: a process, a compatible score, n ∈ [1, n_max], r with ⌊r n⌋ ≥ 1, a protocol,
    α for it, ``keep`` and a seed; D_n is sampled from µ with ``seed`` and scored."""
    process = draw(processes())
    score = draw(scores_for(process, names=score_names, rounded=rounded))
    # Small n (budgets k = 1, 2, ...) often; multiples of 100, where r = p/100 makes r n an integer
    # that binary floating point may put just below (0.29 · 100 = 28.999999999999996); n = 1
    # (r = 1 forced) is covered by the raw-array tests.
    n = draw(st.one_of(st.integers(2, 30), st.integers(31, n_max), st.integers(1, n_max // 100).map(lambda m: 100 * m)))
    r = draw(compression_levels(n))
    protocol = draw(st.sampled_from(protocols))
    alpha = draw(signal_fractions(protocol))
    keep = draw(KEEPS)
    seed = draw(SEEDS)
    data = process.sample(n, rng=np.random.SeedSequence(seed, spawn_key=(0,)))
    g = score(data.x, data.y)
    return Case(process, score, n, r, protocol, alpha, keep, seed, data.x, data.y, g)
