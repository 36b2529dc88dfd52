r"""Scaling laws under pruning with a small MLP (claim C8, the network version of :mod:`.scaling`).

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
order one from the first n, whereas the least-squares line of :mod:`.scaling` gains variance by
a D-optimal design. Measured (figure size ``full``: n ≤ 3·10⁴, 10 replications): random's
exponent is −1.01 [−1.17, −0.85] (r = 0.1) and −0.92 [−1.00, −0.83] (r = 0.3); keep-easy has
plateaued (tail slopes −0.27 [−0.65, 0.11] and −0.12 [−0.33, 0.10], levels 0.18 and 0.14);
**keep-hard has not reached its plateau in this range**: its excess still falls (tail slopes
−0.84 [−1.35, −0.32] at r = 0.1, −0.33 [−0.88, 0.21] at r = 0.3; levels 0.036 and 0.038 at
n = 3·10⁴, 100× and 300× random's), slower than random's. The network's interpolation across
the gap |x| < 1 − r is set by the initialisation and by the noise of the boundary fit, which
keeps shrinking with n; the limit for a fixed number of Adam steps (the trajectory on ν_r) is
approached slowly.

Parameters chosen (defaults of :class:`MLPScalingConfig`): ω = 3 (sin has one and a half periods
on [−1, 1]: a line cannot fit it, a width-16 network can to ≲ 10⁻⁶), s = 0.5 (the noise makes the
statistical excess ≈ 10⁻⁴ at k ≈ 10⁴, well above the optimisation error), h = 16 (49 parameters),
Adam with η = 10⁻² for 2000 full-batch steps. Measured at n = 3·10⁴, r = 0.3 (k = 9000, random):
excess 9.10·10⁻⁵ after 2000 steps, 8.93·10⁻⁵ after 4000 — the curve is limited by the data, not
the optimiser (:func:`optimisation_check` reruns any cell with more steps). On the default
figure's cells at n = 10⁴ (seed 0, j = 0/1), doubling the steps changes random's and EC's
excess by +2% to +14% — upwards: the longer fit follows the noise further, so 2000 steps act as a
mild early stopping — and SBPA's by about ±35% (its level is set by the network's unconstrained
behaviour off A_r, which keeps drifting; it stays 10²× above random's either way).

Randomness. D_n for (n, replication j) ← ``SeedSequence(seed, spawn_key=(0, n, j))`` and the
pruning of (r, protocol) ← ``SeedSequence(seed, spawn_key=(1, n, j, R, P))`` (R = r in units of
10⁻⁹, P the protocol's index in :data:`theory_sim.experiments.scaling_laws.SCALING_PROTOCOLS`): the same keys as
:func:`theory_sim.experiments.scaling_laws.run_scaling_laws`. The initialisation θ₀ ← ``SeedSequence(seed,
spawn_key=(2, n, j))`` is shared by every r and protocol at (n, j), so protocols are compared on
the same data and the same start (paired). The class-floor fit starts from ``(3,)``. No number
depends on which other n, r or protocols the config lists.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from theory_sim.experiments._framework import ExperimentConfig, one_blas_thread
from theory_sim.validation import (budget, check_choice, check_increasing_sizes, check_int, check_levels, check_names,
                          check_real)
from theory_sim.models.network_population import NODES_PER_PANEL, population_loss_grad, quadrature_rule
from theory_sim.models.mlp import MLP, train
from theory_sim.core.processes import make_process
from theory_sim.core.pruning import prune
from theory_sim.experiments.scaling_laws import MIN_FIT_BUDGET, SCALING_PROTOCOLS, Plateau, default_ns, fit_power_law
from theory_sim.core.scores import make_score

__all__ = [
    "MLP_SCALING_PROTOCOLS",
    "MLPScalingConfig",
    "MLPScalingResult",
    "class_floor",
    "optimisation_check",
    "run_mlp_scaling",
    "mlp_plateau",
    "summary",
]

MLP_SCALING_PROTOCOLS = ("random", "sbpa-hard", "sbpa-easy", "ec")
_PLATEAU_PROTOCOLS = ("sbpa-hard", "sbpa-easy")
_R_UNIT = 10**9  # r enters seed keys as an integer number of 1e-9, as in theory_sim.experiments.scaling_laws
# The class-floor fit: Adam at η = 1e-2 then η = 1e-3 on µ's quadrature rule. Measured (ω = 3, h = 16):
# 2000 + 1000 steps give 1.5e-6, 4000 + 2000 give 7.7e-7 above s²/2 — far below the smallest excess plotted.
FLOOR_STEPS = (4000, 2000)
FLOOR_LRS = (1e-2, 1e-3)


@dataclass(frozen=True)
class MLPScalingConfig(ExperimentConfig):
    r"""Configuration of :func:`run_mlp_scaling` (claim C8 with a network).

    Attributes
    ----------
    omega : float > 0
        ω of sine-regression.
    noise : float ≥ 0
        s, the noise standard deviation.
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
        check_real("omega", self.omega, low=0.0, low_open=True)
        check_real("noise", self.noise, low=0.0)
        check_int("width", self.width, low=1)
        rs = check_levels("rs", self.rs)
        object.__setattr__(self, "rs", rs)
        ns = check_increasing_sizes("ns", self.ns, min_count=3, why=" (for the power-law fits)")
        object.__setattr__(self, "ns", ns)
        protocols = check_names("protocols", self.protocols, MLP_SCALING_PROTOCOLS, item="protocol")
        object.__setattr__(self, "protocols", protocols)
        alpha = check_real("alpha", self.alpha, low=0.0, high=1.0, low_open=True, high_open=True)
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
class MLPScalingResult:
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

    def index(self, r, protocol) -> tuple[int, int]:
        """(i, p) of compression level r and protocol in the result arrays."""
        rs = self.config.rs
        matches = [i for i, v in enumerate(rs) if math.isclose(v, float(r), rel_tol=0, abs_tol=1e-12)]
        if not matches:
            raise ValueError(f"r must be one of {rs}, got {r!r}")
        return matches[0], self.config.protocols.index(check_choice("protocol", protocol, self.config.protocols))


def _ro(value, dtype=float):
    arr = np.array(value, dtype=dtype)
    arr.setflags(write=False)
    return arr


def _prune(protocol, g, r, alpha, rng):
    if protocol == "random":
        return prune(g, r, "random", rng=rng)
    if protocol == "sbpa-hard":
        return prune(g, r, "sbpa", keep="highest", rng=rng)
    if protocol == "sbpa-easy":
        return prune(g, r, "sbpa", keep="lowest", rng=rng)
    return prune(g, r, "ec", alpha=alpha, keep="highest", rng=rng)


def _setting(config):
    process = make_process("sine-regression", omega=config.omega, noise=config.noise)
    return process, make_score("distance", process)


def _fit(config, arch, data, g, n, j, r, protocol, theta0, max_iter):
    """Train on the kept points of (n, j) pruned by (r, protocol); the TrainResult."""
    key = (1, n, j, int(round(r * _R_UNIT)), SCALING_PROTOCOLS.index(protocol))
    sel = _prune(protocol, g, r, config.alpha, np.random.SeedSequence(config.seed, spawn_key=key))
    return train(arch, data.x[sel.indices], data.y[sel.indices], sel.weights, optimizer="adam", lr=config.lr,
                 max_iter=max_iter, theta0=theta0)


def _one_n(config, process, score, n):
    """Trained parameters, final training losses and gradient norms for every (r, protocol, j) at one n."""
    arch = config.arch
    shape = (len(config.rs), len(config.protocols), config.replications)
    params, loss, gnorm = np.empty(shape + (arch.n_params,)), np.empty(shape), np.empty(shape)
    for j in range(config.replications):
        data = process.sample(n, rng=np.random.SeedSequence(config.seed, spawn_key=(0, n, j)))
        g = score(data.x)
        theta0 = arch.init(np.random.SeedSequence(config.seed, spawn_key=(2, n, j)))
        for i, r in enumerate(config.rs):
            for p, protocol in enumerate(config.protocols):
                fit = _fit(config, arch, data, g, n, j, r, protocol, theta0, config.max_iter)
                params[i, p, j], loss[i, p, j], gnorm[i, p, j] = fit.params, fit.loss, fit.grad_norm
    return params, loss, gnorm


def class_floor(config: MLPScalingConfig) -> tuple[float, np.ndarray]:
    r"""An upper bound on min_θ L(θ) − s²/2 for the config's network: a long fit on the population.

    Adam (η = 10⁻² for ``FLOOR_STEPS[0]`` steps, then η = 10⁻³ for ``FLOOR_STEPS[1]``) on µ's
    quadrature rule — the population loss itself, no sampling noise — from
    ``SeedSequence(seed, spawn_key=(3,))``. Returns (L(θ_floor) − s²/2, θ_floor). Cached per
    (ω, s, h, seed): it depends on nothing else in the config.
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
    theta = arch.init(np.random.SeedSequence(seed, spawn_key=(3,)))
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
    out = []
    for n, r, protocol, j in cells:
        n, j = check_int("n", n, low=1), check_int("j", j, low=0)
        check_choice("protocol", protocol, config.protocols)
        data = process.sample(n, rng=np.random.SeedSequence(config.seed, spawn_key=(0, n, j)))
        g = score(data.x)
        theta0 = arch.init(np.random.SeedSequence(config.seed, spawn_key=(2, n, j)))
        row = []
        for steps in (config.max_iter, factor * config.max_iter):
            fit = _fit(config, arch, data, g, n, j, r, protocol, theta0, steps)
            row.append(population_loss_grad(arch, fit.params, rule)[0] - 0.5 * config.noise**2)
        out.append(row)
    return np.array(out)


@one_blas_thread
def run_mlp_scaling(config: MLPScalingConfig, results_dir=None, progress: bool = False) -> MLPScalingResult:
    """Run (or reuse ``results_dir/scaling-mlp-<hash>.json``) the experiment of the config.

    For each n and replication j: draw D_n ~ µ^n, score by |x|, draw θ₀, and for every
    (r, protocol) prune, train from θ₀ on the kept points with their weights, and record the
    trained θ̂. Test losses are computed from the stored θ̂ by quadrature. The file is written
    after each n with ``"complete": false`` (a rerun resumes from the missing n) and finally with
    ``"complete": true`` (a rerun reads it and trains nothing).
    """
    from theory_sim.store import read_json

    if not isinstance(config, MLPScalingConfig):
        raise TypeError(f"config must be an MLPScalingConfig, got {type(config).__name__}")
    path = None if results_dir is None else Path(results_dir) / f"scaling-mlp-{config.hash}.json"
    stored = read_json(path) if path is not None else None
    if stored is not None and stored.get("config_hash") != config.hash:
        stored = None
    if stored is not None and stored.get("complete"):
        try:
            return _result_from(config, stored, path)
        except (KeyError, TypeError, ValueError):
            stored = None
    start = time.perf_counter()
    done, floor = {}, None
    elapsed = 0.0
    if stored is not None:
        try:
            done = {int(n): tuple(np.array(v[key], dtype=float) for key in ("params", "train_loss", "grad_norm"))
                    for n, v in stored.get("cells", {}).items()}
            floor = float(stored["floor_excess"]) if "floor_excess" in stored else None
            elapsed = float(stored.get("seconds", 0.0))
        except (KeyError, TypeError, ValueError, AttributeError):
            done, floor, elapsed = {}, None, 0.0
    if floor is None:
        floor = class_floor(config)[0]
    process, score = _setting(config)
    todo = [n for n in config.ns if n not in done]
    for n in todo:
        if progress:
            print(f"scaling-mlp: n={n} ({config.replications} replications)", flush=True)
        done[n] = _one_n(config, process, score, n)
        if path is not None and n != todo[-1]:
            _write(path, config, done, floor, complete=False, seconds=elapsed + time.perf_counter() - start)
    seconds = elapsed + time.perf_counter() - start
    payload = _payload(config, done, floor, complete=True, seconds=seconds)
    if path is not None:
        _write(path, config, done, floor, complete=True, seconds=seconds)
    return _result_from(config, payload, path)


def _payload(config, done, floor, *, complete, seconds):
    from theory_sim.provenance import versions

    cells = {str(n): {"params": done[n][0].tolist(), "train_loss": done[n][1].tolist(),
                      "grad_norm": done[n][2].tolist()} for n in config.ns if n in done}
    return {"kind": "scaling-mlp", "config": config.to_dict(), "config_hash": config.hash, "complete": complete,
            "versions": versions(), "seconds": seconds, "floor_excess": floor, "cells": cells}


def _write(path, config, done, floor, *, complete, seconds):
    from theory_sim.store import atomic_write_json

    atomic_write_json(path, _payload(config, done, floor, complete=complete, seconds=seconds))


def _result_from(config, stored, path):
    """Test losses (µ's quadrature rule, and the doubled rule as a check) from the stored parameters."""
    arch = config.arch
    cells = [stored["cells"][str(n)] for n in config.ns]
    params = np.stack([np.array(c["params"], dtype=float) for c in cells], axis=2)
    expected = (len(config.rs), len(config.protocols), len(config.ns), config.replications, arch.n_params)
    if params.shape != expected:
        raise ValueError(f"stored parameters have shape {params.shape}, expected {expected}")
    train_loss = np.stack([np.array(c["train_loss"], dtype=float) for c in cells], axis=2)
    grad_norm = np.stack([np.array(c["grad_norm"], dtype=float) for c in cells], axis=2)
    process, _ = _setting(config)
    rule = quadrature_rule(process, 1.0)
    fine = quadrature_rule(process, 1.0, nodes=2 * NODES_PER_PANEL)
    flat = params.reshape(-1, arch.n_params)
    test = np.array([population_loss_grad(arch, th, rule)[0] for th in flat])
    check = np.array([population_loss_grad(arch, th, fine)[0] for th in flat])
    bayes = 0.5 * config.noise**2
    test = test.reshape(expected[:-1])
    return MLPScalingResult(config, _ro(test), _ro(test - bayes), _ro(train_loss), _ro(grad_norm), bayes,
                            float(stored["floor_excess"]), float(np.abs(check.reshape(test.shape) - test).max()),
                            float(stored["seconds"]), path)


# ---------------------------------------------------------------------------------------
# Analysis: power laws and plateaus (fit_power_law is theory_sim.experiments.scaling_laws's)
# ---------------------------------------------------------------------------------------
def mlp_plateau(result: MLPScalingResult, r, protocol="sbpa-hard") -> Plateau:
    """Mean excess of ``protocol`` at the largest n with its 95% t-CI over replications.

    Returned as :class:`theory_sim.experiments.scaling_laws.Plateau` with ``predicted_limit`` and ``predicted_at_n``
    NaN: there is no closed-form prediction for a trained network.
    """
    i, p = result.index(r, protocol)
    last = result.excess[i, p, -1]
    reps = last.shape[0]
    mean = float(last.mean())
    half = float(stats.t.ppf(0.975, reps - 1) * last.std(ddof=1) / math.sqrt(reps))
    return Plateau(result.config.ns[-1], mean, mean - half, mean + half, math.nan, math.nan)


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

