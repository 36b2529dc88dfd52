r"""The limit experiment (claim C1; docs/theory.md, "Limits"): the kept points against ν_r and µ as n grows.

``run_limit`` is claim C1's experiment: for each n, draw D_n, score, prune, and measure the
distance of the kept (weighted) sample to the protocol's limit (ν_r for SBPA) and to µ,
with the empirical threshold against q_r. Targets are large exact samples of the limit
(:func:`theory_sim.sample_limit`) drawn once from their own stream.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, fields

import numpy as np
from theory_sim.experiments._framework import Experiment, ExperimentConfig, one_blas_thread, register, register_runner
from theory_sim.rng import stream
from theory_sim.store import Store, bool_array, number_array
from theory_sim.stats import LoglogFit, loglog_fit
from theory_sim.validation import (budget, check_alpha, check_choice, check_int, check_memory, check_r,
                                   check_real, check_sample_sizes, check_setting)
from theory_sim.core.distances import PreparedTarget
from theory_sim.core.limits import (Quantile, check_pair, check_rejection_budget, sample_limit, score_quantile,
                                     threshold_sd)
from theory_sim.core.policies import POLICIES
from theory_sim.core.processes import PROCESSES, make_process
from theory_sim.core.pruning import Selection, prune
from theory_sim.core.scores import SCORES, make_score

__all__ = [
    "LimitConfig",
    "LimitPanelsConfig",
    "LimitPanelsResult",
    "LimitResult",
    "LimitRow",
    "run_limit",
    "ThresholdError",
    "threshold_error",
    "run_limit_panels",
]


# Streams (theory_sim.rng.stream, flat keys): run_limit draws the limit target from (0,), the µ
# target from (1,) and replication j of the i-th n from (2 + i·reps + j,); run_limit_panels draws
# the data from (0,) and the pruning of the j-th protocol at the i-th r from (1 + i·len(protocols) + j,).


@dataclass(frozen=True)
class LimitConfig(ExperimentConfig):
    """Configuration of :func:`run_limit`.

    Attributes
    ----------
    process : str
        A registered process; ``d`` its dimension (ignored by the 1-D processes).
    score : str
        A registered score.
    r : float in (0, 1]
    protocol : str
        A registered policy whose limit is of the region form (:class:`theory_sim.RegionLimit`: the
        four protocols, a user's policy with ``limit``); others are refused, since the target sample
        of the limit cannot be drawn.
    alpha : float or None (required for 'ec', 'ac'; as the policy's ``check_alpha`` allows)
    keep : {'lowest', 'highest'}
    ns : tuple of int
        Sample sizes n (increasing); each needs ⌊r n⌋ ≥ 1.
    reps : int
        Independent replications per n.
    n_target : int or None
        Size of each target sample; default max(20 · max k, min(200 000, ⌊2·10⁷ r⌋)), so that
        the targets' own noise adds at most ~2.5% to the smallest distance measured
        (√(1 + 1/20)). The floor of 200 000 is lowered below r = 0.01 so that it never costs
        more than 2·10⁷ rejection proposals (the target does not grow with 1/r unless n needs it).
    seed : int
    """

    process: str = "gaussian-logistic"
    d: int = 2
    score: str = "margin"
    r: float = 0.1
    protocol: str = "sbpa"
    alpha: float | None = None
    keep: str = "lowest"
    ns: tuple = (1_000, 10_000, 100_000)
    reps: int = 5
    n_target: int | None = None
    seed: int = 0

    def __post_init__(self):
        r = check_setting(self, processes=PROCESSES, scores=SCORES, policies=POLICIES)
        policy = POLICIES[self.protocol]
        if policy.limit(r, policy.check_alpha(self.alpha)) is None:
            raise ValueError(f"policy {self.protocol!r} has no limit of the region form (limit() returns None): the "
                             "limit experiment cannot draw its target; use the consistency and validity engines")
        _make_setting(self)  # the process and the score must build and fit together
        ns = check_sample_sizes(self.ns, r)
        object.__setattr__(self, "ns", ns)
        check_int("reps", self.reps, low=1)
        if self.n_target is not None:
            check_int("n_target", self.n_target, low=100)
        check_int("seed", self.seed, low=0)
        self._check_memory()

    def _check_memory(self):
        """Peak memory, estimated before anything is allocated: a replication's sample of the
        largest n, the two target samples with their d + 9 sorted projections, one batch of
        rejection proposals at acceptance rate r, and the projection directions; and the
        number of rejection proposals of the limit's target sample."""
        dim = 1 if self.process in ("sine-regression", "exponential") else self.d
        point, n, m = 8 * (dim + 2), max(self.ns), self.target_size()
        need = 6 * point * n + 2 * point * m + 32 * m * (dim + 9) + 3.3 * point * m / self.r + 8 * (dim + 9) ** 2
        name, value = ("d", self.d) if dim > 2 else ("n", n)
        check_memory(name, value, need, advice=f"use a smaller d or n; the target samples have {m} points")
        policy = POLICIES[self.protocol]
        lim = policy.limit(self.r, policy.check_alpha(self.alpha))
        if self.protocol in ("sbpa", "ac") or (not POLICIES.builtin(self.protocol) and lim.level is not None):
            check_rejection_budget(m, self.r if POLICIES.builtin(self.protocol) else lim.scale, f"r={self.r}")

    KIND = "limit"

    def target_size(self) -> int:
        if self.n_target is not None:
            return self.n_target
        return max(20 * budget(self.r, max(self.ns)), min(200_000, budget(self.r, 20_000_000)))


@dataclass(frozen=True)
class LimitRow:
    """Per-n summary over replications: means and standard errors."""

    n: int
    k: int
    threshold: float
    threshold_se: float
    gap_limit: float
    gap_limit_se: float
    gap_mu: float
    gap_mu_se: float
    ks_limit: float
    ks_mu: float


@dataclass(frozen=True)
class LimitResult:
    """Result of :func:`run_limit`.

    Attributes
    ----------
    config : LimitConfig
    quantile : Quantile or None
        q at the level of the score-based part (r for SBPA, α r for EC/AC); None for random.
    rows : tuple of LimitRow
    raw_gap_limit, raw_gap_mu : ndarray, shape (len(ns), reps)
    fit_limit, fit_mu : LoglogFit or None
        Log-log fits of the function gap against n (None with fewer than 3 points).
    seconds : float
    """

    config: LimitConfig
    quantile: Quantile | None
    rows: tuple
    raw_gap_limit: np.ndarray
    raw_gap_mu: np.ndarray
    fit_limit: LoglogFit | None
    fit_mu: LoglogFit | None
    seconds: float


def _make_setting(config):
    mu = make_process(config.process, **({} if config.process in ("sine-regression", "exponential") else {"d": config.d}))
    score = make_score(config.score, mu)
    check_pair(mu, score)
    return mu, score


class _Targets:
    """The two target samples (ν and µ) and the quantile, built once and only when a unit needs them."""

    def __init__(self, config, mu, score):
        m = config.target_size()
        opts = dict(protocol=config.protocol, alpha=config.alpha, keep=config.keep)
        stream0 = stream(config.seed, 0)
        limit = sample_limit(mu, score, config.r, m, rng=stream0, **opts)
        self.limit = PreparedTarget(limit.data, limit.weights)
        self.mu = PreparedTarget(mu.sample(m, stream(config.seed, 1)))
        self.quantile = None
        level = None
        if config.protocol == "sbpa" or (config.protocol in ("ec", "ac") and config.alpha > 0):
            level = config.r if config.protocol == "sbpa" else config.alpha * config.r
        elif not POLICIES.builtin(config.protocol):  # a user's policy: the level of its region
            policy = POLICIES[config.protocol]
            level = policy.limit(config.r, policy.check_alpha(config.alpha)).level
        if level is not None:
            self.quantile = limit.threshold or score_quantile(mu, score, level, keep=config.keep, rng=stream0)


@one_blas_thread
def run_limit(config: LimitConfig, results_dir=None, *, progress: bool | None = None) -> LimitResult:
    """Distance of the kept sample to the protocol's limit and to µ, as n grows (claim C1).

    Units of work (:class:`theory_sim.store.Store`): one per n; the quantile is the shared part.
    ``progress``: show a progress bar (None: only on a terminal).
    """
    if not isinstance(config, LimitConfig):
        raise TypeError(f"config must be a LimitConfig, got {type(config).__name__}")
    mu, score = _make_setting(config)
    targets = functools.cache(lambda: _Targets(config, mu, score))

    def compute(n, _shared):
        i = config.ns.index(n)
        cols = {key: [] for key in _LIMIT_UNIT}
        for j in range(config.reps):
            rng = np.random.default_rng(stream(config.seed, 2 + i * config.reps + j))
            data = mu.sample(n, rng)
            sel = prune(score(data.x, data.y), config.r, config.protocol, alpha=config.alpha, keep=config.keep,
                        rng=rng)
            kept = data.take(sel.indices)
            t = targets()
            cols["gap_limit"].append(t.limit.function_gap(kept, sel.weights))
            cols["gap_mu"].append(t.mu.function_gap(kept, sel.weights))
            cols["ks_limit"].append(t.limit.ks(kept, sel.weights))
            cols["ks_mu"].append(t.mu.ks(kept, sel.weights))
            cols["threshold"].append(sel.threshold)
        return cols

    def shared():
        q = targets().quantile
        return None if q is None else asdict(q)

    record = Store(results_dir).run(config, units=config.ns, compute=compute, shared=shared,
                                    decode_unit=functools.partial(_decode_limit_unit, reps=config.reps),
                                    decode_shared=_decode_quantile, progress=progress, desc="limit")
    gap_limit, gap_mu, ks_limit, ks_mu, thresholds = (
        np.array([record.units[n][key] for n in config.ns]) for key in _LIMIT_UNIT)

    def se(a):
        return float(a.std(ddof=1) / math.sqrt(a.shape[0])) if a.shape[0] > 1 else float("nan")

    rows = tuple(
        LimitRow(n, budget(config.r, n), float(thresholds[i].mean()), se(thresholds[i]), float(gap_limit[i].mean()),
                 se(gap_limit[i]), float(gap_mu[i].mean()), se(gap_mu[i]), float(ks_limit[i].mean()),
                 float(ks_mu[i].mean()))
        for i, n in enumerate(config.ns)
    )
    ns_all = np.repeat(np.asarray(config.ns, float), config.reps)
    enough = len(config.ns) >= 2 and ns_all.shape[0] >= 3
    fit_limit = loglog_fit(ns_all, gap_limit.ravel()) if enough else None
    fit_mu = loglog_fit(ns_all, gap_mu.ravel()) if enough else None
    return LimitResult(config, record.shared, rows, gap_limit, gap_mu, fit_limit, fit_mu, record.seconds)


@dataclass(frozen=True)
class ThresholdError:
    """SBPA's empirical threshold against q_r, in units of its asymptotic standard deviation (claim C1).

    ``estimate`` is the mean over the run's n of z̄_n = (mean over replications of g_(k) − q_r)/sd_n, with sd_n
    of :func:`theory_sim.core.limits.threshold_sd`; ``stderr`` its standard error from the replications' spread
    (√(Σ_n se_n²/sd_n²)/N); ``dof`` = N · (reps − 1). If g_(k) − q_r = O_P(n^{-1/2}) with the sample quantile's
    law, each z̄_n has mean O(n^{-1/2}) and the estimate is near 0; a wrong q_r, off by c · sd_n, moves it to −c.
    """

    estimate: float
    stderr: float
    dof: int


def threshold_error(result: LimitResult, *, shift: float = 0.0) -> ThresholdError | None:
    """The standardised error of the empirical thresholds of an SBPA ``result`` (see :class:`ThresholdError`).

    ``shift``: a wrong world for the negative control, q_r replaced by q_r + shift · sd_n at each n.
    None when the protocol is not SBPA, the score's law is not known exactly (no density), or reps < 2.
    """
    config = result.config
    if config.protocol != "sbpa" or config.reps < 2 or result.quantile is None or not result.quantile.exact:
        return None
    mu, score = _make_setting(config)
    sd_one = threshold_sd(mu, score, config.r, 1, keep=config.keep)  # sd_n = sd_1/√n: one quantile, one density
    if sd_one is None:
        return None
    sds = [sd_one / math.sqrt(row.n) for row in result.rows]
    q = result.quantile.value
    z = [(row.threshold - q) / sd - shift for row, sd in zip(result.rows, sds)]
    se = math.sqrt(sum((row.threshold_se / sd) ** 2 for row, sd in zip(result.rows, sds))) / len(sds)
    return ThresholdError(float(np.mean(z)), float(se), len(sds) * (config.reps - 1))


_LIMIT_UNIT = ("gap_limit", "gap_mu", "ks_limit", "ks_mu", "threshold")


def _decode_limit_unit(raw, *, reps):
    out = {}
    for key in _LIMIT_UNIT:
        out[key] = number_array(raw[key], key, shape=(reps,), finite=key != "threshold")
        if key != "threshold" and np.any(out[key] < 0):
            raise ValueError(f"{key} must hold distances >= 0")
    return out


def _decode_quantile(raw):
    if raw is None:
        return None
    q = Quantile(**raw)
    check_real("quantile value", q.value)
    check_real("quantile stderr", q.stderr, low=0.0)
    return q


@dataclass(frozen=True)
class LimitPanelsConfig(ExperimentConfig):
    """Configuration of :func:`run_limit_panels`: one 2-D sample pruned by every protocol at each r."""

    process: str = "gaussian-logistic"
    score: str = "margin"
    rs: tuple = (0.1, 0.3)
    protocols: tuple = ("sbpa", "random", "ec", "ac")
    alpha: float = 0.5
    keep: str = "lowest"
    n: int = 4_000
    grid: int = 201
    seed: int = 0

    def __post_init__(self):
        check_choice("process", self.process, PROCESSES)
        check_choice("score", self.score, SCORES)
        object.__setattr__(self, "rs", tuple(check_r(r) for r in self.rs))
        object.__setattr__(self, "protocols", tuple(check_choice("protocol", p, ("sbpa", "random", "ec", "ac"))
                                                    for p in self.protocols))
        check_alpha(self.alpha, allow_one=False)
        check_choice("keep", self.keep, ("lowest", "highest"))
        check_int("n", self.n, low=1)
        check_int("grid", self.grid, low=3)
        check_int("seed", self.seed, low=0)
        for r in self.rs:
            if budget(self.alpha, budget(r, self.n)) < 1 or budget(r, self.n) < 1:
                raise ValueError(f"n={self.n} is too small for r={r}, alpha={self.alpha}")

    KIND = "limit-panels"


@dataclass(frozen=True)
class LimitPanelsResult:
    """The data, each protocol's selection, and the score on a grid with the thresholds q.

    Attributes
    ----------
    x : ndarray, shape (n, 2)
    y : ndarray, shape (n,)
    selections : dict[(r, protocol)] -> Selection
    quantiles : dict[level] -> Quantile
        q at level r (SBPA) and α r (EC, AC).
    grid_x, grid_y : ndarray, shape (grid,)
    grid_score : ndarray, shape (grid, grid)
        The score at (grid_x[j], grid_y[i]) (label-free scores only, else None).
    """

    config: LimitPanelsConfig
    x: np.ndarray
    y: np.ndarray
    selections: dict
    quantiles: dict
    grid_x: np.ndarray
    grid_y: np.ndarray
    grid_score: np.ndarray | None
    seconds: float


@one_blas_thread
def run_limit_panels(config: LimitPanelsConfig, results_dir=None) -> LimitPanelsResult:
    """Prune one sample of a 2-D process by each protocol at each r (the scatter panels of C1).

    One unit of work (:class:`theory_sim.store.Store`): the sample, the selections and the score grid.
    """
    if not isinstance(config, LimitPanelsConfig):
        raise TypeError(f"config must be a LimitPanelsConfig, got {type(config).__name__}")
    record = Store(results_dir).run(config, units=("all",), compute=lambda unit, shared: _panels(config),
                                    decode_unit=functools.partial(_decode_panels, config=config))
    return LimitPanelsResult(config, **record.units["all"], seconds=record.seconds)


def _panels(config: LimitPanelsConfig) -> dict:
    mu = make_process(config.process, d=2)
    score = make_score(config.score, mu)
    data_stream = stream(config.seed, 0)
    data = mu.sample(config.n, data_stream)
    g = score(data.x, data.y)
    selections, quantiles = [], {}
    for i, r in enumerate(config.rs):
        for j, protocol in enumerate(config.protocols):
            alpha = config.alpha if protocol in ("ec", "ac") else None
            sel = prune(g, r, protocol, alpha=alpha, keep=config.keep,
                        rng=stream(config.seed, 1 + i * len(config.protocols) + j))
            selections.append({f.name: getattr(sel, f.name) for f in fields(sel)})
            if protocol != "random":
                level = r if protocol == "sbpa" else config.alpha * r
                if repr(level) not in quantiles:
                    quantiles[repr(level)] = asdict(score_quantile(mu, score, level, keep=config.keep, rng=data_stream))
    lo, hi = np.quantile(data.x, [0.001, 0.999], axis=0)
    grid_x, grid_y = np.linspace(lo[0], hi[0], config.grid), np.linspace(lo[1], hi[1], config.grid)
    grid_score = None
    if score.label_free:
        gx, gy = np.meshgrid(grid_x, grid_y)
        grid_score = score(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    return {"x": data.x, "y": data.y, "selections": selections, "quantiles": quantiles, "grid_x": grid_x,
            "grid_y": grid_y, "grid_score": grid_score}


def _decode_panels(raw, *, config):
    x = number_array(raw["x"], "x", shape=(config.n, 2))
    y = number_array(raw["y"], "y", shape=(config.n,))
    keys = [(r, p) for r in config.rs for p in config.protocols]
    if len(raw["selections"]) != len(keys):
        raise ValueError(f"{len(raw['selections'])} selections, expected {len(keys)}")
    selections = {}
    for key, s in zip(keys, raw["selections"]):
        s = dict(s)
        k = check_int("k", s["k"], low=0)
        s["indices"] = number_array(s["indices"], "indices", shape=(k,)).astype(np.int64)
        s["weights"] = number_array(s["weights"], "weights", shape=(k,))
        s["signal"] = bool_array(s["signal"], "signal", shape=(k,))
        if s["k"] and (s["indices"].min() < 0 or s["indices"].max() >= config.n):
            raise ValueError(f"selection {key} has indices outside the sample")
        selections[key] = Selection(**s)
    quantiles = {float(level): _decode_quantile(q) for level, q in raw["quantiles"].items()}
    grid_x, grid_y = (number_array(raw[k], k, shape=(config.grid,)) for k in ("grid_x", "grid_y"))
    grid_score = (None if raw["grid_score"] is None
                  else number_array(raw["grid_score"], "grid_score", shape=(config.grid, config.grid)))
    return {"x": x, "y": y, "selections": selections, "quantiles": quantiles, "grid_x": grid_x, "grid_y": grid_y,
            "grid_score": grid_score}


register_runner(LimitConfig, run_limit)
register_runner(LimitPanelsConfig, run_limit_panels)


# ---------------------------------------------------------------------------------------
# The registered experiment (figure ``limit``)
# ---------------------------------------------------------------------------------------
PROTOCOLS = ("sbpa", "random", "ec", "ac")
ALPHA = 0.5
R_CURVES = 0.1
SIZES = {
    "tiny": dict(panel_n=300, ns=(200, 400), reps=2, n_target=2_000),
    "small": dict(panel_n=1_500, ns=(1_000, 3_000, 10_000), reps=2, n_target=50_000),
    "default": dict(panel_n=4_000, ns=(1_000, 10_000, 100_000, 1_000_000), reps=5, n_target=None),
    "full": dict(panel_n=4_000, ns=(1_000, 10_000, 100_000, 1_000_000), reps=20, n_target=None),
}


def configs(size: str) -> dict:
    """The panels (key ``"panels"``) and one curve config per protocol (keyed by protocol)."""
    p = SIZES[size]
    out = {"panels": LimitPanelsConfig(n=p["panel_n"], alpha=ALPHA, seed=1)}
    for proto in PROTOCOLS:
        out[proto] = LimitConfig(r=R_CURVES, protocol=proto, alpha=ALPHA if proto in ("ec", "ac") else None,
                                 ns=p["ns"], reps=p["reps"], n_target=p["n_target"], seed=2)
    return out


def assemble(results: dict):
    """(panels, {protocol: LimitResult}): what the figure and claim C1 read."""
    return results["panels"], {proto: results[proto] for proto in PROTOCOLS}


register(Experiment("limit", "kept points vs ν_r and µ as n grows, for SBPA, random, EC and AC", ("C1",), configs,
                    assemble))
