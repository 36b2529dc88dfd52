r"""The teacher–student perceptron of Sorscher, Geirhos, Shekhar, Ganguli & Morcos, "Beyond neural
scaling laws: beating power law scaling via data pruning" (NeurIPS 2022), in two limits.

x ~ N(0, I_N), labels y = sign(T·x) from a unit teacher T. A probe J = cos θ T + sin θ T⊥ (θ = 0:
perfect) scores each point by its margin |J·x| — a **label-free** score. A fraction r of the P points
is kept: the hardest (smallest margin), the easiest (largest) or at random; a max-margin student
(linear SVM with hinge loss, no intercept, C = 10) is trained on the kept points, and its test error
is exact for a Gaussian design: ε = arccos(ŵ·T / ‖ŵ‖) / π.

Two regimes, measured separately:

- **proportional**: P/N = α fixed on a grid, N growing (Sorscher et al.'s regime, where the error at
  fixed α tends to a deterministic curve ε(α));
- **fixed-N**: N fixed, P → ∞ (the fixed-dimension regime of Ayed & Hayou, where claim C5 says a
  label-free score is valid for a well-specified linear model: ε → 0 whatever the kept end).

Randomness: the teacher and the probe's orthogonal part of replication j come from the stream
``("probe", N, j)``, the data of (N, P, j) from ``("data", N, P, j)`` and random pruning from
``("pruning", N, P, j)``: the strategies and probes see the same data (paired).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from theory_sim.experiments._framework import Experiment, ExperimentConfig, one_blas_thread, register, \
    register_runner
from theory_sim.rng import Streams
from theory_sim.stats import loglog_fit, t_summary
from theory_sim.store import Store, number_array
from theory_sim.validation import budget, check_choice, check_int, check_r

__all__ = ["PerceptronConfig", "PerceptronResult", "run_perceptron", "student_error"]

STREAMS = Streams(probe=0, data=1, pruning=2)
STRATEGIES = ("random", "keep-hard", "keep-easy")
C_SVM = 10.0


@dataclass(frozen=True)
class PerceptronConfig(ExperimentConfig):
    """One regime: ``pairs`` lists the (N, P) of its units."""

    regime: str = "proportional"
    pairs: tuple = ((50, 100), (50, 200))
    r: float = 0.3
    thetas: tuple = (0.0, 0.3)  # probe angles (radians)
    reps: int = 4
    seed: int = 22

    KIND = "perceptron"

    def __post_init__(self):
        check_choice("regime", self.regime, ("proportional", "fixed-n"))
        r = check_r(self.r)
        pairs = tuple((check_int("N", n, low=2), check_int("P", p, low=2)) for n, p in self.pairs)
        for n, p in pairs:
            if budget(r, p) < 2:
                raise ValueError(f"P = {p} keeps fewer than 2 points at r = {r}")
        object.__setattr__(self, "pairs", pairs)
        object.__setattr__(self, "thetas", tuple(float(t) for t in self.thetas))
        check_int("reps", self.reps, low=2)


@dataclass(frozen=True)
class PerceptronResult:
    config: PerceptronConfig
    errors: dict  # (N, P) -> array (len(thetas), len(STRATEGIES), reps)


def student_error(x, y, teacher) -> float:
    """Test error of the max-margin student trained on (x, y): arccos(cos angle(ŵ, T)) / π."""
    from sklearn.svm import LinearSVC

    if np.unique(y).shape[0] < 2:
        return 0.5  # one class kept: the student cannot orient itself
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings at small P: the iterate is still a separator
        svm = LinearSVC(C=C_SVM, loss="hinge", fit_intercept=False, dual=True, max_iter=20_000, tol=1e-6,
                        random_state=0).fit(x, y)
    w = svm.coef_.ravel()
    cos = float(w @ teacher / max(np.linalg.norm(w), 1e-300))
    return math.acos(min(1.0, max(-1.0, cos))) / math.pi


def _unit(config, n_dim, p, j):
    rng_probe = np.random.default_rng(STREAMS(config.seed, "probe", n_dim, j))
    teacher = rng_probe.standard_normal(n_dim)
    teacher /= np.linalg.norm(teacher)
    other = rng_probe.standard_normal(n_dim)
    other -= (other @ teacher) * teacher
    other /= np.linalg.norm(other)
    x = np.random.default_rng(STREAMS(config.seed, "data", n_dim, p, j)).standard_normal((p, n_dim))
    y = np.where(x @ teacher >= 0, 1, -1)
    k = budget(config.r, p)
    rand = np.random.default_rng(STREAMS(config.seed, "pruning", n_dim, p, j)).choice(p, size=k, replace=False)
    out = np.empty((len(config.thetas), len(STRATEGIES)))
    for a, theta in enumerate(config.thetas):
        probe = math.cos(theta) * teacher + math.sin(theta) * other
        order = np.argsort(np.abs(x @ probe), kind="stable")
        kept = {"random": rand, "keep-hard": order[:k], "keep-easy": order[-k:]}
        for b, name in enumerate(STRATEGIES):
            out[a, b] = student_error(x[kept[name]], y[kept[name]], teacher)
    return out


@one_blas_thread
def run_perceptron(config: PerceptronConfig, results_dir=None, progress=None) -> PerceptronResult:
    if not isinstance(config, PerceptronConfig):
        raise TypeError(f"config must be a PerceptronConfig, got {type(config).__name__}")
    units = [f"{n}x{p}" for n, p in config.pairs]

    def compute(unit, shared):
        n_dim, p = map(int, unit.split("x"))
        errs = np.stack([_unit(config, n_dim, p, j) for j in range(config.reps)], axis=-1)
        return {"errors": errs.tolist()}

    shape = (len(config.thetas), len(STRATEGIES), config.reps)
    record = Store(results_dir).run(config, units=units, compute=compute,
                                    decode_unit=lambda raw: number_array(raw["errors"], "errors", shape=shape),
                                    progress=progress, desc=f"perceptron {config.regime}")
    return PerceptronResult(config, {pair: record.units[u] for pair, u in zip(config.pairs, units)})


register_runner(PerceptronConfig, run_perceptron)


SIZES = {
    "tiny": dict(prop=dict(ns=(20,), alphas=(1.0, 2.0)), fixed=dict(n=5, ps=(40, 80)), reps=2),
    "small": dict(prop=dict(ns=(25, 50), alphas=(0.5, 2.0, 8.0)), fixed=dict(n=10, ps=(100, 400, 1_600)), reps=4),
    "default": dict(prop=dict(ns=(50, 100, 200), alphas=(0.5, 1.0, 2.0, 4.0, 8.0, 16.0)),
                    fixed=dict(n=20, ps=(250, 1_000, 4_000, 16_000, 64_000)), reps=10),
    "full": dict(prop=dict(ns=(50, 100, 200, 400), alphas=(0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)),
                 fixed=dict(n=20, ps=(250, 1_000, 4_000, 16_000, 64_000, 256_000)), reps=20),
}


def configs(size: str) -> dict:
    p = SIZES[size]
    prop = tuple((n, int(round(a * n))) for n in p["prop"]["ns"] for a in p["prop"]["alphas"])
    fixed = tuple((p["fixed"]["n"], q) for q in p["fixed"]["ps"])
    return {"proportional": PerceptronConfig(regime="proportional", pairs=prop, reps=p["reps"]),
            "fixed-n": PerceptronConfig(regime="fixed-n", pairs=fixed, reps=p["reps"])}


def summarise(results: dict) -> dict:
    """Per regime, probe and strategy: mean error with its 95% t-interval per (N, P); the fixed-N log-log
    slope of ε against P with its interval; the proportional curves ε(α) per N."""
    out = {}
    for regime, res in results.items():
        cfg = res.config
        rows = {}
        for a, theta in enumerate(cfg.thetas):
            for b, name in enumerate(STRATEGIES):
                pts = []
                for (n_dim, p) in cfg.pairs:
                    s = t_summary(res.errors[(n_dim, p)][a, b])
                    pts.append((n_dim, p, s.mean, s.ci_low, s.ci_high))
                entry = {"points": pts}
                if regime == "fixed-n" and len(cfg.pairs) >= 2:
                    ps = np.repeat([p for _, p in cfg.pairs], cfg.reps).astype(float)
                    errs = np.concatenate([res.errors[pair][a, b] for pair in cfg.pairs])
                    fit = loglog_fit(ps, np.maximum(errs, 1e-6))
                    entry["slope"] = (fit.slope, fit.ci_low, fit.ci_high)
                rows[(theta, name)] = entry
        out[regime] = SimpleNamespace(config=cfg, rows=rows)
    return out


register(Experiment("perceptron", "teacher-student perceptron (Sorscher et al. 2022): keep-hard vs keep-easy, "
                    "perfect vs imperfect probe, proportional vs fixed-N regime", (), configs, summarise))
