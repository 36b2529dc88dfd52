r"""The landscape around a network trained on SBPA-pruned data (claim C7, item 3a).

:func:`run_pruned_landscape` trains a one-hidden-layer tanh network (width 32 by default) on
``sine-regression`` once on an SBPA-pruned sample (the label-free ``distance`` score) and once
on the full sample, from one initialisation, and evaluates L, L_{ν_r} (by quadrature,
:mod:`theory_sim.models.network_population`) and both empirical losses on the line between the
two minimisers and on a plane through θ_pruned spanned by two filter-normalised random
directions (:func:`theory_sim.models.network_population.filter_normalized_direction`, Li et
al. 2018).

Registered as the experiment ``landscape`` (the figure of the same name draws it). Result
file: ``pruned-landscape-<hash>.json``, one unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory_sim.core.processes import make_process
from theory_sim.core.pruning import prune
from theory_sim.core.scores import make_score
from theory_sim.experiments._framework import Experiment, ExperimentConfig, one_blas_thread, register, register_runner
from theory_sim.models.mlp import MLP, train
from theory_sim.models.network_population import (BIAS_MODES, filter_normalized_direction, population_loss_grad,
                                                  quadrature_rule)
from theory_sim.rng import Streams
from theory_sim.store import Store
from theory_sim.validation import budget, check_array, check_choice, check_int, check_real

__all__ = ["LANDSCAPE_LOSSES", "PrunedLandscapeConfig", "PrunedLandscapeResult", "run_pruned_landscape", "SIZES",
           "configs"]

# The streams of the experiment (their ids enter the seeds: never renumber them).
STREAMS = Streams(data=0, pruning=1, init=2, direction1=3, direction2=4)
LANDSCAPE_LOSSES = ("mu", "nu", "train_pruned", "train_full")


@dataclass(frozen=True)
class PrunedLandscapeConfig(ExperimentConfig):
    r"""The landscape around a network trained on an SBPA-pruned sample of sine-regression.

    A sample D_n ~ µ^n (``sine-regression``, ω, s) is pruned by SBPA with the label-free
    ``distance`` score to 0 (``keep='lowest'``: the centre |x| ≤ q_r = r; ``'highest'``: the
    boundary). A one-hidden-layer tanh network of width ``width`` is trained by full-batch
    Adam from one initialisation θ_init, once on the kept points (θ_pruned) and once on all n
    points (θ_full). On the line θ(t) = (1 − t) θ_pruned + t θ_full and on the plane
    θ_pruned + u δ₁ + v δ₂ (δ₁, δ₂ from :func:`filter_normalized_direction`) are evaluated:
    L and L_{ν_r} by quadrature, and the pruned and full training losses.

    Attributes
    ----------
    omega, noise : float
        ω > 0, s ≥ 0.
    n : int
        Sample size before pruning.
    r : float in (0, 1)
        Fraction kept.
    keep : {'lowest', 'highest'}
    width : int ≥ 1
    max_iter : int ≥ 1
        Adam steps for each of the two trainings.
    lr : float > 0
    bias : {'filter', 'zero'}
        How the directions treat biases (:func:`filter_normalized_direction`).
    t_range : (float, float), t_points : int ≥ 3
        The 1-D interpolation's grid (must contain [0, 1]; t = 0 and t = 1 are always grid points).
    uv_extent : float > 0, grid : int ≥ 3 (odd, so that (0, 0) is a grid point)
        The 2-D slice's grid: ``grid`` points on [−uv_extent, uv_extent], the same on both axes.
    seed : int ≥ 0
        Streams (:data:`STREAMS`): sample ← SeedSequence(seed, spawn_key=(0,)); pruning ← (1,);
        θ_init ← (2,); δ₁, δ₂ ← (3,), (4,).
    """

    omega: float = 5.0
    noise: float = 0.1
    n: int = 2000
    r: float = 0.3
    keep: str = "lowest"
    width: int = 32
    max_iter: int = 4000
    lr: float = 1e-2
    bias: str = "filter"
    t_range: tuple = (-0.25, 1.25)
    t_points: int = 61
    uv_extent: float = 1.0
    grid: int = 41
    seed: int = 0

    def __post_init__(self):
        check_real("omega", self.omega, low=0.0, low_open=True)
        check_real("noise", self.noise, low=0.0)
        check_int("n", self.n, low=2)
        r = check_real("r", self.r, low=0.0, high=1.0, low_open=True, high_open=True)
        if budget(r, self.n) < 1:
            raise ValueError(f"n={self.n} is too small for r={r}: the budget floor(r n) must be at least 1")
        check_choice("keep", self.keep, ("lowest", "highest"))
        check_int("width", self.width, low=1)
        check_int("max_iter", self.max_iter, low=1)
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_choice("bias", self.bias, BIAS_MODES)
        check_int("t_points", self.t_points, low=3)
        grid = check_int("grid", self.grid, low=3)
        if grid % 2 == 0:
            raise ValueError(f"grid must be odd so that (u, v) = (0, 0) is a grid point, got {grid}")
        check_int("seed", self.seed, low=0)
        check_real("uv_extent", self.uv_extent, low=0.0, low_open=True)
        for name in ("t_range",):
            pair = tuple(getattr(self, name))
            if len(pair) != 2:
                raise ValueError(f"{name} must be a pair (lo, hi), got {getattr(self, name)!r}")
            lo, hi = (check_real(name, v) for v in pair)
            if not lo < hi:
                raise ValueError(f"{name} must be an increasing pair (lo, hi), got {getattr(self, name)!r}")
            object.__setattr__(self, name, (lo, hi))
        if not (self.t_range[0] <= 0.0 and self.t_range[1] >= 1.0):
            raise ValueError(f"t_range must contain [0, 1] (θ_pruned at t = 0, θ_full at t = 1), "
                             f"got {self.t_range!r}")

    KIND = "pruned-landscape"

    def grids(self) -> tuple[np.ndarray, np.ndarray]:
        """(t, uv): the 1-D grid (with 0 and 1 inserted exactly) and the 2-D axis (0 exact)."""
        t = np.union1d(np.linspace(*self.t_range, self.t_points), [0.0, 1.0])
        uv = np.linspace(-self.uv_extent, self.uv_extent, self.grid)
        uv[self.grid // 2] = 0.0  # the midpoint of a symmetric odd grid (linspace may leave ~1e-17)
        return t, uv


@dataclass(frozen=True, eq=False)
class PrunedLandscapeResult:
    r"""Result of :func:`run_pruned_landscape`.

    Attributes
    ----------
    config : PrunedLandscapeConfig
    arch : MLP
    theta_pruned, theta_full, delta1, delta2 : ndarray, shape (n_params,)
    t : ndarray, shape (T,)
        1-D grid; θ(t) = (1 − t) θ_pruned + t θ_full.
    line : dict of ndarray, shape (T,)
        ``'mu'`` L, ``'nu'`` L_{ν_r} (quadrature, noise s²/2 included), ``'train_pruned'``
        Σ p_i f(z_i) on the kept points, ``'train_full'`` the full empirical loss.
    uv : ndarray, shape (G,)
        Axis of the slice (u and v alike).
    plane : dict of ndarray, shape (G, G)
        The same four losses at θ_pruned + uv[j] δ₁ + uv[i] δ₂: rows follow v, columns u.
    grad_mu, grad_nu : ndarray, shape (n_params,)
        ∇L(θ_pruned), ∇L_{ν_r}(θ_pruned) (exact, by quadrature).
    grad_mu_full, grad_nu_full : ndarray
        The same at θ_full.
    train_grad_norm : (float, float)
        ‖∇ training loss‖ at the end of each training (pruned, full).
    q : float
        q_r of the ``distance`` score.
    seconds : float
    path : Path or None
    """

    config: PrunedLandscapeConfig
    arch: MLP
    theta_pruned: np.ndarray
    theta_full: np.ndarray
    delta1: np.ndarray
    delta2: np.ndarray
    t: np.ndarray
    line: dict
    uv: np.ndarray
    plane: dict
    grad_mu: np.ndarray
    grad_nu: np.ndarray
    grad_mu_full: np.ndarray
    grad_nu_full: np.ndarray
    train_grad_norm: tuple
    q: float
    seconds: float
    path: object = None

    def at(self, name: str, which: str = "pruned") -> float:
        """A loss (``'mu'``, ``'nu'``, ``'train_pruned'``, ``'train_full'``) at θ_pruned (t = 0) or θ_full (t = 1)."""
        t0 = {"pruned": 0.0, "full": 1.0}[check_choice("which", which, ("pruned", "full"))]
        return float(self.line[check_choice("name", name, LANDSCAPE_LOSSES)][np.flatnonzero(self.t == t0)[0]])


_LANDSCAPE_ARRAYS = ("theta_pruned", "theta_full", "delta1", "delta2", "grad_mu", "grad_nu", "grad_mu_full",
                     "grad_nu_full")


def _landscape_losses(arch, theta, rules, data, sel):
    """The four losses at θ: L, L_ν (quadrature) and the pruned and full training losses."""
    rule_mu, rule_nu = rules
    return (population_loss_grad(arch, theta, rule_mu)[0], population_loss_grad(arch, theta, rule_nu)[0],
            float(sel.weights @ arch.losses(theta, data.x[sel.indices], data.y[sel.indices])),
            float(arch.losses(theta, data.x, data.y).mean()))


@dataclass(frozen=True)
class _FullSelection:
    """All n points with weights 1/n (the unpruned training set), shaped like a Selection."""

    n: int

    @property
    def indices(self):
        return np.arange(self.n)

    @property
    def weights(self):
        return np.full(self.n, 1.0 / self.n)



@one_blas_thread
def run_pruned_landscape(config: PrunedLandscapeConfig, results_dir=None) -> PrunedLandscapeResult:
    """Train θ_pruned and θ_full, then evaluate the losses on the line and the plane.

    One unit of work (``"all"``) through the store: ``results_dir/pruned-landscape-<hash>.json``
    is reused when complete.
    """
    if not isinstance(config, PrunedLandscapeConfig):
        raise TypeError(f"config must be a PrunedLandscapeConfig, got {type(config).__name__}")
    arch = MLP(1, (config.width,), "tanh", "mse")
    t, uv = config.grids()

    def compute(unit, shared):
        process = make_process("sine-regression", omega=config.omega, noise=config.noise)
        rules = (quadrature_rule(process, 1.0), quadrature_rule(process, config.r, keep=config.keep))
        data = process.sample(config.n, rng=STREAMS(config.seed, "data"))
        g = make_score("distance", process)(data.x)
        sel = prune(g, config.r, "sbpa", keep=config.keep, rng=STREAMS(config.seed, "pruning"))
        theta_init = arch.init(STREAMS(config.seed, "init"))
        fits = [train(arch, data.x[s.indices], data.y[s.indices], s.weights, optimizer="adam", lr=config.lr,
                      max_iter=config.max_iter, theta0=theta_init) for s in (sel, _FullSelection(config.n))]
        theta_p, theta_f = (np.array(f.params) for f in fits)
        d1, d2 = (filter_normalized_direction(arch, theta_p, STREAMS(config.seed, name), bias=config.bias)
                  for name in ("direction1", "direction2"))
        line = np.array([_landscape_losses(arch, (1.0 - ti) * theta_p + ti * theta_f, rules, data, sel) for ti in t])
        plane = np.empty((4, uv.size, uv.size))
        for i, vi in enumerate(uv):
            for j, uj in enumerate(uv):
                plane[:, i, j] = _landscape_losses(arch, theta_p + uj * d1 + vi * d2, rules, data, sel)
        grads = [population_loss_grad(arch, th, rule)[1] for th in (theta_p, theta_f) for rule in rules]
        return {"theta_pruned": theta_p, "theta_full": theta_f, "delta1": d1, "delta2": d2, "t": t, "uv": uv,
                "grad_mu": grads[0], "grad_nu": grads[1], "grad_mu_full": grads[2], "grad_nu_full": grads[3],
                "train_grad_norm": [fits[0].grad_norm, fits[1].grad_norm], "q": float(rules[1].q),
                "line": {k: line[:, i] for i, k in enumerate(LANDSCAPE_LOSSES)},
                "plane": {k: plane[i] for i, k in enumerate(LANDSCAPE_LOSSES)}}

    def decode(raw):
        out = {k: _stored(k, raw[k], (arch.n_params,)) for k in _LANDSCAPE_ARRAYS}
        out["t"], out["uv"] = _stored("t", raw["t"], t.shape), _stored("uv", raw["uv"], uv.shape)
        out["line"] = {k: _stored(f"line.{k}", raw["line"][k], t.shape) for k in LANDSCAPE_LOSSES}
        out["plane"] = {k: _stored(f"plane.{k}", raw["plane"][k], (uv.size, uv.size)) for k in LANDSCAPE_LOSSES}
        out["train_grad_norm"] = tuple(float(v) for v in _stored("train_grad_norm", raw["train_grad_norm"], (2,)))
        out["q"] = check_real("q", raw["q"], low=0.0)
        return out

    record = Store(results_dir).run(config, units=("all",), compute=compute, decode_unit=decode,
                                    desc="pruned landscape")
    return PrunedLandscapeResult(config, arch, **record.units["all"], seconds=record.seconds, path=record.path)


register_runner(PrunedLandscapeConfig, run_pruned_landscape)


def _stored(name, value, shape):
    """A stored list as a read-only float array of ``shape`` (ValueError/TypeError otherwise)."""
    arr = check_array(name, value, shape=shape)
    arr.setflags(write=False)
    return arr


# Sizes of the experiment (the figure ``landscape`` draws it); "tiny" exercises the one unit.
SIZES = {
    "tiny": dict(n=200, width=4, max_iter=20, t_points=3, grid=3),
    "small": dict(n=1000, width=16, max_iter=1500, t_points=31, grid=21),
    "default": dict(),  # the config's defaults: n = 2000, width 32, 4000 Adam steps, 41 × 41 grid
    "full": dict(n=4000, width=64, max_iter=8000, t_points=121, grid=81),
}


def configs(size: str) -> dict:
    return {"landscape": PrunedLandscapeConfig(**SIZES[size])}


register(Experiment("landscape", "the loss landscape around an SBPA-pruned minimiser (1-D line and "
                    "filter-normalised 2-D slice)", ("C7",), configs, assemble=lambda results: results["landscape"]))
