r"""Validity against width (claim C7a): networks trained on pruned samples, scored on µ by quadrature.

:func:`run_width_validity` trains one-hidden-layer tanh networks of growing width on
``sine-regression`` samples pruned by SBPA (centre or boundary of the label-free ``distance``
score), random pruning and EC, and scores them on µ by 1-D quadrature
(:mod:`theory_sim.models.network_population`): the population loss of the SBPA-trained networks
stays bounded away from the noise floor as the width grows, that of random and EC does not.

:func:`run_width_validity_2d` is C7a's second process: a 2-D classification process
(``gaussian-logistic`` or ``gaussian-mixture``) with the binary cross-entropy loss, scored on µ
by a tensor Gauss–Legendre rule (:mod:`theory_sim.models.network_population_2d`) against the
Bayes risk.

Both run through the store, one unit of work per restart j (``width-validity-<hash>.json``,
``width-validity-2d-<hash>.json``). The registered experiment ``width_validity`` runs both and
:func:`assemble` returns a :class:`WidthValidityResults`. Protocol labels become pruning
arguments in :func:`theory_sim.core.protocols.prune_label` (docs/theory.md, "Protocols").
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from theory_sim.core.processes import make_process
from theory_sim.core.protocols import prune_label
from theory_sim.core.scores import make_score
from theory_sim.experiments._framework import Experiment, ExperimentConfig, one_blas_thread, register, register_runner
from theory_sim.models.batch_training import train_many
from theory_sim.models.mlp import MLP
from theory_sim.models.network_population import NODES_PER_PANEL, population_loss_grad, quadrature_rule
from theory_sim.models.network_population_2d import (CLASSIFICATION_PROCESSES, GAUSS_NODES, bayes_risk_2d,
                                                     ce_loss_bound, gaussian_rule_2d, population_ce_loss)
from theory_sim.rng import Streams
from theory_sim.store import Store
from theory_sim.validation import budget, check_alpha, check_array, check_choice, check_int, check_r, check_real

__all__ = [
    "WIDTH_PROTOCOLS",
    "CLASSIFICATION_PROTOCOLS",
    "WidthValidityConfig",
    "WidthValidityResult",
    "run_width_validity",
    "ClassificationWidthConfig",
    "ClassificationWidthResult",
    "run_width_validity_2d",
    "WidthValidityResults",
    "assemble",
    "SIZES",
    "SIZE_2D",
    "configs",
]

WIDTH_PROTOCOLS = ("random", "ec", "sbpa-centre", "sbpa-boundary")
# "sbpa-margin": SBPA on the margin score keeping its lowest values (its hard end: the points nearest
# the Bayes decision boundary); the others as in WIDTH_PROTOCOLS, on the distance score.
CLASSIFICATION_PROTOCOLS = ("random", "ec", "sbpa-centre", "sbpa-margin", "sbpa-boundary")
# The streams of both experiments (their ids enter the seeds: never renumber them).
STREAMS = Streams(data=0, pruning=1, init=2)


def _check_training(config, allowed) -> None:
    """The checks the two configs share (sample, pruning, widths, protocols, training, seed)."""
    check_int("n", config.n, low=2)
    r = check_r(config.r)
    alpha = check_alpha(config.alpha, allow_one=False)
    if budget(r, config.n) < 1:
        raise ValueError(f"n={config.n} is too small for r={r}: the budget floor(r n) must be at least 1")
    if budget(alpha, budget(r, config.n)) >= budget(r, config.n):
        raise ValueError(f"n={config.n} is too small for r={r}, alpha={alpha}: EC needs 1 <= floor(alpha floor(r n)) "
                         "< floor(r n)")
    widths = tuple(check_int("width", h, low=1) for h in config.widths)
    if not widths:
        raise ValueError("widths must list at least one width, got ()")
    object.__setattr__(config, "widths", widths)
    protocols = tuple(check_choice("protocol", p, allowed) for p in config.protocols)
    if not protocols:
        raise ValueError("protocols must list at least one protocol, got ()")
    object.__setattr__(config, "protocols", protocols)
    check_int("restarts", config.restarts, low=1)
    check_int("max_iter", config.max_iter, low=1)
    check_real("lr", config.lr, low=0.0, low_open=True)
    check_int("seed", config.seed, low=0)


@dataclass(frozen=True)
class WidthValidityConfig(ExperimentConfig):
    r"""Train one-hidden-layer tanh networks of growing width on pruned samples of sine-regression.

    For each restart j: a sample D_n ~ µ^n, pruned by each protocol (``sbpa-centre``: SBPA with
    the ``distance`` score keeping the lowest, A_r = [−r, r]; ``sbpa-boundary``: keeping the
    highest; ``random``; ``ec`` with signal fraction ``alpha`` on the centre score), then for each
    width h a network trained by full-batch Adam on the kept points with their weights, from the
    same initialisation for every protocol (paired). Measured: the population loss
    L(θ̂) = ½ E_µ(v − sin ωx)² + s²/2 by quadrature, and the final pruned training loss.

    Attributes
    ----------
    omega, noise : float
    n : int
        Sample size before pruning.
    r : float in (0, 1]
    alpha : float in [0, 1)
        EC's signal fraction.
    widths : tuple of int
    protocols : tuple of str, from ``WIDTH_PROTOCOLS``
    restarts : int ≥ 1
        Independent (sample, pruning, initialisation) triples per cell; the validity gap is
        estimated by the max over restarts (docs/theory.md, "Experiments").
    max_iter : int ≥ 1
        Adam steps.
    lr : float > 0
    seed : int ≥ 0
        Streams (:data:`STREAMS`): sample j ← SeedSequence(seed, spawn_key=(0, j)); pruning ←
        (1, j, protocol index in ``WIDTH_PROTOCOLS``); initialisation ← (2, j, h).
    """

    omega: float = 5.0
    noise: float = 0.1
    n: int = 2000
    r: float = 0.3
    alpha: float = 0.5
    widths: tuple = (4, 16, 64, 256, 512)
    protocols: tuple = WIDTH_PROTOCOLS
    restarts: int = 3
    max_iter: int = 2000
    lr: float = 1e-2
    seed: int = 0

    def __post_init__(self):
        _check_training(self, WIDTH_PROTOCOLS)
        check_real("omega", self.omega, low=0.0, low_open=True)
        check_real("noise", self.noise, low=0.0)

    KIND = "width-validity"


@dataclass(frozen=True, eq=False)
class WidthValidityResult:
    """Result of :func:`run_width_validity`; arrays have shape (protocols, widths, restarts).

    Attributes
    ----------
    config : WidthValidityConfig
    population_loss : ndarray
        L(θ̂) (noise floor s²/2 included) by quadrature.
    train_loss : ndarray
        The pruned training loss Σ p_i f(z_i; θ̂) at the end of training.
    converged : ndarray of bool
        Adam reached ‖∇L^p‖ ≤ 1e-6 (rare in ``max_iter`` steps; the losses are reported anyway).
    bayes_loss : float
        s²/2, the infimum of L over all functions (and the limit of min L as the width grows).
    quadrature_error : float
        Largest change of L(θ̂) over all runs when the quadrature nodes are doubled (the max
        over the restarts, each a unit of work).
    seconds : float
    path : Path or None
    """

    config: WidthValidityConfig
    population_loss: np.ndarray
    train_loss: np.ndarray
    converged: np.ndarray
    bayes_loss: float
    quadrature_error: float
    seconds: float
    path: object = None

    def excess(self) -> np.ndarray:
        """L(θ̂) − s²/2 ≥ the validity gap L(θ̂) − min L of the width's model class."""
        return self.population_loss - self.bayes_loss


@dataclass(frozen=True)
class ClassificationWidthConfig(ExperimentConfig):
    r"""Width validity (C7a) on a 2-D classification process, binary cross-entropy on the logit.

    For each restart j: D_n ~ µ^n, pruned by each protocol, then for each width h a
    one-hidden-layer tanh network trained by full-batch Adam on the kept points with their
    weights, from the same initialisation for every protocol (paired). Protocols (all scores
    label-free):

    - ``sbpa-centre``: ``distance`` to 0, keep the lowest (a disc around the mean of x);
    - ``sbpa-margin``: ``margin`` |w*·x + b*| w.r.t. the true model, keep the lowest — the
      points nearest the Bayes decision boundary (the "hardest" end of this score);
    - ``sbpa-boundary``: ``distance``, keep the highest (the outside of a disc);
    - ``random``; ``ec`` with signal fraction ``alpha`` on the centre score.

    Measured: L(θ̂) = E_x[softplus(v) − P(y=1|x) v] by :func:`gaussian_rule_2d`, its excess over
    the Bayes risk (:func:`bayes_risk_2d`), and the pruned training loss.

    Attributes
    ----------
    process : {'gaussian-logistic', 'gaussian-mixture'}
        With d = 2 and the process's default parameters.
    n, r, alpha, widths, protocols, restarts, max_iter, lr, seed
        As in :class:`WidthValidityConfig` (streams: sample j ← (0, j); pruning ← (1, j,
        protocol index in ``CLASSIFICATION_PROTOCOLS``); initialisation ← (2, j, h)).
    check_restarts : int ≥ 0
        The rule's error is measured (nodes per panel doubled) on every network of the first
        ``check_restarts`` restarts (the doubled rule costs 4× the base one).

    Notes
    -----
    500 Adam steps (not the 2000 of :class:`WidthValidityConfig`): with cross-entropy on noisy
    labels, 2000 steps let every protocol overfit its 600 points (measured, one restart: random
    pruning's excess ≈ 0.2 at widths 64–512) and grow first-layer weights to |w| ≈ 25, whose
    sharper tanh units need a finer rule (doubling the nodes moved L by up to 3e-4, against
    ≲ 1e-7 after 500 steps). No early stopping on a test set (a pitfall: docs/theory.md,
    "Experiments"): the step count is fixed in advance.
    """

    process: str = "gaussian-logistic"
    n: int = 2000
    r: float = 0.3
    alpha: float = 0.5
    widths: tuple = (4, 16, 64, 256, 512)
    protocols: tuple = ("random", "ec", "sbpa-centre", "sbpa-margin")
    restarts: int = 3
    max_iter: int = 500
    lr: float = 1e-2
    seed: int = 0
    check_restarts: int = 1

    def __post_init__(self):
        check_choice("process", self.process, CLASSIFICATION_PROCESSES)
        _check_training(self, CLASSIFICATION_PROTOCOLS)
        check_int("check_restarts", self.check_restarts, low=0)

    KIND = "width-validity-2d"


@dataclass(frozen=True, eq=False)
class ClassificationWidthResult:
    """Result of :func:`run_width_validity_2d`; arrays have shape (protocols, widths, restarts).

    Attributes
    ----------
    config : ClassificationWidthConfig
    population_loss : ndarray
        L(θ̂) by :func:`gaussian_rule_2d`.
    train_loss : ndarray
        The pruned training loss at the end of training.
    converged : ndarray of bool
    bayes_loss : float
        min L = E[H(P(y = 1 | x))] by the same rule.
    quadrature_error : float
        Largest change of L(θ̂) (and of the Bayes risk) when the nodes per panel are doubled,
        over the checked networks (``check_restarts``).
    tail_bound : float
        max over all networks of sup|f| × ``tail_mass``: bounds the truncation error.
    seconds : float
    path : Path or None
    """

    config: ClassificationWidthConfig
    population_loss: np.ndarray
    train_loss: np.ndarray
    converged: np.ndarray
    bayes_loss: float
    quadrature_error: float
    tail_bound: float
    seconds: float
    path: object = None

    def excess(self) -> np.ndarray:
        """L(θ̂) − min L, the validity gap of each run (min L the Bayes risk)."""
        return self.population_loss - self.bayes_loss


# ---------------------------------------------------------------------------------------
# The runners: one unit of work per restart j
# ---------------------------------------------------------------------------------------
def _trained(config, j, data, select, d, loss, order):
    """(p, w, arch, fit) for every protocol p and width w of restart j (width by width).

    ``select(protocol, rng)`` prunes the sample; ``order`` gives each protocol's stream index."""
    sels = [select(protocol, STREAMS(config.seed, "pruning", j, order.index(protocol))) for protocol in config.protocols]
    jobs = [(data.x[sel.indices], data.y[sel.indices], sel.weights) for sel in sels]
    for w, h in enumerate(config.widths):
        # the protocols of one width: one stacked training (train_many; each fit bitwise train's)
        arch = MLP(d, (h,), "tanh", loss)
        theta0 = arch.init(STREAMS(config.seed, "init", j, h))
        fits = train_many(arch, jobs, theta0=[theta0] * len(jobs), optimizer="adam", lr=config.lr,
                          max_iter=config.max_iter)
        for p, fit in enumerate(fits):
            yield p, w, arch, fit


def _decode_restart(raw, config, bounds):
    """A restart's payload: (protocols, widths) arrays and the non-negative numbers ``bounds``."""
    shape = (len(config.protocols), len(config.widths))
    out = {key: _ro(check_array(key, raw[key], shape=shape, allow_nan=True))
           for key in ("population_loss", "train_loss")}
    converged = np.asarray(raw["converged"])
    if converged.shape != shape or converged.dtype != bool:
        raise TypeError(f"converged must be a {shape} array of true or false")
    out["converged"] = converged
    for key in bounds:
        out[key] = check_real(key, raw[key], low=0.0)
    return out


def _cells(config):
    """Empty (protocols, widths) arrays: population loss, training loss, converged."""
    shape = (len(config.protocols), len(config.widths))
    return np.empty(shape), np.empty(shape), np.zeros(shape, dtype=bool)


def _stack(units, key):
    """The (protocols, widths) arrays of the restarts, stacked to (protocols, widths, restarts)."""
    return _ro(np.stack([u[key] for u in units.values()], axis=-1))


def _ro(arr):
    arr = np.array(arr)
    arr.setflags(write=False)
    return arr


@one_blas_thread
def run_width_validity(config: WidthValidityConfig, results_dir=None) -> WidthValidityResult:
    """Run (or reuse, or resume) ``results_dir/width-validity-<hash>.json``: one unit per restart."""
    if not isinstance(config, WidthValidityConfig):
        raise TypeError(f"config must be a WidthValidityConfig, got {type(config).__name__}")
    process = make_process("sine-regression", omega=config.omega, noise=config.noise)
    score = make_score("distance", process)

    @functools.cache
    def rules():
        return quadrature_rule(process, 1.0), quadrature_rule(process, 1.0, nodes=2 * NODES_PER_PANEL)

    def compute(j, shared):
        rule, fine = rules()
        data = process.sample(config.n, rng=STREAMS(config.seed, "data", j))
        g = score(data.x)

        def select(protocol, rng):
            # distance: the centre is the score's easy end, and EC keeps the centre too (calibrated="easy")
            return prune_label(protocol, g, config.r, hard=score.hard, calibrated="easy", alpha=config.alpha,
                               rng=rng)

        pop, trn, conv = _cells(config)
        quad_err = 0.0
        for p, w, arch, fit in _trained(config, j, data, select, 1, "mse", WIDTH_PROTOCOLS):
            pop[p, w] = population_loss_grad(arch, fit.params, rule)[0]
            quad_err = max(quad_err, abs(population_loss_grad(arch, fit.params, fine)[0] - pop[p, w]))
            trn[p, w], conv[p, w] = fit.loss, fit.converged
        return {"population_loss": pop, "train_loss": trn, "converged": conv, "quadrature_error": quad_err}

    record = Store(results_dir).run(config, units=range(config.restarts), compute=compute,
                                    decode_unit=functools.partial(_decode_restart, config=config,
                                                                  bounds=("quadrature_error",)),
                                    desc="width validity")
    units = record.units
    quad_err = max(u["quadrature_error"] for u in units.values())
    return WidthValidityResult(config, _stack(units, "population_loss"), _stack(units, "train_loss"),
                               _stack(units, "converged"), 0.5 * config.noise**2, quad_err, record.seconds,
                               record.path)



@one_blas_thread
def run_width_validity_2d(config: ClassificationWidthConfig, results_dir=None) -> ClassificationWidthResult:
    """Run (or reuse, or resume) ``results_dir/width-validity-2d-<hash>.json``: one unit per restart.

    The shared part (computed once) is the Bayes risk and its rule's error."""
    if not isinstance(config, ClassificationWidthConfig):
        raise TypeError(f"config must be a ClassificationWidthConfig, got {type(config).__name__}")
    process = make_process(config.process, d=2)
    g_dist, g_margin = make_score("distance", process), make_score("margin", process)

    @functools.cache
    def rules():
        return gaussian_rule_2d(process), gaussian_rule_2d(process, nodes=2 * GAUSS_NODES)

    def shared():
        rule, fine = rules()
        bayes = bayes_risk_2d(rule)
        return {"bayes_loss": bayes, "quadrature_error": abs(bayes_risk_2d(fine) - bayes)}

    def compute(j, shared):
        rule, fine = rules()
        data = process.sample(config.n, rng=STREAMS(config.seed, "data", j))
        gd, gm = g_dist(data.x), g_margin(data.x)

        def select(protocol, rng):
            if protocol == "sbpa-margin":  # the margin score's hard end: nearest the decision boundary
                return prune_label("sbpa-hard", gm, config.r, hard=g_margin.hard, rng=rng)
            return prune_label(protocol, gd, config.r, hard=g_dist.hard, calibrated="easy", alpha=config.alpha,
                               rng=rng)

        pop, trn, conv = _cells(config)
        quad_err = tail = 0.0
        for p, w, arch, fit in _trained(config, j, data, select, 2, "cross-entropy", CLASSIFICATION_PROTOCOLS):
            pop[p, w] = population_ce_loss(arch, fit.params, rule)
            if j < config.check_restarts:
                quad_err = max(quad_err, abs(population_ce_loss(arch, fit.params, fine) - pop[p, w]))
            tail = max(tail, ce_loss_bound(arch, fit.params) * rule.tail_mass)
            trn[p, w], conv[p, w] = fit.loss, fit.converged
        return {"population_loss": pop, "train_loss": trn, "converged": conv, "quadrature_error": quad_err,
                "tail_bound": tail}

    record = Store(results_dir).run(config, units=range(config.restarts), compute=compute, shared=shared,
                                    decode_shared=_decode_bayes,
                                    decode_unit=functools.partial(_decode_restart, config=config,
                                                                  bounds=("quadrature_error", "tail_bound")),
                                    desc="width validity 2-D")
    units, bayes = record.units, record.shared
    quad_err = max([bayes["quadrature_error"]] + [u["quadrature_error"] for u in units.values()])
    tail = max(u["tail_bound"] for u in units.values())
    return ClassificationWidthResult(config, _stack(units, "population_loss"), _stack(units, "train_loss"),
                                     _stack(units, "converged"), bayes["bayes_loss"], quad_err, tail,
                                     record.seconds, record.path)


register_runner(WidthValidityConfig, run_width_validity)
register_runner(ClassificationWidthConfig, run_width_validity_2d)


def _decode_bayes(raw):
    return {"bayes_loss": check_real("bayes_loss", raw["bayes_loss"], low=0.0),
            "quadrature_error": check_real("quadrature_error", raw["quadrature_error"], low=0.0)}


# ---------------------------------------------------------------------------------------
# The registered experiment: both processes, assembled for the figure and the claims
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class WidthValidityResults:
    """Both experiments of ``width_validity``. ``config`` and ``excess()`` are the sine-regression
    result's, so that readers of the single-process result (the report's evidence) keep working."""

    sine: WidthValidityResult
    classification: ClassificationWidthResult

    @property
    def config(self):
        return self.sine.config

    def excess(self):
        return self.sine.excess()


def assemble(results: dict) -> WidthValidityResults:
    """``{"sine": ..., "classification": ...}`` (the results of :func:`configs`) as one holder."""
    return WidthValidityResults(results["sine"], results["classification"])


# Sizes; "tiny" runs every protocol and two restarts (one with the rule's check, one without).
SIZES = {
    "tiny": dict(n=200, widths=(2,), restarts=2, max_iter=10),
    "small": dict(n=1000, widths=(4, 16, 64), restarts=2, max_iter=600),
    "default": dict(n=2000, widths=(4, 16, 64, 256, 512), restarts=3, max_iter=2000),
    "full": dict(n=4000, widths=(4, 8, 16, 32, 64, 128, 256, 512), restarts=5, max_iter=4000),
}
SIZE_2D = {
    "tiny": dict(n=200, widths=(2,), restarts=2, max_iter=10, protocols=CLASSIFICATION_PROTOCOLS),
    "small": dict(n=1000, widths=(4, 16, 64), restarts=2, max_iter=300),
    "default": dict(n=2000, widths=(4, 16, 64, 256, 512), restarts=3, max_iter=500),
    "full": dict(n=4000, widths=(4, 8, 16, 32, 64, 128, 256, 512), restarts=5, max_iter=500, check_restarts=5),
}


def configs(size: str) -> dict:
    return {"sine": WidthValidityConfig(**SIZES[size]), "classification": ClassificationWidthConfig(**SIZE_2D[size])}


register(Experiment("width_validity", "population loss of MLPs trained on pruned data vs width (sine-regression "
                    "and 2-D classification)", ("C7",), configs, assemble=assemble))
