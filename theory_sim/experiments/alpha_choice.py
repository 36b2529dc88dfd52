r"""The alpha_choice experiment: α chosen from the data against the oracle α* (docs/theory.md, "Choosing α").

Setting: the least-squares line on ``sine-regression`` (exact test loss by quadrature,
:class:`theory_sim.models.polynomial.PolynomialProblem`), the label-free ``distance`` score |x|, the
score-based part of EC and AC at the hard end (highest |x|). For each n and replication j: draw
D_n; fit a pilot line on a random subset of ⌈pilot · n⌉ points; whiten its per-point gradients
φ(x_i)(y_i − φ(x_i)ᵀw_pilot) by the empirical H = mean φφᵀ over D_n; choose α̂ by the Neyman-type
rule (EC), the bias-variance rule (AC) and the cross-fitted rule (both); fit EC and AC at **every**
α of the grid with one pruning stream (common random numbers), so the regret of any rule,
L(θ̂_{α̂}) − L(θ̂_{α*}), is a paired difference on the same D_n and the same exploration draw.

The oracle α* is :func:`theory_sim.choose_alpha` with ``rule="oracle"`` on the population: the
quadrature nodes of µ with the noise as a two-point rule ±s (exact for second moments), values the
whitened gradients at the population minimiser, for a data set of size n. Half its profile is the
predicted excess loss (the same quantity as ``PolynomialProblem.predict("ec", …)``, computed apart).
Each setting states its prediction before it is measured: ``interior`` (ω = 3, s = 0.3, r = 0.3:
v/σ² at |x| = 1 exceeds 1/r, α* = 0.3, 10% below random) and ``zero`` (ω = 5, s = 0.5, r = 0.2:
α* = 0, random pruning is best; the negative control of the "calibration beats random" verdict).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from theory_sim.core.alpha_choice import choose_alpha
from theory_sim.core.processes import make_process
from theory_sim.core.pruning import prune
from theory_sim.experiments._framework import Experiment, ExperimentConfig, one_blas_thread, register, register_runner
from theory_sim.numerics.quadrature import gauss_legendre
from theory_sim.models.polynomial import PolynomialProblem, fit_polynomial, legendre_features
from theory_sim.rng import Streams
from theory_sim.stats import fit_power_law, t_summary
from theory_sim.store import Store, number_array
from theory_sim.validation import check_increasing_sizes, check_int, check_real

__all__ = ["AlphaChoiceConfig", "AlphaChoiceResult", "EC_ALPHAS", "AC_ALPHAS", "RULES", "oracle_profile",
           "run_alpha_choice", "configs", "summary"]

STREAMS = Streams(data=0, pilot=1, pruning=2, folds=3)
EC_ALPHAS = tuple(round(0.1 * i, 1) for i in range(10))  # 0 … 0.9
AC_ALPHAS = EC_ALPHAS + (1.0,)
RULES = ("neyman", "cv-ec", "bias-variance", "cv-ac")  # the order of AlphaChoiceResult.chosen's last axis


@dataclass(frozen=True)
class AlphaChoiceConfig(ExperimentConfig):
    """One setting: sine-regression (ω, s), compression r, sizes ns, replications, pilot fraction, CV folds."""

    omega: float = 3.0
    noise: float = 0.3
    r: float = 0.3
    ns: tuple = (100, 300, 1000, 3000)
    reps: int = 100
    pilot: float = 0.2
    folds: int = 5
    seed: int = 0

    KIND = "alpha-choice"

    def __post_init__(self):
        check_real("omega", self.omega, low=0.0, low_open=True)
        check_real("noise", self.noise, low=0.0, low_open=True)
        check_real("r", self.r, low=0.0, high=1.0, low_open=True, high_open=True)
        object.__setattr__(self, "ns", check_increasing_sizes("ns", self.ns, min_count=3))
        if math.floor(self.r * self.ns[0] * (self.folds - 1) / self.folds) < 10:
            raise ValueError(f"ns[0]={self.ns[0]} is too small for r={self.r}: a pruned fold keeps fewer than 10 points")
        check_int("reps", self.reps, low=2)
        check_real("pilot", self.pilot, low=0.0, high=1.0, low_open=True)
        check_int("folds", self.folds, low=2)
        check_int("seed", self.seed, low=0)


@dataclass(frozen=True, eq=False)
class AlphaChoiceResult:
    """excess_ec (n, rep, α of EC_ALPHAS), excess_ac (n, rep, α of AC_ALPHAS): L(θ̂) − min L, exact;
    chosen (n, rep, rule of RULES): index of α̂ in its grid; oracle_ec, oracle_ac (n,): index of α*;
    predicted_ec (n, α), predicted_ac (n, α): the oracle's predicted excess (half its profile)."""

    config: AlphaChoiceConfig
    excess_ec: np.ndarray
    excess_ac: np.ndarray
    chosen: np.ndarray
    oracle_ec: np.ndarray
    oracle_ac: np.ndarray
    predicted_ec: np.ndarray
    predicted_ac: np.ndarray
    seconds: float
    path: object = None


def _whitened(phi, resid, h):
    return (phi * resid[:, None]) @ np.linalg.cholesky(np.linalg.inv(h))


def oracle_profile(config, protocol, n):
    """choose_alpha's oracle on the population (quadrature nodes × noise ±s) for a data set of size n."""
    prob = PolynomialProblem(config.omega, config.noise, 1)
    # panels with edges at |x| = 1 − α r for every α of the grid, so each stratum is a union of whole panels
    edges = sorted({0.0, 1.0} | {1.0 - a * config.r for a in AC_ALPHAS})
    half = [(lo, hi) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]
    x, q = gauss_legendre(tuple(half) + tuple((-hi, -lo) for lo, hi in half), 16, 0.05)
    q = q / q.sum()
    phi = prob.phi(x)
    u = np.sin(config.omega * x) - phi @ prob.w_mu
    values = _whitened(np.r_[phi, phi], np.r_[u + config.noise, u - config.noise], prob.h_mu)
    alphas = EC_ALPHAS if protocol == "ec" else AC_ALPHAS
    return choose_alpha(np.abs(np.r_[x, x]), values, config.r, protocol, "oracle", keep="highest", alphas=alphas,
                        sample_weight=np.r_[q, q] / 2, n=n)


def _one_rep(config, prob, process, n, j):
    data = process.sample(n, rng=STREAMS(config.seed, "data", n, j))
    x, y = data.x[:, 0], data.y
    g = np.abs(x)
    phi = legendre_features(x, 1)
    pilot_rng = np.random.default_rng(STREAMS(config.seed, "pilot", n, j))
    pilot = pilot_rng.choice(n, size=max(4, math.ceil(config.pilot * n)), replace=False)
    w_pilot = fit_polynomial(x[pilot], y[pilot], np.full(pilot.size, 1.0 / pilot.size), 1)
    values = _whitened(phi, y - phi @ w_pilot, phi.T @ phi / n)
    prune_seed = int(np.random.default_rng(STREAMS(config.seed, "pruning", n, j)).integers(2**63))
    out = {}
    for protocol, alphas in (("ec", EC_ALPHAS), ("ac", AC_ALPHAS)):
        excess = []
        for a in alphas:
            sel = prune(g, config.r, protocol, alpha=a, keep="highest", rng=prune_seed)
            excess.append(float(prob.excess(fit_polynomial(x[sel.indices], y[sel.indices], sel.weights, 1))))
        out[protocol] = excess

    def evaluate(train_idx, weights, test_idx):
        w = fit_polynomial(x[train_idx], y[train_idx], weights, 1)
        return 0.5 * float(np.mean((phi[test_idx] @ w - y[test_idx]) ** 2))

    folds_rng = np.random.default_rng(STREAMS(config.seed, "folds", n, j))
    picks = [choose_alpha(g, values, config.r, "ec", keep="highest", alphas=EC_ALPHAS).alpha,
             choose_alpha(g, evaluate, config.r, "ec", "cv", keep="highest", alphas=EC_ALPHAS, folds=config.folds,
                          rng=folds_rng).alpha,
             choose_alpha(g, values, config.r, "ac", keep="highest", alphas=AC_ALPHAS).alpha,
             choose_alpha(g, evaluate, config.r, "ac", "cv", keep="highest", alphas=AC_ALPHAS, folds=config.folds,
                          rng=folds_rng).alpha]
    grids = (EC_ALPHAS, EC_ALPHAS, AC_ALPHAS, AC_ALPHAS)
    chosen = [float(grid.index(a)) for grid, a in zip(grids, picks)]
    return out["ec"] + out["ac"] + chosen


@one_blas_thread
def run_alpha_choice(config: AlphaChoiceConfig, results_dir=None) -> AlphaChoiceResult:
    """Run (or reuse, or resume) the config; one unit of the store per n."""
    if not isinstance(config, AlphaChoiceConfig):
        raise TypeError(f"config must be an AlphaChoiceConfig, got {type(config).__name__}")
    process = make_process("sine-regression", omega=config.omega, noise=config.noise)
    prob = PolynomialProblem(config.omega, config.noise, 1)
    width = len(EC_ALPHAS) + len(AC_ALPHAS) + len(RULES)
    record = Store(results_dir).run(
        config, units=config.ns, compute=lambda n, _: [_one_rep(config, prob, process, n, j) for j in range(config.reps)],
        decode_unit=lambda raw: number_array(raw, "unit", shape=(config.reps, width)), desc="alpha-choice")
    seconds = record.seconds
    table = np.stack([record.units[n] for n in config.ns])
    e, a = len(EC_ALPHAS), len(AC_ALPHAS)
    oracles = {p: [oracle_profile(config, p, n) for n in config.ns] for p in ("ec", "ac")}
    return AlphaChoiceResult(
        config, table[..., :e], table[..., e:e + a], table[..., e + a:].astype(int),
        np.array([c.alphas.tolist().index(c.alpha) for c in oracles["ec"]]),
        np.array([c.alphas.tolist().index(c.alpha) for c in oracles["ac"]]),
        np.array([0.5 * c.profile for c in oracles["ec"]]), np.array([0.5 * c.profile for c in oracles["ac"]]),
        seconds, record.path)


register_runner(AlphaChoiceConfig, run_alpha_choice)


def _grid_excess(result, rule):
    """(measured excess at every α of the rule's protocol, predicted excess, oracle index) for rule index ``rule``."""
    if RULES[rule] in ("neyman", "cv-ec"):
        return result.excess_ec, result.predicted_ec, result.oracle_ec
    return result.excess_ac, result.predicted_ac, result.oracle_ac


def _interval(values):
    t = t_summary(values)
    return {"mean": float(t.mean), "ci_low": float(t.ci_low), "ci_high": float(t.ci_high)}


def summary(result: AlphaChoiceResult) -> dict:
    """Per rule: the paired measured regret L(θ̂_α̂) − L(θ̂_α*) per n (t 95% interval), the profile regret
    (predicted excess at α̂ minus at α*: the part due to α̂ alone, without the fit's noise) and its
    power-law rate; and calibrated pruning against random on the same D_n: EC at α* and at the
    Neyman α̂ minus random (α = 0), paired t 95% intervals per n (negative: calibration wins)."""
    ns = result.config.ns
    reps = np.arange(result.config.reps)
    out = {"ns": list(ns), "alpha_star_ec": [EC_ALPHAS[i] for i in result.oracle_ec],
           "alpha_star_ac": [AC_ALPHAS[i] for i in result.oracle_ac], "rules": {}}
    for k, rule in enumerate(RULES):
        excess, predicted, oracle = _grid_excess(result, k)
        chosen = result.chosen[..., k]
        measured = np.stack([excess[i, reps, chosen[i]] - excess[i, :, oracle[i]] for i in range(len(ns))])
        profile = np.stack([predicted[i, chosen[i]] - predicted[i, oracle[i]] for i in range(len(ns))])
        entry = {"measured": [_interval(m) for m in measured], "profile_mean": profile.mean(axis=1).tolist(),
                 "alpha_hat_mean": [float(np.mean(np.asarray(EC_ALPHAS if k < 2 else AC_ALPHAS)[c])) for c in chosen],
                 }
        for key, values in (("rate", profile), ("measured_rate", measured)):
            entry[key] = None
            if (values.mean(axis=1) > 0).all() and (values.std(axis=1) > 0).all():
                fit = fit_power_law(ns, values)
                entry[key] = {"slope": fit.slope, "ci_low": fit.ci_low, "ci_high": fit.ci_high}
        out["rules"][rule] = entry
    ec = result.excess_ec
    neyman = result.chosen[..., 0]
    out["ec_star_minus_random"] = [_interval(ec[i, :, result.oracle_ec[i]] - ec[i, :, 0]) for i in range(len(ns))]
    out["ec_neyman_minus_random"] = [_interval(ec[i, reps, neyman[i]] - ec[i, :, 0]) for i in range(len(ns))]
    out["random_excess"] = [_interval(ec[i, :, 0]) for i in range(len(ns))]
    return out

SETTINGS = {"interior": dict(omega=3.0, noise=0.3, r=0.3), "zero": dict(omega=5.0, noise=0.5, r=0.2)}
SIZES = {"tiny": dict(ns=(70, 80, 100), reps=2), "small": dict(ns=(100, 300, 1000), reps=40),
         "default": dict(ns=(100, 300, 1000, 3000), reps=200),
         "full": dict(ns=(100, 300, 1000, 3000, 10000), reps=1000)}


def configs(size: str) -> dict:
    return {name: AlphaChoiceConfig(**setting, **SIZES[size], seed=13) for name, setting in SETTINGS.items()}


register(Experiment("alpha_choice", "regret of the rules choosing α (Neyman, bias-variance, cross-fitted) "
                    "against the oracle α*, on two sine-regression settings (α* interior, α* = 0)", ("C12",), configs))
