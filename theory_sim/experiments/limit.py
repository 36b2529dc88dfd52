r"""Experiments: functions of a frozen config that return a result value (docs/theory.md, "Experiments").

``run_limit`` is claim C1's experiment: for each n, draw D_n, score, prune, and measure the
distance of the kept (weighted) sample to the protocol's limit (ν_r for SBPA) and to µ,
with the empirical threshold against q_r. Targets are large exact samples of the limit
(:func:`theory_sim.sample_limit`) drawn once from their own stream.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from theory_sim.experiments._framework import one_blas_thread
from theory_sim.stats import LoglogFit, loglog_fit
from theory_sim.validation import (budget, check_alpha, check_choice, check_int, check_memory, check_protocol, check_r,
                                   check_sample_sizes)
from theory_sim.core.distances import PreparedTarget
from theory_sim.core.limits import Quantile, check_rejection_budget, sample_limit, score_quantile
from theory_sim.core.processes import PROCESSES, make_process
from theory_sim.core.pruning import prune
from theory_sim.core.scores import SCORES, make_score

__all__ = [
    "LimitConfig",
    "LimitPanelsConfig",
    "LimitPanelsResult",
    "LimitResult",
    "LimitRow",
    "LoglogFit",
    "loglog_fit",
    "run_limit",
    "run_limit_panels",
]


@dataclass(frozen=True)
class LimitConfig:
    """Configuration of :func:`run_limit`.

    Attributes
    ----------
    process : str
        A registered process; ``d`` its dimension (ignored by the 1-D processes).
    score : str
    r : float in (0, 1]
    protocol : {'sbpa', 'random', 'ec', 'ac'}
    alpha : float or None (required for 'ec', 'ac')
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
        check_choice("process", self.process, PROCESSES)
        check_int("d", self.d, low=1)
        check_choice("score", self.score, SCORES)
        r = check_r(self.r)
        check_protocol(self.protocol, self.alpha)
        check_choice("keep", self.keep, ("lowest", "highest"))
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
        if self.protocol in ("sbpa", "ac"):
            check_rejection_budget(m, self.r, f"r={self.r}")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["ns"] = list(self.ns)
        return out

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


@one_blas_thread
def run_limit(config: LimitConfig, *, progress: bool | None = None) -> LimitResult:
    """Distance of the kept sample to the protocol's limit and to µ, as n grows (claim C1).

    Streams: ``SeedSequence(seed).spawn(2 + len(ns) * reps)``: one for the limit target,
    one for the µ target, one per (n, replication).

    ``progress``: show a progress bar (None: only on a terminal).
    """
    from tqdm.auto import tqdm

    if not isinstance(config, LimitConfig):
        raise TypeError(f"config must be a LimitConfig, got {type(config).__name__}")
    start = time.perf_counter()
    mu = make_process(config.process, **({} if config.process in ("sine-regression", "exponential") else {"d": config.d}))
    score = make_score(config.score, mu)
    streams = np.random.SeedSequence(config.seed).spawn(2 + len(config.ns) * config.reps)
    m = config.target_size()
    opts = dict(protocol=config.protocol, alpha=config.alpha, keep=config.keep)
    limit = sample_limit(mu, score, config.r, m, rng=streams[0], **opts)
    target_limit = PreparedTarget(limit.data, limit.weights)
    target_mu = PreparedTarget(mu.sample(m, streams[1]))
    quantile = None
    if config.protocol == "sbpa" or (config.protocol in ("ec", "ac") and config.alpha > 0):
        level = config.r if config.protocol == "sbpa" else config.alpha * config.r
        quantile = limit.threshold or score_quantile(mu, score, level, keep=config.keep, rng=streams[0])

    shape = (len(config.ns), config.reps)
    gap_limit, gap_mu, ks_limit, ks_mu, thresholds = (np.empty(shape) for _ in range(5))
    bar = tqdm(total=len(config.ns) * config.reps, desc="limit", disable=(not progress) if progress is not None else None,
               leave=False)
    try:
        for i, n in enumerate(config.ns):
            for j in range(config.reps):
                rng = np.random.default_rng(streams[2 + i * config.reps + j])
                data = mu.sample(n, rng)
                sel = prune(score(data.x, data.y), config.r, config.protocol, alpha=config.alpha, keep=config.keep,
                            rng=rng)
                kept = data.take(sel.indices)
                gap_limit[i, j] = target_limit.function_gap(kept, sel.weights)
                gap_mu[i, j] = target_mu.function_gap(kept, sel.weights)
                ks_limit[i, j] = target_limit.ks(kept, sel.weights)
                ks_mu[i, j] = target_mu.ks(kept, sel.weights)
                thresholds[i, j] = sel.threshold
                bar.update()
    finally:
        bar.close()

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
    return LimitResult(config, quantile, rows, gap_limit, gap_mu, fit_limit, fit_mu, time.perf_counter() - start)


@dataclass(frozen=True)
class LimitPanelsConfig:
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

    def to_dict(self) -> dict:
        out = asdict(self)
        out["rs"], out["protocols"] = list(self.rs), list(self.protocols)
        return out


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
def run_limit_panels(config: LimitPanelsConfig) -> LimitPanelsResult:
    """Prune one sample of a 2-D process by each protocol at each r (the scatter panels of C1)."""
    start = time.perf_counter()
    mu = make_process(config.process, d=2)
    score = make_score(config.score, mu)
    data_stream, *prune_streams = np.random.SeedSequence(config.seed).spawn(1 + len(config.rs) * len(config.protocols))
    data = mu.sample(config.n, data_stream)
    g = score(data.x, data.y)
    selections, quantiles = {}, {}
    for i, r in enumerate(config.rs):
        for j, protocol in enumerate(config.protocols):
            alpha = config.alpha if protocol in ("ec", "ac") else None
            selections[(r, protocol)] = prune(g, r, protocol, alpha=alpha, keep=config.keep,
                                              rng=prune_streams[i * len(config.protocols) + j])
            if protocol != "random":
                level = r if protocol == "sbpa" else config.alpha * r
                quantiles.setdefault(level, score_quantile(mu, score, level, keep=config.keep, rng=data_stream))
    lo, hi = np.quantile(data.x, [0.001, 0.999], axis=0)
    grid_x, grid_y = np.linspace(lo[0], hi[0], config.grid), np.linspace(lo[1], hi[1], config.grid)
    grid_score = None
    if score.label_free:
        gx, gy = np.meshgrid(grid_x, grid_y)
        grid_score = score(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    return LimitPanelsResult(config, data.x, data.y, selections, quantiles, grid_x, grid_y, grid_score,
                             time.perf_counter() - start)
