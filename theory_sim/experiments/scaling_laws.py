r"""Scaling laws under pruning (claim C8): SBPA plateaus, random pruning keeps decaying.

Setting. ``sine-regression`` (x ~ U[−1, 1], y = sin(ωx) + ε, Var ε = s²), the label-free
``distance`` score g(x) = |x|, and least squares on the Legendre features of degree p, fitted on
the kept points with the selection's weights. The model, its exact test loss (by quadrature), the
limits of each protocol and the asymptotic prediction of the excess loss are in
:mod:`theory_sim.models.polynomial`; the statistics (power-law fits, plateaus, crossovers) in
:mod:`theory_sim.stats`.

Protocols (``SCALING_PROTOCOLS``), all at compression r (fraction kept), budget k = ⌊r n⌋:
``random``; ``sbpa-hard`` (SBPA keeping the highest |x|: A_r = {|x| ≥ 1 − r}); ``sbpa-easy``
(keeping the lowest: A_r = {|x| ≤ r}); ``ec`` (exact calibration, signal fraction α, signal part
keep-hard, with its weights); ``ac`` (approximate calibration, α, keep-hard).

Why SBPA keep-hard wins at small n and loses at large n. For a line (p = 1) the boundary points
are the D-optimal design: the variance of the fitted slope is smaller than under random pruning,
so at small n SBPA's excess loss is lower. But its limit ν_r = µ|A_r / r (docs/theory.md,
"Limits") gives a biased line, because sin is not linear; the excess converges to the plateau
V_∞ = L(w_ν) − min L > 0 while random pruning's excess decays like n^{−1}. They cross at n*(r);
the predicted crossover is where the predicted curves of SBPA (or AC) and random cross
(:func:`predicted_crossover`).

Parameters chosen (defaults of :class:`ScalingLawConfig`): ω = 1, s = 0.5, p = 1. With ω = 1
the line misfits sin only through its cubic term, so V_∞ is small while the noise s = 0.5 makes
the variance constants large: the predicted n*(r) lies inside n ∈ [10², 10⁶] for r = 0.1, 0.2,
0.3, with one decade where keep-hard wins and more than two where it has plateaued. (ω = 5 puts
n* below 50; ω = 0.5 puts it near 10⁵.) Keep-easy has a larger plateau *and* a larger variance
(the centre is the worst design for a slope, tr H_µH_ν⁻¹ = 1 + 1/r²): it never wins here.

Randomness (docs/theory.md, "Randomness"). D_n for (n, replication j) ← ``STREAMS(seed, "data",
n, j)`` = ``SeedSequence(seed, spawn_key=(0, n, j))``, shared by every r and protocol (a paired
design: the crossover compares protocols on the same data); the pruning of (r, protocol) ←
``STREAMS(seed, "pruning", n, j, R, P)`` = ``spawn_key=(1, n, j, R, P)`` with R = ``r_key(r)`` (r in
units of 10⁻⁹) and P the protocol's index in ``SCALING_PROTOCOLS``. No number depends on which
other n, r or protocols the config lists.

Result files: one per config through :class:`theory_sim.store.Store`, each n a unit (its fitted
coefficients, shape (rs, protocols, replications, p + 1)); test losses, predictions and
diagnostics are computed from them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from theory_sim.core.processes import make_process
from theory_sim.core.protocols import prune_label
from theory_sim.core.scores import make_score
from theory_sim.experiments._framework import Experiment, ExperimentConfig, one_blas_thread, register, register_runner
from theory_sim.models.polynomial import PLATEAU_PROTOCOLS, PROTOCOLS, PolynomialProblem, fit_polynomial
from theory_sim.models.polynomial import quadrature_check as _quadrature_check
from theory_sim.rng import Streams, r_key
from theory_sim.stats import Plateau, bootstrap_crossing, crossing, fit_power_law, plateau_level
from theory_sim.store import Store
from theory_sim.validation import (budget, check_array, check_choice, check_increasing_sizes, check_int, check_levels,
                                   check_names, check_r, check_real)

__all__ = [
    "SCALING_PROTOCOLS",
    "SIZES",
    "STREAMS",
    "MIN_FIT_BUDGET",
    "Crossover",
    "GridResult",
    "ScalingLawConfig",
    "ScalingLawResult",
    "ScalingLawResults",
    "check_grid",
    "configs",
    "crossover",
    "decode_array",
    "default_ns",
    "plateau",
    "predicted_crossover",
    "quadrature_check",
    "read_only",
    "run_scaling_laws",
    "select",
    "summary",
]

# The protocols' order is part of the seeds (their index P enters the pruning stream): never reorder.
SCALING_PROTOCOLS = PROTOCOLS
STREAMS = Streams(data=0, pruning=1)


def default_ns(low: int = 100, high: int = 10**6, per_decade: int = 3) -> tuple:
    """A log grid of sample sizes from ``low`` to ``high`` with ``per_decade`` points per decade."""
    low, high = check_int("low", low, low=1), check_int("high", high, low=1)
    per_decade = check_int("per_decade", per_decade, low=1)
    if high <= low:
        raise ValueError(f"high must exceed low, got low={low}, high={high}")
    count = int(round(per_decade * math.log10(high / low))) + 1
    return tuple(int(v) for v in np.unique(np.round(np.logspace(math.log10(low), math.log10(high), count))))


class GridResult:
    """What the results of the scaling-law experiments share: arrays indexed (r, protocol, n, replication)."""

    def index(self, r, protocol) -> tuple[int, int]:
        """(i, p) of compression level r and protocol in the result arrays."""
        rs = self.config.rs
        matches = [i for i, v in enumerate(rs) if math.isclose(v, float(r), rel_tol=0, abs_tol=1e-12)]
        if not matches:
            raise ValueError(f"r must be one of {rs}, got {r!r}")
        return matches[0], self.config.protocols.index(check_choice("protocol", protocol, self.config.protocols))


def read_only(value, dtype=float) -> np.ndarray:
    """A read-only copy of ``value``."""
    arr = np.array(value, dtype=dtype)
    arr.setflags(write=False)
    return arr


def decode_array(name: str, raw, shape: tuple) -> np.ndarray:
    """A stored list of finite numbers of the given shape, as an array (ValueError/TypeError otherwise)."""
    if not isinstance(raw, list):
        raise TypeError(f"{name} must be a list, got {type(raw).__name__}")
    arr = check_array(name, raw, shape=shape)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds a value that is not finite")
    return arr



@dataclass(frozen=True)
class ScalingLawConfig(ExperimentConfig):
    r"""Configuration of :func:`run_scaling_laws` (claim C8).

    Attributes
    ----------
    omega : float > 0
        ω of sine-regression.
    noise : float ≥ 0
        s, the noise standard deviation.
    degree : int in [0, 10]
        p, the degree of the fitted polynomial (Legendre features).
    model : {'polynomial'}
        The fitted model (the experiment with a small MLP is :mod:`theory_sim.experiments.scaling_laws_mlp`).
    rs : tuple of float in (0, 1)
        Compression levels (fraction kept).
    ns : tuple of int
        Sample sizes n, strictly increasing; each budget ⌊r n⌋ must be ≥ p + 3 (so that the
        least-squares fit has a finite expected excess).
    protocols : tuple of str from ``SCALING_PROTOCOLS``
    alpha : float in (0, 1)
        Signal fraction of EC and AC.
    replications : int ≥ 2
        Independent data sets per n.
    seed : int ≥ 0
    """

    omega: float = 1.0
    noise: float = 0.5
    degree: int = 1
    model: str = "polynomial"
    rs: tuple = (0.1, 0.2, 0.3)
    ns: tuple = default_ns(100, 10**6, 3)
    protocols: tuple = SCALING_PROTOCOLS
    alpha: float = 0.5
    replications: int = 40
    seed: int = 0

    def __post_init__(self):
        degree = check_int("degree", self.degree, low=0, high=10)
        check_choice("model", self.model, ("polynomial",))
        rs, ns, protocols, alpha = check_grid(self, SCALING_PROTOCOLS)
        for r in rs:
            k = budget(r, ns[0])
            if k < degree + 3:
                raise ValueError(f"ns[0]={ns[0]} is too small for r={r}: the budget floor(r * n) = {k} must be at "
                                 f"least degree + 3 = {degree + 3}")
            if budget(alpha, k) < 1 and any(p in ("ec", "ac") for p in protocols):
                raise ValueError(f"ns[0]={ns[0]} is too small for r={r}, alpha={alpha}: EC/AC need "
                                 "floor(alpha floor(r n)) >= 1")
        check_int("replications", self.replications, low=2)
        check_int("seed", self.seed, low=0)

    KIND = "scaling-laws"


@dataclass(frozen=True, eq=False)
class ScalingLawResult(GridResult):
    """Result of :func:`run_scaling_laws`.

    Attributes
    ----------
    config : ScalingLawConfig
    test_loss : ndarray, shape (len(rs), len(protocols), len(ns), replications)
        L(ŵ), exact (quadrature), noise floor s²/2 included.
    excess : ndarray, same shape
        L(ŵ) − min L, from the quadratic form ½ (ŵ − w_µ)ᵀ H_µ (ŵ − w_µ) (no cancellation).
    min_loss : float
        min L (quadrature).
    w_mu : ndarray, shape (p + 1,)
    plateau : ndarray, shape (len(rs), len(protocols))
        Predicted V_∞ = L(w_lim) − min L.
    predicted : ndarray, shape (len(rs), len(protocols), len(ns))
        Predicted mean excess at each n (:meth:`theory_sim.models.polynomial.PolynomialProblem.predict`).
    variance_constant : ndarray, shape (len(rs), len(protocols))
        k × the predicted sandwich term at the largest n (the constant C in C/k).
    quadrature_error : float
        Largest change of the population quantities when the nodes are doubled, and of
        L(ŵ) − min L computed directly against the quadratic form.
    seconds : float
    path : Path or None
    """

    config: ScalingLawConfig
    test_loss: np.ndarray
    excess: np.ndarray
    min_loss: float
    w_mu: np.ndarray
    plateau: np.ndarray
    predicted: np.ndarray
    variance_constant: np.ndarray
    quadrature_error: float
    seconds: float
    path: object = None


def check_grid(config, choices) -> tuple:
    """Check (and normalise in place) the fields the scaling-law configs share: ω, s, rs, ns, protocols, α.

    Returns ``(rs, ns, protocols, alpha)``; ``choices`` are the protocols the config's experiment knows.
    """
    check_real("omega", config.omega, low=0.0, low_open=True)
    check_real("noise", config.noise, low=0.0)
    rs = check_levels("rs", config.rs)
    ns = check_increasing_sizes("ns", config.ns, min_count=3, why=" (for the power-law fits)")
    protocols = check_names("protocols", config.protocols, choices, item="protocol")
    for name, value in (("rs", rs), ("ns", ns), ("protocols", protocols)):
        object.__setattr__(config, name, value)
    alpha = check_real("alpha", config.alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    return rs, ns, protocols, alpha


def select(config, g, n: int, j: int, r: float, protocol: str):
    """The selection of (n, replication j) at (r, protocol): label-free distance score, hard = highest |x|."""
    rng = STREAMS(config.seed, "pruning", n, j, r_key(r), SCALING_PROTOCOLS.index(protocol))
    return prune_label(protocol, g, r, hard="highest", alpha=config.alpha, rng=rng)


def _one_n(config, process, score, n):
    """Fitted coefficients for every (r, protocol, replication) at one n."""
    out = np.empty((len(config.rs), len(config.protocols), config.replications, config.degree + 1))
    for j in range(config.replications):
        data = process.sample(n, rng=STREAMS(config.seed, "data", n, j))
        g = score(data.x)
        x, y = data.x[:, 0], data.y
        for i, r in enumerate(config.rs):
            for p, protocol in enumerate(config.protocols):
                sel = select(config, g, n, j, r, protocol)
                out[i, p, j] = fit_polynomial(x[sel.indices], y[sel.indices], sel.weights, config.degree)
    return out


def _problem(config):
    return PolynomialProblem(config.omega, config.noise, config.degree)


def _predictions(config, prob):
    shape = (len(config.rs), len(config.protocols))
    plateau, const = np.empty(shape), np.empty(shape)
    predicted = np.empty(shape + (len(config.ns),))
    for i, r in enumerate(config.rs):
        for p, protocol in enumerate(config.protocols):
            plateau[i, p] = prob.excess(prob.limit(protocol, r, config.alpha))
            preds = [prob.predict(protocol, r, config.alpha, n) for n in config.ns]
            predicted[i, p] = [pr.total for pr in preds]
            const[i, p] = preds[-1].variance * preds[-1].k
    return plateau, predicted, const


def quadrature_check(config) -> float:
    """Largest change of w_µ, min L and the config's limit minimisers when the quadrature nodes are doubled."""
    if not isinstance(config, ScalingLawConfig):
        raise TypeError(f"config must be a ScalingLawConfig, got {type(config).__name__}")
    return _quadrature_check(config.rs, config.protocols, omega=config.omega, noise=config.noise,
                             degree=config.degree, alpha=config.alpha)


@one_blas_thread
def run_scaling_laws(config: ScalingLawConfig, results_dir=None, progress: bool | None = False) -> ScalingLawResult:
    """Run (or reuse, or resume) ``results_dir/scaling-laws-<hash>.json``, the experiment of the config.

    For each n (a unit of :class:`theory_sim.store.Store`) and replication j: draw D_n ~ µ^n, score
    by |x|, prune by every (r, protocol), fit the weighted least-squares polynomial on the kept
    points. Test losses (exact), predictions and diagnostics are computed from the coefficients.
    """
    if not isinstance(config, ScalingLawConfig):
        raise TypeError(f"config must be a ScalingLawConfig, got {type(config).__name__}")
    process = make_process("sine-regression", omega=config.omega, noise=config.noise)
    score = make_score("distance", process)
    shape = (len(config.rs), len(config.protocols), config.replications, config.degree + 1)
    record = Store(results_dir).run(
        config, units=config.ns, compute=lambda n, _: _one_n(config, process, score, n).tolist(),
        decode_unit=functools.partial(decode_array, "coefficients", shape=shape), progress=progress,
        desc=f"scaling-laws ({config.replications} replications)")
    coef = np.stack([record.units[n] for n in config.ns], axis=2)
    prob = _problem(config)
    excess = prob.excess(coef)
    test_loss = prob.test_loss(coef)  # straight from its definition, against the quadratic form
    direct_err = float(np.abs(test_loss - prob.min_loss - excess).max())
    plateau, predicted, const = _predictions(config, prob)
    return ScalingLawResult(config, read_only(test_loss), read_only(excess), prob.min_loss, read_only(prob.w_mu),
                            read_only(plateau), read_only(predicted), read_only(const),
                            max(direct_err, quadrature_check(config)), record.seconds, record.path)


register_runner(ScalingLawConfig, run_scaling_laws)


# ---------------------------------------------------------------------------------------
# Analysis: plateaus and crossovers of the experiment (the statistics are theory_sim.stats')
# ---------------------------------------------------------------------------------------
def predicted_crossover(config, r, protocol="sbpa-hard", *, per_decade: int = 100) -> tuple[str, float]:
    """The predicted n*(r): where the predicted curves of ``protocol`` and random cross.

    Evaluated on a log grid of ``per_decade`` points per decade over the config's n range;
    returns (status, n*) with status ``crossover``, ``never-better`` (the protocol is predicted
    worse everywhere) or ``no-crossover-in-range``.
    """
    if not isinstance(config, ScalingLawConfig):
        raise TypeError(f"config must be a ScalingLawConfig, got {type(config).__name__}")
    check_choice("protocol", protocol, PLATEAU_PROTOCOLS)
    return _predicted_crossover(config, check_r(r), protocol, check_int("per_decade", per_decade, low=1))


@functools.lru_cache(maxsize=64)
def _predicted_crossover(config, r, protocol, per_decade):
    prob = _problem(config)
    lo, hi = config.ns[0], config.ns[-1]
    grid = np.unique(np.round(np.logspace(math.log10(lo), math.log10(hi),
                                          int(per_decade * math.log10(hi / lo)) + 1)).astype(int))
    diff = np.array([math.log(prob.predict(protocol, r, config.alpha, int(n)).total)
                     - math.log(prob.predict("random", r, config.alpha, int(n)).total) for n in grid])
    return crossing(grid, diff)


def plateau(result: ScalingLawResult, r, protocol="sbpa-hard") -> Plateau:
    """Measured mean excess of ``protocol`` at the largest n against V_∞ and the prediction at that n."""
    i, p = result.index(r, protocol)
    return plateau_level(result.config.ns[-1], result.excess[i, p, -1], predicted_limit=result.plateau[i, p],
                         predicted_at_n=result.predicted[i, p, -1])


@dataclass(frozen=True)
class Crossover:
    """The measured crossover of ``protocol`` against random at compression r.

    ``status``: ``crossover`` (the protocol is below random at small n and above from n* on),
    ``never-better`` (above random at every n of the grid), or ``no-crossover-in-range``
    (still below random at the largest n). ``n_star`` is NaN unless status is ``crossover``;
    ``ci_low``, ``ci_high``: a 95% percentile bootstrap over replications (paired: D_n is
    shared), from the resamples that show a crossover, whose fraction is ``boot_fraction``
    (:func:`theory_sim.stats.bootstrap_crossing`).
    """

    status: str
    n_star: float
    ci_low: float
    ci_high: float
    boot_fraction: float
    predicted_status: str
    predicted_n_star: float


def crossover(result: ScalingLawResult, r, protocol="sbpa-hard", *, boot: int = 1000, rng=0) -> Crossover:
    """Measure n*(r): the smallest grid n beyond which the protocol's mean excess stays above random's.

    Interpolated linearly in log n on log(mean protocol / mean random) between the two grid
    points around the last sign change; bootstrap over replications for the CI.
    """
    check_choice("protocol", protocol, PLATEAU_PROTOCOLS)
    if "random" not in result.config.protocols:
        raise ValueError("crossover needs 'random' among the config's protocols")
    i, p = result.index(r, protocol)
    q = result.config.protocols.index("random")
    measured = bootstrap_crossing(result.config.ns, result.excess[i, p], result.excess[i, q], boot=boot, rng=rng)
    pred_status, pred_star = predicted_crossover(result.config, result.config.rs[i], protocol)
    return Crossover(measured.status, measured.n_star, measured.ci_low, measured.ci_high, measured.boot_fraction,
                     pred_status, pred_star)


# Power-law fits of the decaying protocols use the n with budget k ≥ MIN_FIT_BUDGET: below it the
# O(p/k) finite-sample excess of least squares (≈ 3/k of the mean for a line) bends the curve.
MIN_FIT_BUDGET = 100


def summary(result: ScalingLawResult, *, boot: int = 1000, level: float = 0.95) -> dict:
    """Every number the figure, the tests and the report quote, per (r, protocol).

    Returns a dict ``{r: {protocol: {...}}}`` with ``fit`` (:class:`theory_sim.stats.PowerLawFit`
    over the n with ⌊r n⌋ ≥ ``MIN_FIT_BUDGET``), ``tail`` (fit over the last decade of the grid),
    ``plateau`` (:class:`theory_sim.stats.Plateau`), and for SBPA and AC ``crossover``
    (:class:`Crossover` against random).
    """
    cfg = result.config
    out = {}
    for i, r in enumerate(cfg.rs):
        out[r] = {}
        n_fit = min(n for n in cfg.ns if budget(r, n) >= MIN_FIT_BUDGET) if budget(r, cfg.ns[-1]) >= MIN_FIT_BUDGET \
            else cfg.ns[0]
        if sum(1 for n in cfg.ns if n >= n_fit) < 3:
            n_fit = cfg.ns[-3]
        n_tail = min(cfg.ns[-1] / 10, cfg.ns[-3])
        for p, protocol in enumerate(cfg.protocols):
            entry = {"fit": fit_power_law(cfg.ns, result.excess[i, p], n_min=n_fit, level=level),
                     "tail": fit_power_law(cfg.ns, result.excess[i, p], n_min=n_tail, level=level),
                     "plateau": plateau(result, r, protocol)}
            if protocol in PLATEAU_PROTOCOLS and "random" in cfg.protocols:
                entry["crossover"] = crossover(result, r, protocol, boot=boot)
            out[r][protocol] = entry
    return out


# ---------------------------------------------------------------------------------------
# The registered experiment
# ---------------------------------------------------------------------------------------
class ScalingLawResults:
    """What the figure and the claims read: the experiment's result and its summary (fits, plateaus,
    crossovers), ``summarise(result)``."""

    def __init__(self, result, summarise=summary):
        self.result = result
        self.summary = summarise(result)


SIZES = {
    "tiny": dict(ns=(20, 40, 80), rs=(0.3,), replications=2),
    "small": dict(ns=default_ns(100, 10**5, 3), replications=20),
    "default": dict(ns=default_ns(100, 10**6, 3), replications=30),
    "full": dict(ns=default_ns(100, 10**6, 4), replications=100),
}


def configs(size: str) -> dict:
    return {"scaling_laws": ScalingLawConfig(**SIZES[size])}


register(Experiment("scaling_laws", "excess test loss vs n under pruning; SBPA plateau and crossover n*(r)",
                    ("C8",), configs, assemble=lambda results: ScalingLawResults(results["scaling_laws"])))
