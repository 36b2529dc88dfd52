r"""The gap_law experiment: the simulated √k · gap against its limit law (docs/theory.md, "The law of the gaps").

Setting: the limit experiment's (``gaussian-logistic``, d = 2, ``margin``, keep the lowest), one config per
protocol and r. Replication j draws D_n (stream ``data``), prunes it, and measures the kept (weighted) means of
the 64 cosine test functions of the function gap against (a) the exact target mean E_target f (quadrature,
:func:`theory_sim.core.gap_law.gap_law`) and (b) the mean of a fresh target sample of size m = ``n_target``
drawn from the protocol's limit (stream ``target``, independent of the data). It stores √k · gap for both. The
limit laws are max_j |Z_j| with Z ~ N(0, Σ) for (a) and N(0, Σ + (k/m) Cov_target) for (b), simulated with
``law_draws`` draws (stream ``law``); :func:`summary` compares them by two-sample KS tests and the means by an
equivalence test, with a negative control (Σ scaled by :data:`CONTROL_SCALE`) and its power.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from theory_sim.core.distances import feature_means
from theory_sim.core.gap_law import GapLaw, gap_law, max_abs_draws
from theory_sim.core.limits import sample_limit
from theory_sim.core.processes import make_process
from theory_sim.core.pruning import prune
from theory_sim.core.scores import make_score
from theory_sim.experiments._framework import Experiment, ExperimentConfig, one_blas_thread, register, register_runner
from theory_sim.rng import Streams
from theory_sim.stats import equivalence_test, ks_pvalues, t_summary
from theory_sim.store import Store, number_array
from theory_sim.validation import budget, check_alpha, check_choice, check_int, check_r

__all__ = ["CONTROL_SCALE", "FAMILY_LEVEL", "GapLawConfig", "GapLawResult", "MEAN_MARGIN", "configs",
           "run_gap_law", "summary"]

STREAMS = Streams(data=0, target=1, law=2, power=3)
CHUNK = 25  # replications per unit of work
FAMILY_LEVEL = 0.01  # the KS tests' family-wise false-failure rate (Bonferroni over every test of the run)
MEAN_MARGIN = 0.05  # mean √k·gap within ±5% of E max|Z| (docs/theory.md, "The law of the gaps": why)
CONTROL_SCALE = 1.44  # the negative control: the covariance scaled by 1.44, i.e. √k·gap scaled by 1.2
POWER_TRIALS = 400  # simulated runs from which the control's power is estimated


@dataclass(frozen=True)
class GapLawConfig(ExperimentConfig):
    """One protocol at one r: ``reps`` replications at sample size n, targets of size ``n_target``."""

    protocol: str = "sbpa"
    r: float = 0.1
    alpha: float | None = None
    n: int = 100_000
    reps: int = 200
    n_target: int = 100_000
    law_draws: int = 100_000
    seed: int = 0

    KIND = "gap-law"

    def __post_init__(self):
        check_choice("protocol", self.protocol, ("sbpa", "random", "ec", "ac"))
        check_r(self.r)
        if self.protocol in ("ec", "ac"):
            check_alpha(self.alpha, allow_one=False)
        elif self.alpha is not None:
            raise ValueError(f"alpha does not apply to protocol {self.protocol!r}; got alpha={self.alpha!r}")
        check_int("n", self.n, low=100)
        if budget(self.r, self.n) < 10:
            raise ValueError(f"n={self.n} is too small for r={self.r}: the budget floor(r n) must be at least 10")
        check_int("reps", self.reps, low=2)
        check_int("n_target", self.n_target, low=100)
        check_int("law_draws", self.law_draws, low=100)
        check_int("seed", self.seed, low=0)

    @property
    def k(self) -> int:
        return budget(self.r, self.n)

    @property
    def units(self) -> tuple:
        return tuple(range(0, self.reps, CHUNK))


@dataclass(frozen=True, eq=False)
class GapLawResult:
    """scaled_exact, scaled_sample (reps,): √k · gap against the exact target mean and a target sample;
    law: the limit law (Σ by quadrature); law_exact, law_sample (law_draws,): draws of max|Z| for each."""

    config: GapLawConfig
    scaled_exact: np.ndarray
    scaled_sample: np.ndarray
    law: GapLaw
    law_exact: np.ndarray
    law_sample: np.ndarray
    seconds: float


def _setting():
    mu = make_process("gaussian-logistic", d=2)
    return mu, make_score("margin", mu)


def _one_rep(config, mu, score, law, j):
    rng = np.random.default_rng(STREAMS(config.seed, "data", j))
    data = mu.sample(config.n, rng)
    sel = prune(score(data.x, data.y), config.r, config.protocol, alpha=config.alpha, rng=rng)
    target = sample_limit(mu, score, config.r, config.n_target, protocol=config.protocol, alpha=config.alpha,
                          rng=STREAMS(config.seed, "target", j))
    means = feature_means(data.take(sel.indices), sel.weights)
    target_means = feature_means(target.data, target.weights)
    root = math.sqrt(config.k)
    return [root * float(np.max(np.abs(means - law.target_mean))),
            root * float(np.max(np.abs(means - target_means)))]


@one_blas_thread
def run_gap_law(config: GapLawConfig, results_dir=None) -> GapLawResult:
    """Run (or reuse, or resume) the config; one unit of the store per chunk of :data:`CHUNK` replications."""
    if not isinstance(config, GapLawConfig):
        raise TypeError(f"config must be a GapLawConfig, got {type(config).__name__}")
    mu, score = _setting()
    law = functools.cache(lambda: gap_law(mu, score, config.r, config.protocol, alpha=config.alpha))

    def compute(start, _shared):  # replications start … start + CHUNK − 1
        return [_one_rep(config, mu, score, law(), j) for j in range(start, min(start + CHUNK, config.reps))]

    def decode(raw):
        out = number_array(raw, "unit", shape=(len(raw), 2))
        if (out < 0).any():
            raise ValueError("unit must hold scaled gaps >= 0")
        return out

    record = Store(results_dir).run(config, units=config.units, compute=compute, decode_unit=decode,
                                    desc="gap-law")
    table = np.concatenate([record.units[u] for u in config.units])
    if table.shape[0] != config.reps:
        raise ValueError(f"the result file holds {table.shape[0]} replications, expected {config.reps}")
    law_ = law()
    rng = np.random.default_rng(STREAMS(config.seed, "law"))
    draws_exact = max_abs_draws(law_.covariance(), config.law_draws, rng)
    draws_sample = max_abs_draws(law_.covariance(config.k / config.n_target), config.law_draws, rng)
    return GapLawResult(config, table[:, 0], table[:, 1], law_, draws_exact, draws_sample, record.seconds)


register_runner(GapLawConfig, run_gap_law)


def control_power(result: GapLawResult, level: float, scale: float = CONTROL_SCALE) -> float:
    """The probability that the KS test at ``level`` rejects the control law (covariance × ``scale``) when the
    gaps follow the right law, at this run's replications: the share of :data:`POWER_TRIALS` simulated runs
    (seeded draws of the right law, tested against the control's draws) that reject it."""
    cfg = result.config
    rng = np.random.default_rng(STREAMS(cfg.seed, "power"))
    right = max_abs_draws(result.law.covariance(cfg.k / cfg.n_target), cfg.reps * POWER_TRIALS, rng)
    p = ks_pvalues(right.reshape(POWER_TRIALS, cfg.reps), math.sqrt(scale) * result.law_sample)
    return float(np.mean(p < level))


def summary(results: dict, family_level: float = FAMILY_LEVEL) -> dict:
    """Per config: KS p-values of √k·gap against its law (exact target mean; target sample), the Bonferroni level
    (``family_level`` over all 2 × len(results) tests), the mean √k·gap against E max|Z| (t 90% interval,
    equivalence with relative margin :data:`MEAN_MARGIN`), and the control (law × :data:`CONTROL_SCALE`): its
    p-value and its power."""
    level = family_level / (2 * len(results))
    out = {}
    for key, res in results.items():
        cfg = res.config
        p_exact = float(ks_pvalues(res.scaled_exact, res.law_exact))
        p_sample = float(ks_pvalues(res.scaled_sample, res.law_sample))
        p_control = float(ks_pvalues(res.scaled_sample, math.sqrt(CONTROL_SCALE) * res.law_sample))
        expected = float(res.law_sample.mean())
        expected_se = float(res.law_sample.std(ddof=1) / math.sqrt(res.law_sample.shape[0]))
        t = t_summary(res.scaled_sample)
        stderr = math.hypot(float(t.stderr), expected_se)
        mean_test = equivalence_test(float(t.mean), stderr, expected, MEAN_MARGIN * expected, dof=cfg.reps - 1)
        out[key] = {"protocol": cfg.protocol, "r": cfg.r, "alpha": cfg.alpha, "n": cfg.n, "k": cfg.k,
                    "n_target": cfg.n_target, "reps": cfg.reps, "level": level,
                    "ks_p_exact": p_exact, "ks_p_sample": p_sample,
                    "mean_scaled_gap": float(t.mean), "mean_stderr": float(t.stderr), "e_max_abs_z": expected,
                    "e_max_abs_z_exact_target": float(res.law_exact.mean()),
                    "mean_test": mean_test.to_dict(),
                    "control_p": p_control, "control_power": control_power(res, level),
                    "threshold_trace": float(np.trace(res.law.threshold_term)),
                    "sigma_trace": float(np.trace(res.law.sigma))}
    return out


# ---------------------------------------------------------------------------------------
# The registered experiment (figure ``gap_law``)
# ---------------------------------------------------------------------------------------
PROTOCOLS = ("sbpa", "random", "ec", "ac")
RS = (0.1, 0.3)
ALPHA = 0.5
SIZES = {
    "tiny": dict(n=2_000, reps=4, law_draws=1_000),
    "small": dict(n=10_000, reps=50, law_draws=20_000),
    "default": dict(n=100_000, reps=200, law_draws=100_000),
    "full": dict(n=100_000, reps=400, law_draws=200_000),
}


def configs(size: str) -> dict:
    """One config per protocol and r, keyed ``"<protocol>, r=<r>"``; targets of size m = 2k (k/m = 1/2, so that the
    target sample's own noise is a large part of the law and is tested with it)."""
    p = SIZES[size]
    return {f"{proto}, r={r:g}": GapLawConfig(protocol=proto, r=r, alpha=ALPHA if proto in ("ec", "ac") else None,
                                              n=p["n"], reps=p["reps"], n_target=2 * budget(r, p["n"]),
                                              law_draws=p["law_draws"], seed=3)
            for r in RS for proto in PROTOCOLS}


register(Experiment("gap_law", "√k · gap vs its limit law (max of a Gaussian vector), SBPA, random, EC, AC", ("C1",),
                    configs))
