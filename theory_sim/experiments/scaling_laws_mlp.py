r"""Scaling laws under pruning with a small MLP (claim C8, the network version of :mod:`.scaling_laws`).

Setting. ``sine-regression`` (x ~ U[−1, 1], y = sin(ωx) + ε, Var ε = s²), the label-free
``distance`` score g(x) = |x|, and a one-hidden-layer tanh network
v(x; θ) = Σ_k a_k tanh(w_k x + b_k) + c of width h (:class:`theory_sim.models.mlp.MLP`), trained by
full-batch Adam on the kept points with the selection's weights p_i (:func:`theory_sim.prune`):

.. math::

    \hat θ ≈ \arg\min_θ \sum_{i ∈ I} p_i\, \tfrac12 (v(x_i; θ) − y_i)^2 .

The test loss is exact, not a test sample: L(θ) = ½ E_µ(v(x; θ) − sin ωx)² + s²/2 by the
Gauss–Legendre rule of µ (:func:`theory_sim.models.network_population.quadrature_rule`,
rounding-level error; the nodes are doubled once to check). Reported: the **excess over the Bayes risk**
L(θ̂) − s²/2, the infimum of L over all functions. The minimum over the network class,
min_θ L(θ), is not known exactly; :func:`class_floor` estimates it from above by a long Adam fit
on µ's quadrature rule itself (the population, no sampling noise), and the result stores that
estimate (``floor_excess``) so that a reader can see how far below the curves the class's own
floor lies.

Protocols (``MLP_SCALING_PROTOCOLS``), budget k = ⌊r n⌋: ``random``; ``sbpa-hard`` (SBPA keeping
the highest |x|, the boundary A_r = {|x| ≥ 1 − r}); ``sbpa-easy`` (keeping the lowest, the centre
A_r = {|x| ≤ r}); ``ec`` (exact calibration, signal fraction α, signal part keep-hard, trained
with its weights).

What to expect. Random pruning and EC are consistent: the fit converges to a minimiser of L
and the excess decays like a power of n (≈ n^{−1}, the parametric rate, once k is well above the
number of parameters 3h + 1). SBPA trains on ν_r = µ|A_r / r: the network fits sin on A_r and
is unconstrained off A_r (keep-easy extrapolates to |x| > r; keep-hard interpolates across
|x| < 1 − r). Its excess converges to a positive, initialisation-dependent level — a plateau —
while random's keeps decaying. With a network, SBPA never wins here: the misfit off A_r is of
order one from the first n, whereas the least-squares line of :mod:`.scaling_laws` gains variance by
a D-optimal design. Over the figure's range of n, keep-easy levels off while keep-hard's excess
may still fall, slower than random's: the network's interpolation across the gap |x| < 1 − r is set
by the initialisation and by the noise of the boundary fit, which keeps shrinking with n, so the
limit for a fixed number of Adam steps (the trajectory on ν_r) is approached slowly. (Measured
exponents and levels are the figure's and the report's, not this docstring's.)

Parameters chosen (defaults of :class:`MLPScalingConfig`): ω = 3 (sin has one and a half periods
on [−1, 1]: a line cannot fit it, a width-16 network can), s = 0.5 (the noise keeps the
statistical excess well above the optimisation error), h = 16 (49 parameters), Adam with
η = 10⁻² for 2000 full-batch steps; :func:`optimisation_check` reruns any cell with more steps, to
tell whether a curve is limited by the data or by the optimiser.

Randomness (docs/theory.md, "Randomness"). D_n for (n, replication j) ← ``STREAMS(seed, "data",
n, j)`` = ``SeedSequence(seed, spawn_key=(0, n, j))`` and the pruning of (r, protocol) ←
:func:`theory_sim.experiments.scaling_laws.select` (``spawn_key=(1, n, j, R, P)``, R = r in units of
10⁻⁹, P the protocol's index in :data:`theory_sim.experiments.scaling_laws.SCALING_PROTOCOLS`): the
same keys as :func:`theory_sim.experiments.scaling_laws.run_scaling_laws`. The initialisation θ₀ ←
``STREAMS(seed, "init", n, j)`` = ``spawn_key=(2, n, j)`` is shared by every r and protocol at
(n, j), so protocols are compared on the same data and the same start (paired). The class-floor
fit starts from ``STREAMS(seed, "floor")`` = ``spawn_key=(3,)``. No number depends on which other
n, r or protocols the config lists.

Result files: one per config through :class:`theory_sim.store.Store`: the class floor is its
shared part (computed once), each n a unit (trained parameters, final training losses and
gradient norms).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from theory_sim.core.processes import make_process
from theory_sim.core.scores import make_score
from theory_sim.experiments._framework import Experiment, ExperimentConfig, one_blas_thread, register, register_runner
from theory_sim.models.network_population import NODES_PER_PANEL, population_loss_grad, quadrature_rule
from theory_sim.experiments.scaling_laws import (MIN_FIT_BUDGET, GridResult, ScalingLawResults, check_grid,
                                                 decode_array, default_ns, read_only, select)
from theory_sim.models.batch_training import train_many
from theory_sim.models.mlp import MLP, train
from theory_sim.rng import Streams
from theory_sim.stats import Plateau, fit_power_law, plateau_level
from theory_sim.store import Store
from theory_sim.validation import budget, check_array, check_choice, check_int, check_real

__all__ = [
    "MLP_SCALING_PROTOCOLS",
    "MLPScalingConfig",
    "MLPScalingResult",
    "SIZES",
    "STREAMS",
    "class_floor",
    "configs",
    "optimisation_check",
    "run_mlp_scaling",
    "mlp_plateau",
    "summary",
]

MLP_SCALING_PROTOCOLS = ("random", "sbpa-hard", "sbpa-easy", "ec")
_PLATEAU_PROTOCOLS = ("sbpa-hard", "sbpa-easy")
# The pruning stream (id 1) is theory_sim.experiments.scaling_laws.select's: the same selections as the line's.
STREAMS = Streams(data=0, pruning=1, init=2, floor=3)
# The class-floor fit: Adam at η = 1e-2 then η = 1e-3 on µ's quadrature rule, long enough that the floor
# lies far below the smallest excess plotted (the figure prints it).
FLOOR_STEPS = (4000, 2000)
FLOOR_LRS = (1e-2, 1e-3)


@dataclass(frozen=True)
class MLPScalingConfig(ExperimentConfig):
    r"""Configuration of :func:`run_mlp_scaling` (claim C8 with a network).

    Attributes
    ----------
    omega, noise : float
        ω > 0 and s ≥ 0 of sine-regression (the noise standard deviation), as in
        :class:`theory_sim.experiments.scaling_laws.ScalingLawConfig`.
    width : int ≥ 1
        h, the hidden width of the tanh network (3h + 1 parameters).
    rs : tuple of float in (0, 1)
        Compression levels (fraction kept).
    ns : tuple of int
        Sample sizes n, strictly increasing, at least 3; each budget ⌊r n⌋ must be ≥ 4 (and EC
        needs 1 ≤ ⌊α⌊r n⌋⌋ < ⌊r n⌋).
    protocols : tuple of str from ``MLP_SCALING_PROTOCOLS``
    alpha : float in (0, 1)
        EC's signal fraction.
    replications : int ≥ 2
        Independent (data set, initialisation) pairs per n.
    max_iter : int ≥ 1
        Full-batch Adam steps per fit (fixed: the steps a full-batch fit needs do not grow with n).
    lr : float > 0
        Adam's step size η.
    seed : int ≥ 0
    """

    omega: float = 3.0
    noise: float = 0.5
    width: int = 16
    rs: tuple = (0.1, 0.3)
    ns: tuple = default_ns(100, 30000, 3)
    protocols: tuple = MLP_SCALING_PROTOCOLS
    alpha: float = 0.5
    replications: int = 5
    max_iter: int = 2000
    lr: float = 1e-2
    seed: int = 0

    def __post_init__(self):
        check_int("width", self.width, low=1)
        rs, ns, protocols, alpha = check_grid(self, MLP_SCALING_PROTOCOLS)
        for r in rs:
            k = budget(r, ns[0])
            if k < 4:
                raise ValueError(f"ns[0]={ns[0]} is too small for r={r}: the budget floor(r * n) = {k} must be >= 4")
            if "ec" in protocols and not 1 <= budget(alpha, k) < k:
                raise ValueError(f"ns[0]={ns[0]} is too small for r={r}, alpha={alpha}: EC needs "
                                 "1 <= floor(alpha floor(r n)) < floor(r n)")
        check_int("replications", self.replications, low=2)
        check_int("max_iter", self.max_iter, low=1)
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_int("seed", self.seed, low=0)

    KIND = "scaling-mlp"

    @property
    def arch(self) -> MLP:
        """The network MLP(1, (h,), 'tanh', 'mse')."""
        return MLP(1, (self.width,), "tanh", "mse")


@dataclass(frozen=True, eq=False)
class MLPScalingResult(GridResult):
    """Result of :func:`run_mlp_scaling`; arrays have shape (len(rs), len(protocols), len(ns), replications).

    Attributes
    ----------
    config : MLPScalingConfig
    test_loss : ndarray
        L(θ̂) = ½ E_µ(v − sin ωx)² + s²/2, exact (quadrature).
    excess : ndarray
        L(θ̂) − s²/2: the excess over the Bayes risk (≥ the excess over the class minimum).
    train_loss : ndarray
        The weighted training loss Σ p_i ½ (v(x_i) − y_i)² at the end of training.
    grad_norm : ndarray
        ‖∇ of the training loss‖₂ at the end of training.
    bayes_loss : float
        s²/2.
    floor_excess : float
        L(θ_floor) − s²/2 for the long population fit of :func:`class_floor`: an upper bound on
        min_θ L(θ) − s²/2 (the network class's own floor above the Bayes risk).
    quadrature_error : float
        Largest change of any L(θ̂) when the quadrature nodes are doubled.
    seconds : float
    path : Path or None
    """

    config: MLPScalingConfig
    test_loss: np.ndarray
    excess: np.ndarray
    train_loss: np.ndarray
    grad_norm: np.ndarray
    bayes_loss: float
    floor_excess: float
    quadrature_error: float
    seconds: float
    path: object = None


def _setting(config):
    process = make_process("sine-regression", omega=config.omega, noise=config.noise)
    return process, make_score("distance", process)


def _job(config, data, g, n, j, r, protocol):
    """The kept points of (n, j) pruned by (r, protocol) with their weights: one training job (x, y, p)."""
    sel = select(config, g, n, j, r, protocol)
    return data.x[sel.indices], data.y[sel.indices], sel.weights


def _one_n(config, process, score, n):
    """Trained parameters, final training losses and gradient norms for every (r, protocol, j) at one n.

    The trainings are independent; :func:`theory_sim.models.batch_training.train_many` stacks those
    of equal kept size (each fit bitwise what ``train`` gives it alone)."""
    arch = config.arch
    shape = (len(config.rs), len(config.protocols), config.replications)
    cells, jobs, starts = [], [], []
    for j in range(config.replications):
        data = process.sample(n, rng=STREAMS(config.seed, "data", n, j))
        g = score(data.x)
        theta0 = arch.init(STREAMS(config.seed, "init", n, j))
        for i, r in enumerate(config.rs):
            for p, protocol in enumerate(config.protocols):
                cells.append((i, p, j))
                jobs.append(_job(config, data, g, n, j, r, protocol))
                starts.append(theta0)
    fits = train_many(arch, jobs, theta0=starts, optimizer="adam", lr=config.lr, max_iter=config.max_iter)
    params, loss, gnorm = np.empty(shape + (arch.n_params,)), np.empty(shape), np.empty(shape)
    for cell, fit in zip(cells, fits):
        params[cell], loss[cell], gnorm[cell] = fit.params, fit.loss, fit.grad_norm
    return params, loss, gnorm


def class_floor(config: MLPScalingConfig) -> tuple[float, np.ndarray]:
    r"""An upper bound on min_θ L(θ) − s²/2 for the config's network: a long fit on the population.

    Adam (η = 10⁻² for ``FLOOR_STEPS[0]`` steps, then η = 10⁻³ for ``FLOOR_STEPS[1]``) on µ's
    quadrature rule — the population loss itself, no sampling noise — from
    ``STREAMS(seed, "floor")`` = ``SeedSequence(seed, spawn_key=(3,))``. Returns (L(θ_floor) − s²/2,
    θ_floor). Cached per (ω, s, h, seed): it depends on nothing else in the config.
    """
    if not isinstance(config, MLPScalingConfig):
        raise TypeError(f"config must be an MLPScalingConfig, got {type(config).__name__}")
    value, theta = _class_floor(float(config.omega), float(config.noise), int(config.width), int(config.seed))
    return value, np.array(theta)


@functools.lru_cache(maxsize=16)
def _class_floor(omega, noise, width, seed):
    process = make_process("sine-regression", omega=omega, noise=noise)
    rule = quadrature_rule(process, 1.0)
    arch = MLP(1, (width,), "tanh", "mse")
    theta = arch.init(STREAMS(seed, "floor"))
    for steps, lr in zip(FLOOR_STEPS, FLOOR_LRS):
        theta = train(arch, rule.x, rule.y, rule.weights, optimizer="adam", lr=lr, max_iter=steps,
                      theta0=theta).params
    return float(population_loss_grad(arch, theta, rule)[0] - 0.5 * noise**2), tuple(theta)


def optimisation_check(config: MLPScalingConfig, cells, factor: int = 2) -> np.ndarray:
    """Refit cells with ``factor × max_iter`` Adam steps: is the curve limited by data or by the optimiser?

    Parameters
    ----------
    config : MLPScalingConfig
    cells : iterable of (n, r, protocol, j)
        The cells to refit (n need not be in ``config.ns``); same data, pruning and start as the run.
    factor : int ≥ 2

    Returns
    -------
    ndarray, shape (len(cells), 2)
        Excess L(θ̂) − s²/2 after ``max_iter`` and after ``factor × max_iter`` steps.
    """
    factor = check_int("factor", factor, low=2)
    process, score = _setting(config)
    rule = quadrature_rule(process, 1.0)
    arch = config.arch
    jobs, starts = [], []
    for n, r, protocol, j in cells:
        n, j = check_int("n", n, low=1), check_int("j", j, low=0)
        check_choice("protocol", protocol, config.protocols)
        data = process.sample(n, rng=STREAMS(config.seed, "data", n, j))
        jobs.append(_job(config, data, score(data.x), n, j, r, protocol))
        starts.append(arch.init(STREAMS(config.seed, "init", n, j)))
    out = [[population_loss_grad(arch, fit.params, rule)[0] - 0.5 * config.noise**2
            for fit in train_many(arch, jobs, theta0=starts, optimizer="adam", lr=config.lr, max_iter=steps)]
           for steps in (config.max_iter, factor * config.max_iter)]
    return np.array(out).T.reshape(len(jobs), 2)


@one_blas_thread
def run_mlp_scaling(config: MLPScalingConfig, results_dir=None, progress: bool | None = False) -> MLPScalingResult:
    """Run (or reuse, or resume) ``results_dir/scaling-mlp-<hash>.json``, the experiment of the config.

    The class floor (:func:`class_floor`) is computed once. For each n (a unit of
    :class:`theory_sim.store.Store`) and replication j: draw D_n ~ µ^n, score by |x|, draw θ₀, and
    for every (r, protocol) prune, train from θ₀ on the kept points with their weights, and record
    the trained θ̂. Test losses are computed from the stored θ̂ by quadrature.
    """
    if not isinstance(config, MLPScalingConfig):
        raise TypeError(f"config must be an MLPScalingConfig, got {type(config).__name__}")
    process, score = _setting(config)

    def compute(n, _):
        params, loss, gnorm = _one_n(config, process, score, n)
        return {"params": params.tolist(), "train_loss": loss.tolist(), "grad_norm": gnorm.tolist()}

    record = Store(results_dir).run(
        config, units=config.ns, compute=compute, shared=lambda: class_floor(config)[0],
        decode_unit=functools.partial(_decode_unit, config=config), decode_shared=_decode_floor, progress=progress,
        desc=f"scaling-mlp ({config.replications} replications)")
    cells = [record.units[n] for n in config.ns]
    params, train_loss, grad_norm = (np.stack([c[key] for c in cells], axis=2)
                                     for key in ("params", "train_loss", "grad_norm"))
    rule = quadrature_rule(process, 1.0)
    fine = quadrature_rule(process, 1.0, nodes=2 * NODES_PER_PANEL)
    flat = params.reshape(-1, config.arch.n_params)
    test = np.array([population_loss_grad(config.arch, th, rule)[0] for th in flat])
    check = np.array([population_loss_grad(config.arch, th, fine)[0] for th in flat])
    bayes = 0.5 * config.noise**2
    test = test.reshape(params.shape[:-1])
    return MLPScalingResult(config, read_only(test), read_only(test - bayes), read_only(train_loss),
                            read_only(grad_norm), bayes, record.shared,
                            float(np.abs(check.reshape(test.shape) - test).max()), record.seconds, record.path)


register_runner(MLPScalingConfig, run_mlp_scaling)


def _decode_unit(raw, *, config):
    """A stored n: finite parameters of shape (rs, protocols, replications, n_params), losses and norms."""
    shape = (len(config.rs), len(config.protocols), config.replications)
    return {"params": decode_array("params", raw["params"], shape + (config.arch.n_params,)),
            "train_loss": check_array("train_loss", raw["train_loss"], shape=shape, allow_nan=True),
            "grad_norm": check_array("grad_norm", raw["grad_norm"], shape=shape, allow_nan=True)}


def _decode_floor(raw) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise TypeError(f"floor_excess must be a number, got {raw!r}")
    if not math.isfinite(raw) or raw < 0:
        raise ValueError(f"floor_excess must be finite and >= 0 (a loss above the Bayes risk), got {raw!r}")
    return float(raw)


# ---------------------------------------------------------------------------------------
# Analysis: power laws and plateaus (the statistics are theory_sim.stats')
# ---------------------------------------------------------------------------------------
def mlp_plateau(result: MLPScalingResult, r, protocol="sbpa-hard") -> Plateau:
    """Mean excess of ``protocol`` at the largest n with its 95% t-CI over replications.

    Returned as :class:`theory_sim.stats.Plateau` with ``predicted_limit`` and ``predicted_at_n``
    NaN: there is no closed-form prediction for a trained network.
    """
    i, p = result.index(r, protocol)
    return plateau_level(result.config.ns[-1], result.excess[i, p, -1])


def summary(result: MLPScalingResult, *, level: float = 0.95) -> dict:
    """Every number the figure, the tests and the report quote, per (r, protocol).

    Returns ``{r: {protocol: {"fit": PowerLawFit, "tail": PowerLawFit, "plateau": Plateau}}}``:
    ``fit`` over the n with ⌊r n⌋ ≥ ``MIN_FIT_BUDGET`` (= 100, about twice the 49 parameters of
    the default width, below which the fit interpolates the noise and the curve bends; the last
    three n if fewer qualify), ``tail`` over the last decade of the grid (at least three n),
    ``plateau`` the level at the largest n (:func:`mlp_plateau`); for SBPA, when random is among
    the protocols, ``relative``: the fit over the tail window of the paired ratio
    excess_SBPA / excess_random per (n, j) (same data and start), whose slope is SBPA's exponent
    minus random's — > 0 when SBPA falls behind random as n grows, with a CI that accounts for
    the pairing.
    """
    cfg = result.config
    out = {}
    for i, r in enumerate(cfg.rs):
        eligible = [n for n in cfg.ns if budget(r, n) >= MIN_FIT_BUDGET]
        n_fit = eligible[0] if len(eligible) >= 3 else cfg.ns[-3]
        n_tail = min(cfg.ns[-1] / 10, cfg.ns[-3])
        out[r] = {}
        for p, protocol in enumerate(cfg.protocols):
            out[r][protocol] = {"fit": fit_power_law(cfg.ns, result.excess[i, p], n_min=n_fit, level=level),
                                "tail": fit_power_law(cfg.ns, result.excess[i, p], n_min=n_tail, level=level),
                                "plateau": mlp_plateau(result, r, protocol)}
            if protocol in _PLATEAU_PROTOCOLS and "random" in cfg.protocols:
                ratio = result.excess[i, p] / result.excess[i, cfg.protocols.index("random")]
                out[r][protocol]["relative"] = fit_power_law(cfg.ns, ratio, n_min=n_tail, level=level)
    return out



# ---------------------------------------------------------------------------------------
# The registered experiment
# ---------------------------------------------------------------------------------------
# Training cost ∝ Σ_n ⌊r n⌋ × max_iter × protocols × replications: the largest n dominates.
SIZES = {
    "tiny": dict(ns=(20, 40, 80), rs=(0.3,), replications=2, max_iter=10, width=2),  # width 2: a quick class floor
    "small": dict(ns=default_ns(100, 2154, 3), replications=3, max_iter=1000),
    "default": dict(ns=default_ns(100, 10**4, 3), replications=5),
    "full": dict(ns=default_ns(100, 30000, 3), replications=10),
}


def configs(size: str) -> dict:
    return {"scaling_laws_mlp": MLPScalingConfig(**SIZES[size])}


register(Experiment("scaling_laws_mlp", "excess test loss vs n under pruning with a tanh MLP; SBPA plateau",
                    ("C8",), configs, assemble=lambda results: ScalingLawResults(results["scaling_laws_mlp"], summary)))
