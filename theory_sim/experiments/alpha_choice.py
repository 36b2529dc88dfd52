r"""The alpha_choice experiment: α chosen from the data against the oracle α* (docs/theory.md, "Choosing α").

Two process families (:data:`MODELS`), one code path:

- ``line``: the least-squares line on ``sine-regression`` (ω, s; exact test loss by quadrature,
  :class:`theory_sim.models.polynomial.PolynomialProblem`), the label-free ``distance`` score |x|;
- ``logistic``: logistic regression on ``gaussian-logistic`` (d = 2, the default truth), a score of the
  truth's logit (``el2n``, ``margin``, ``loss``, ``entropy``), fitted over the ball W
  (:mod:`theory_sim.models.logistic_ball`, all the subsets of a data set at once); its exact test loss by
  :func:`theory_sim.models.logistic_prediction.gaussian_logistic_excess`.

The score-based part of EC and AC is at the score's hard end. For each n and replication j: draw D_n; fit
a pilot on a random subset of ⌈pilot · n⌉ points; whiten its per-point gradients by the empirical Hessian
over D_n (:func:`theory_sim.core.alpha_choice.whiten`); choose α̂ by the Neyman-type rule (EC), the
bias-variance rule (AC) and the cross-fitted rule (both); fit EC and AC at **every** α of the grid with one
pruning stream (common random numbers), so the regret of any rule, L(θ̂_{α̂}) − L(θ̂_{α*}), is a paired
difference on the same D_n and the same exploration draw.

The oracle α* is :func:`theory_sim.choose_alpha` with ``rule="oracle"`` on the population, for a data set
of size n, from the model-agnostic triple of a population rule: the scores at its nodes, the per-point
gradients at the population minimiser and the Hessian there (line: Gauss–Legendre nodes of µ with the noise
as a two-point rule ±s, exact for second moments; logistic:
:func:`theory_sim.models.logistic_prediction.population_gradients`); the nodes' panels have edges at the
strata's thresholds. Half its profile is the predicted excess loss. Each setting of :data:`SETTINGS` is
predicted in docs/theory.md ("Choosing α") before it is measured.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from theory_sim.core.alpha_choice import choose_alpha, whiten
from theory_sim.core.processes import make_process
from theory_sim.core.pruning import prune
from theory_sim.core.scores import make_score
from theory_sim.experiments._framework import Experiment, ExperimentConfig, one_blas_thread, register, register_runner
from theory_sim.models.logistic_ball import fit_logistic_ball, fit_logistic_ball_many, logistic_gradients
from theory_sim.models.logistic_prediction import gaussian_logistic_excess, population_gradients
from theory_sim.numerics.quadrature import gauss_legendre
from theory_sim.models.polynomial import PolynomialProblem, fit_polynomial, legendre_features
from theory_sim.rng import Streams
from theory_sim.stats import fit_power_law, t_summary
from theory_sim.store import Store, number_array
from theory_sim.validation import check_choice, check_increasing_sizes, check_int, check_real

__all__ = ["AlphaChoiceConfig", "AlphaChoiceResult", "EC_ALPHAS", "AC_ALPHAS", "MODELS", "RULES", "SETTINGS",
           "oracle_profile", "population", "relative_gain", "run_alpha_choice", "configs", "summary"]

STREAMS = Streams(data=0, pilot=1, pruning=2, folds=3)
EC_ALPHAS = tuple(round(0.1 * i, 1) for i in range(10))  # 0 … 0.9
AC_ALPHAS = EC_ALPHAS + (1.0,)
RULES = ("neyman", "cv-ec", "bias-variance", "cv-ac")  # the order of AlphaChoiceResult.chosen's last axis
MODELS = ("line", "logistic")
LOGISTIC_SCORES = ("margin", "entropy", "el2n", "loss")  # scores of the truth's logit: an exact population rule


@dataclass(frozen=True)
class AlphaChoiceConfig(ExperimentConfig):
    """One setting: the model family (``line``: sine-regression (ω, s) with the distance score; ``logistic``:
    gaussian-logistic with ``score``), compression r, sizes ns, replications, pilot fraction, CV folds."""

    omega: float | None = None  # line only (default 3.0)
    noise: float | None = None  # line only (default 0.3)
    r: float = 0.3
    ns: tuple = (100, 300, 1000, 3000)
    reps: int = 100
    pilot: float = 0.2
    folds: int = 5
    seed: int = 0
    model: str = "line"
    score: str = "distance"

    KIND = "alpha-choice"
    ADDED_FIELDS = {"model": "line", "score": "distance"}  # the line's configs keep their hashes

    def __post_init__(self):
        check_choice("model", self.model, MODELS)
        if self.model == "line":
            if self.score != "distance":
                raise ValueError(f"score must be 'distance' for model 'line' (|x|, its exact law), got {self.score!r}")
            object.__setattr__(self, "omega", 3.0 if self.omega is None else self.omega)
            object.__setattr__(self, "noise", 0.3 if self.noise is None else self.noise)
            check_real("omega", self.omega, low=0.0, low_open=True)
            check_real("noise", self.noise, low=0.0, low_open=True)
        else:
            for name in ("omega", "noise"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name} applies to model 'line' (sine-regression) only; for model "
                                     f"{self.model!r} leave it None, got {getattr(self, name)!r}")
            check_choice("score", self.score, LOGISTIC_SCORES)
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


# ---------------------------------------------------------------------------------------
# The two model families: what differs between them (the rest is one code path)
# ---------------------------------------------------------------------------------------
class _Line:
    """The least-squares line on sine-regression, the distance score |x| (hard end: highest)."""

    def __init__(self, config):
        self.config = config
        self.process = make_process("sine-regression", omega=config.omega, noise=config.noise)
        self.prob = PolynomialProblem(config.omega, config.noise, 1)
        self.keep = "highest"

    def scores(self, data):
        return np.abs(data.x[:, 0])

    def pilot(self, data, pilot):
        """(pilot fit, whitened per-point gradients over D_n)."""
        x, y = data.x[:, 0], data.y
        phi = legendre_features(x, 1)
        w_pilot = fit_polynomial(x[pilot], y[pilot], np.full(pilot.size, 1.0 / pilot.size), 1)
        return w_pilot, whiten(phi * (y - phi @ w_pilot)[:, None], phi.T @ phi / len(y))

    def excess(self, data, selections, start):
        x, y = data.x[:, 0], data.y
        return [float(self.prob.excess(fit_polynomial(x[s.indices], y[s.indices], s.weights, 1))) for s in selections]

    def evaluator(self, data, start):
        x, y = data.x[:, 0], data.y
        phi = legendre_features(x, 1)

        def evaluate(train_idx, weights, test_idx):
            w = fit_polynomial(x[train_idx], y[train_idx], weights, 1)
            return 0.5 * float(np.mean((phi[test_idx] @ w - y[test_idx]) ** 2))
        return evaluate, False

    def population(self):
        """Gauss–Legendre nodes of µ × the noise ±s, panel edges at |x| = 1 − α r for every α of the grid."""
        config, prob = self.config, self.prob
        edges = sorted({0.0, 1.0} | {1.0 - a * config.r for a in AC_ALPHAS})
        half = [(lo, hi) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]
        x, q = gauss_legendre(tuple(half) + tuple((-hi, -lo) for lo, hi in half), 16, 0.05)
        q = q / q.sum()
        phi = prob.phi(x)
        u = np.sin(config.omega * x) - phi @ prob.w_mu
        grads = np.r_[phi, phi] * np.r_[u + config.noise, u - config.noise][:, None]
        return np.abs(np.r_[x, x]), grads, np.r_[q, q] / 2, prob.h_mu


class _Logistic:
    """Logistic regression on gaussian-logistic (d = 2), a score of the truth's logit at its hard end."""

    def __init__(self, config):
        self.config = config
        self.process = make_process("gaussian-logistic")
        self.score = make_score(config.score, self.process)
        self.keep = self.score.hard

    def scores(self, data):
        return self.score(data.x) if self.score.label_free else self.score(data.x, data.y)

    def pilot(self, data, pilot):
        theta = fit_logistic_ball(data.x[pilot], data.y[pilot], np.full(pilot.size, 1.0 / pilot.size))
        return theta, whiten(*logistic_gradients(data.x, data.y, theta))

    def excess(self, data, selections, start):
        subsets = [(s.indices, np.asarray(s.weights)) for s in selections]
        return gaussian_logistic_excess(self.process, fit_logistic_ball_many(data.x, data.y, subsets, start)).tolist()

    def evaluator(self, data, start):
        x, y = data.x, data.y

        def evaluate(trains, weights, tests):  # every (fold, α) at once
            thetas = fit_logistic_ball_many(x, y, [(i, np.asarray(w)) for i, w in zip(trains, weights)], start)
            return [float(np.mean(np.logaddexp(0.0, (1.0 - 2.0 * y[t]) * (x[t] @ th[:-1] + th[-1]))))
                    for th, t in zip(thetas, tests)]
        return evaluate, True

    def population(self):
        return population_gradients(self.process, self.score, self.keep, [a * self.config.r for a in AC_ALPHAS])


@functools.lru_cache(maxsize=32)
def _family(config):
    return (_Line if config.model == "line" else _Logistic)(config)


@functools.lru_cache(maxsize=32)
def population(config):
    """The population rule of the config's family for the oracle: (scores, per-point gradients at the population
    minimiser, weights summing to 1, Hessian); the strata {g beyond the threshold of mass α r} are whole panels."""
    return _family(config).population()


def oracle_profile(config, protocol, n):
    """choose_alpha's oracle on the population (:func:`population`, gradients whitened by the Hessian) for a data
    set of size n: model-agnostic, the same for every family."""
    g, grads, weights, hess = population(config)
    alphas = EC_ALPHAS if protocol == "ec" else AC_ALPHAS
    return choose_alpha(g, whiten(grads, hess), config.r, protocol, "oracle", keep=_family(config).keep,
                        alphas=alphas, sample_weight=weights, n=n)


def _one_rep(config, fam, n, j):
    data = fam.process.sample(n, rng=STREAMS(config.seed, "data", n, j))
    g = fam.scores(data)
    pilot_rng = np.random.default_rng(STREAMS(config.seed, "pilot", n, j))
    pilot = pilot_rng.choice(n, size=max(4, math.ceil(config.pilot * n)), replace=False)
    start, values = fam.pilot(data, pilot)
    prune_seed = int(np.random.default_rng(STREAMS(config.seed, "pruning", n, j)).integers(2**63))
    selections = [prune(g, config.r, protocol, alpha=a, keep=fam.keep, rng=prune_seed)
                  for protocol, alphas in (("ec", EC_ALPHAS), ("ac", AC_ALPHAS)) for a in alphas]
    excess = fam.excess(data, selections, start)
    evaluate, batch = fam.evaluator(data, start)
    folds_rng = np.random.default_rng(STREAMS(config.seed, "folds", n, j))
    keep = fam.keep
    picks = [choose_alpha(g, values, config.r, "ec", keep=keep, alphas=EC_ALPHAS).alpha,
             choose_alpha(g, evaluate, config.r, "ec", "cv", keep=keep, alphas=EC_ALPHAS, folds=config.folds,
                          rng=folds_rng, batch=batch).alpha,
             choose_alpha(g, values, config.r, "ac", keep=keep, alphas=AC_ALPHAS).alpha,
             choose_alpha(g, evaluate, config.r, "ac", "cv", keep=keep, alphas=AC_ALPHAS, folds=config.folds,
                          rng=folds_rng, batch=batch).alpha]
    grids = (EC_ALPHAS, EC_ALPHAS, AC_ALPHAS, AC_ALPHAS)
    chosen = [float(grid.index(a)) for grid, a in zip(grids, picks)]
    return excess + chosen


@one_blas_thread
def run_alpha_choice(config: AlphaChoiceConfig, results_dir=None) -> AlphaChoiceResult:
    """Run (or reuse, or resume) the config; one unit of the store per n."""
    if not isinstance(config, AlphaChoiceConfig):
        raise TypeError(f"config must be an AlphaChoiceConfig, got {type(config).__name__}")
    fam = _family(config)
    width = len(EC_ALPHAS) + len(AC_ALPHAS) + len(RULES)
    record = Store(results_dir).run(
        config, units=config.ns, compute=lambda n, _: [_one_rep(config, fam, n, j) for j in range(config.reps)],
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
        grid = np.asarray(EC_ALPHAS if k < 2 else AC_ALPHAS)
        entry = {"measured": [_interval(m) for m in measured], "profile_mean": profile.mean(axis=1).tolist(),
                 "alpha_hat_mean": [float(np.mean(grid[c])) for c in chosen],
                 "alpha_hat_se": [float(np.std(grid[c], ddof=1) / math.sqrt(len(c))) for c in chosen]}
        # excess_rate: the profile excess at α̂ (not the regret): it falls as 1/n (a negative control's quantity)
        at_hat = np.stack([predicted[i, chosen[i]] for i in range(len(ns))])
        for key, values in (("rate", profile), ("measured_rate", measured), ("excess_rate", at_hat)):
            entry[key] = None
            if (values.mean(axis=1) > 0).all() and (values.std(axis=1) > 0).all():
                try:
                    fit = fit_power_law(ns, values)
                except np.linalg.LinAlgError:  # weights (mean/se)² spanning beyond float64: no fit
                    continue
                z = 2 * stats.norm.ppf(0.975)
                entry[key] = {"slope": fit.slope, "ci_low": fit.ci_low, "ci_high": fit.ci_high,
                              "stderr": (fit.ci_high - fit.ci_low) / z}
        out["rules"][rule] = entry
    ec = result.excess_ec
    neyman = result.chosen[..., 0]
    out["ec_star_minus_random"] = [_interval(ec[i, :, result.oracle_ec[i]] - ec[i, :, 0]) for i in range(len(ns))]
    out["ec_neyman_minus_random"] = [_interval(ec[i, reps, neyman[i]] - ec[i, :, 0]) for i in range(len(ns))]
    out["random_excess"] = [_interval(ec[i, :, 0]) for i in range(len(ns))]
    out["gain_star"] = [relative_gain(result, i, result.oracle_ec[i]) for i in range(len(ns))]
    out["gain_neyman"] = [relative_gain(result, i, neyman[i]) for i in range(len(ns))]
    out["predicted_gain"] = [float(result.predicted_ec[i, result.oracle_ec[i]] / result.predicted_ec[i, 0] - 1)
                             for i in range(len(ns))]
    return out


def relative_gain(result: AlphaChoiceResult, i: int, index) -> dict:
    """EC at the α of grid index ``index`` (an int, or one per replication) against random pruning (α = 0) on the
    same D_n, at the i-th n, relative to random's mean excess: G = mean(EC − random) / mean(random) (G < 0:
    calibration wins; G ≥ −1 always), with its delta-method standard error and the t dof (reps − 1)."""
    ec = result.excess_ec[i]
    at = ec[np.arange(ec.shape[0]), index] if np.ndim(index) else ec[:, int(index)]
    diff, base = at - ec[:, 0], ec[:, 0]
    gain = float(diff.mean() / base.mean())
    se = float(np.std(diff - gain * base, ddof=1) / math.sqrt(len(diff)) / base.mean())
    return {"mean": gain, "stderr": se, "dof": len(diff) - 1}

# Each predicted in docs/theory.md ("Choosing α") by the oracle before it was run.
SETTINGS = {"line-interior": dict(omega=3.0, noise=0.3, r=0.3), "line-zero": dict(omega=5.0, noise=0.5, r=0.2),
            "logistic-interior": dict(model="logistic", score="el2n", r=0.2),
            "logistic-zero": dict(model="logistic", score="margin", r=0.75)}
SIZES = {"tiny": dict(ns=(70, 80, 100), reps=2), "small": dict(ns=(100, 300, 1000), reps=40),
         "default": dict(ns=(100, 300, 1000, 3000), reps=200),
         "full": dict(ns=(100, 300, 1000, 3000, 10000), reps=1000)}


# Fewer replications where the intervals allow (the run's time, docs/theory.md "Choosing α"): the line's α* = 0
# setting (its regret is 0 from n = 1000 on) and the two logistic settings (small: CI's time).
REPS = {"small": {"logistic-interior": 20, "logistic-zero": 20},
        "default": {"line-zero": 100, "logistic-interior": 100, "logistic-zero": 100}}


def configs(size: str) -> dict:
    out = {}
    for name, setting in SETTINGS.items():
        sizes = dict(SIZES[size], **({"reps": REPS[size][name]} if name in REPS.get(size, {}) else {}))
        out[name] = AlphaChoiceConfig(**setting, **sizes, seed=13)
    return out


register(Experiment("alpha_choice", "regret of the rules choosing α (Neyman, bias-variance, cross-fitted) "
                    "against the oracle α*, on two processes (the line on sine-regression, logistic regression on "
                    "gaussian-logistic), each with α* interior and α* = 0", ("C12",), configs))
