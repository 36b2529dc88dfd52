r"""The Monte Carlo engine: consistency and validity gaps of a pruning protocol (DESIGN §2.4).

For each sample size n and replication, draw D_n ~ µ^n, score it, prune it, and measure

.. math::

    \Delta_n^A = \max_{\theta \in W} |L_n^A(\theta) - L(\theta)|, \qquad
    V_n^A = L(\hat\theta_n^A) - \min L, \quad \hat\theta_n^A = \arg\min L_n^A,

over a fixed finite net W (:func:`parameter_net`), with L computed by quadrature
(:mod:`theory_sim.population`) and L_n^A by the numba kernel :func:`theory_sim.models.net_losses`
(or its bitwise twin with ``backend="reference"``). The limits the gaps must reach are
computed independently, by quadrature:

.. math::

    \Delta_\infty = \max_{\theta \in W} |L_\nu(\theta) - L(\theta)|, \qquad
    V_\infty = L(\arg\min L_\nu) - \min L,

with ν the protocol's limit (ν_r for SBPA, the AC density for AC, µ for random and EC).

Randomness: replication j at sample size n uses the stream
``SeedSequence(seed, spawn_key=(n, j))`` — independent of the other replications, of the
list of n and of the thread count, so results are bitwise reproducible and a resumed run
computes exactly what an uninterrupted one would.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import optimize, stats

from ._results import atomic_write_json, config_hash, one_blas_thread, read_json, versions
from ._validation import check_choice, check_int, check_protocol, check_r, check_real, check_sample_sizes
from .experiments import LoglogFit, loglog_fit
from .population import population_loss
from .processes import make_process
from .pruning import prune
from .scores import SCORES, make_score

__all__ = [
    "MonteCarloConfig",
    "MonteCarloResult",
    "GapSummary",
    "Limits",
    "parameter_net",
    "population_limits",
    "run_montecarlo",
]

QUADRATURE_PROCESSES = ("gaussian-logistic", "gaussian-mixture")


def parameter_net(d: int, size: int = 256, radius: float = 6.0) -> np.ndarray:
    r"""The net W: ``size`` points of the ball {θ ∈ R^{d+1} : ‖θ‖ ≤ radius}, θ = (w, b).

    Deterministic: the first d + 2 coordinates of the unscrambled Halton sequence (skipping
    the origin) map to a direction (Gaussian quantiles of the first d + 1, normalised) and a
    radius (radius · u^{1/(d+1)} from the last), which spreads the points uniformly in the ball.
    """
    from scipy.stats import qmc

    d = check_int("d", d, low=1)
    size = check_int("net_size", size, low=1)
    radius = check_real("net_radius", radius, low=0.0, low_open=True)
    u = qmc.Halton(d + 2, scramble=False).random(size + 1)[1:]
    direction = stats.norm.ppf(u[:, : d + 1])
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return radius * u[:, d + 1 :] ** (1.0 / (d + 1)) * direction


@dataclass(frozen=True)
class MonteCarloConfig:
    """A Monte Carlo experiment: everything that determines its numbers.

    Attributes
    ----------
    process : {'gaussian-logistic', 'gaussian-mixture'}
    d : int
    score : str (reference model: the truth)
    protocol : {'sbpa', 'random', 'ec', 'ac'}
    r : float in (0, 1]
    alpha : float or None ([0, 1) for EC, [0, 1] for AC)
    keep : {'lowest', 'highest'}
    model : {'logistic'}
    net_size : int ≥ 1, net_radius : float > 0
        The parameter set W is the ball ‖θ‖ ≤ net_radius; the net is :func:`parameter_net`.
        Minimisers (of L_n^A for V_n, of L_ν for V_∞) are taken over W, as in the paper.
    ns : tuple of int, increasing, each with ⌊α ⌊r n⌋⌋ < ⌊r n⌋ points to explore when needed
    reps : int ≥ 2
    seed : int ≥ 0
    """

    process: str = "gaussian-logistic"
    d: int = 2
    score: str = "margin"
    protocol: str = "sbpa"
    r: float = 0.1
    alpha: float | None = None
    keep: str = "lowest"
    model: str = "logistic"
    net_size: int = 256
    net_radius: float = 6.0
    ns: tuple = (1_000, 10_000, 100_000)
    reps: int = 20
    seed: int = 0

    def __post_init__(self):
        check_choice("process", self.process, QUADRATURE_PROCESSES)
        check_int("d", self.d, low=1)
        check_choice("score", self.score, SCORES)
        r = check_r(self.r)
        check_protocol(self.protocol, self.alpha)
        check_choice("keep", self.keep, ("lowest", "highest"))
        check_choice("model", self.model, ("logistic",))
        if check_int("net_size", self.net_size, low=0) == 0:
            raise ValueError("net_size must be at least 1: the net W is empty")
        check_real("net_radius", self.net_radius, low=0.0, low_open=True)
        ns = check_sample_sizes(self.ns, r, min_budget=2)
        object.__setattr__(self, "ns", ns)
        check_int("reps", self.reps, low=2)
        check_int("seed", self.seed, low=0)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["ns"] = list(self.ns)
        return out

    @property
    def hash(self) -> str:
        return config_hash({"kind": "montecarlo", **self.to_dict()})


@dataclass(frozen=True)
class GapSummary:
    """Per-n statistics of a gap over replications: mean, standard error, 95% t-interval."""

    n: int
    mean: float
    stderr: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Limits:
    """Quadrature limits: Δ_∞ over the net, V_∞, and the minimisers of L and L_ν."""

    delta_inf: float
    v_inf: float
    theta_star: np.ndarray
    theta_nu: np.ndarray
    min_loss: float
    net_loss: np.ndarray
    net_limit_loss: np.ndarray


@dataclass(frozen=True)
class MonteCarloResult:
    """Result of :func:`run_montecarlo`.

    Attributes
    ----------
    config : MonteCarloConfig
    delta, validity : ndarray, shape (len(ns), reps)
        Δ_n and V_n per replication.
    converged : ndarray, shape (len(ns), reps), bool
        Whether the weighted ERM converged (separable samples at small k may not).
    limits : Limits
    delta_summary, validity_summary : tuple of GapSummary
    delta_fit, validity_fit : LoglogFit or None
        Log-log fits against n (all replications).
    seconds : float
    path : Path or None
        The result file, when one was used.
    """

    config: MonteCarloConfig
    delta: np.ndarray
    validity: np.ndarray
    converged: np.ndarray
    limits: Limits
    delta_summary: tuple
    validity_summary: tuple
    delta_fit: LoglogFit | None
    validity_fit: LoglogFit | None
    seconds: float
    path: Path | None = field(default=None, compare=False)


def _summary(n, values) -> GapSummary:
    mean = float(values.mean())
    se = float(values.std(ddof=1) / math.sqrt(values.shape[0]))
    half = float(stats.t.ppf(0.975, values.shape[0] - 1)) * se
    return GapSummary(int(n), mean, se, mean - half, mean + half)


def _setup(config: MonteCarloConfig):
    mu = make_process(config.process, d=config.d)
    score = make_score(config.score, mu)
    return mu, score


@one_blas_thread
def population_limits(config: MonteCarloConfig) -> Limits:
    """Δ_∞, V_∞ and the minimisers, by quadrature, independently of the Monte Carlo engine."""
    mu, score = _setup(config)
    net = parameter_net(config.d, config.net_size, config.net_radius)
    opts = dict(score=score, r=config.r, protocol=config.protocol, alpha=config.alpha, keep=config.keep,
                method="quadrature")
    net_loss = population_loss(mu, net, method="quadrature").values
    truth = mu.truth()
    theta_star = np.r_[truth.w, truth.b]  # well specified: the truth minimises L
    min_loss = float(population_loss(mu, theta_star[None, :], method="quadrature").values[0])
    if config.protocol in ("random", "ec") or (config.protocol == "ac" and config.alpha == 0.0):
        return Limits(0.0, 0.0, theta_star, theta_star.copy(), min_loss, net_loss, net_loss.copy())  # ν = µ
    net_limit = population_loss(mu, net, **opts).values
    fun = lambda th: float(population_loss(mu, th[None, :], **opts).values[0])  # noqa: E731
    theta_nu = _minimise_in_ball(fun, None, theta_star, config.net_radius)
    v_inf = float(population_loss(mu, theta_nu[None, :], method="quadrature").values[0]) - min_loss
    return Limits(float(np.max(np.abs(net_limit - net_loss))), max(v_inf, 0.0), theta_star, theta_nu, min_loss,
                  net_loss, net_limit)


def _minimise_in_ball(fun, jac, start, radius):
    """argmin of a convex function over the ball ‖θ‖ ≤ radius (W): unconstrained BFGS when its
    solution is inside, else SLSQP with the constraint ‖θ‖² ≤ radius²."""
    res = optimize.minimize(fun, start, jac=jac, method="BFGS", options={"gtol": 1e-10, "maxiter": 500})
    if res.success and np.linalg.norm(res.x) <= radius:
        return res.x
    cons = {"type": "ineq", "fun": lambda th: radius**2 - th @ th, "jac": lambda th: -2.0 * th}
    res = optimize.minimize(fun, start, jac=jac, method="SLSQP", constraints=[cons],
                            options={"ftol": 1e-15, "maxiter": 1000})
    return res.x


def _replication(config, mu, score, model, net, net_loss, min_loss, n, j, backend):
    from .models import fit_weighted, net_losses, net_losses_reference

    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(n, j)))
    data = mu.sample(n, rng)
    sel = prune(score(data.x, data.y), config.r, config.protocol, alpha=config.alpha, keep=config.keep, rng=rng)
    x, y, p = data.x[sel.indices], data.y[sel.indices], np.asarray(sel.weights)
    losses = (net_losses if backend == "numba" else net_losses_reference)(model, net, x, y, p)
    delta = float(np.max(np.abs(losses - net_loss)))
    fit = fit_weighted(model, x, y, p)
    theta, converged = fit.theta, bool(fit.converged)
    if not converged or np.linalg.norm(theta) > config.net_radius:
        # The minimiser over W lies on the sphere (e.g. a separable pruned sample, whose
        # unconstrained minimiser is at infinity): solve the constrained problem instead.
        fun = lambda th: float(p @ model.loss(th, x, y))  # noqa: E731
        jac = lambda th: p @ model.grad(th, x, y)  # noqa: E731
        start = fit.theta * min(1.0, 0.99 * config.net_radius / max(np.linalg.norm(fit.theta), 1e-300))
        theta = _minimise_in_ball(fun, jac, start, config.net_radius)
        converged = True
    pop = population_loss(mu, theta[None, :], method="quadrature").values[0]
    return delta, float(pop - min_loss), converged


@one_blas_thread
def run_montecarlo(config: MonteCarloConfig, *, results_dir=None, backend: str = "numba",
                   progress: bool | None = None) -> MonteCarloResult:
    """Run (or resume, or reuse) a Monte Carlo experiment.

    Parameters
    ----------
    config : MonteCarloConfig
    results_dir : path, optional
        Folder of result files. The file ``montecarlo-<hash>.json`` is reused when complete;
        a partial file (from an interrupted run) is resumed, recomputing only the missing n.
        The file is rewritten after each completed n, atomically.
    backend : {'numba', 'reference'}
        The net-loss kernel; both give bitwise identical numbers.
    progress : bool or None
        Progress bar (None: only on a terminal).
    """
    from tqdm.auto import tqdm

    from .models import make_model

    if not isinstance(config, MonteCarloConfig):
        raise TypeError(f"config must be a MonteCarloConfig, got {type(config).__name__}")
    backend = check_choice("backend", backend, ("numba", "reference"))
    start = time.perf_counter()
    path = None if results_dir is None else Path(results_dir) / f"montecarlo-{config.hash}.json"
    stored = read_json(path) if path is not None else None
    if stored is not None and stored.get("config_hash") != config.hash:
        stored = None
    done = {} if stored is None else {int(k): v for k, v in stored.get("per_n", {}).items()}

    limits = _limits_from(stored) if stored is not None else None
    if limits is None:
        limits = population_limits(config)
    mu, score = _setup(config)
    model = make_model(config.model, config.d)
    net = parameter_net(config.d, config.net_size, config.net_radius)
    todo = [n for n in config.ns if n not in done]
    bar = tqdm(total=len(todo) * config.reps, desc=f"{config.protocol} r={config.r}", leave=False,
               disable=(not progress) if progress is not None else None)
    try:
        for n in todo:
            rows = [_replication(config, mu, score, model, net, limits.net_loss, limits.min_loss, n, j, backend)
                    for j in _counted(range(config.reps), bar)]
            done[n] = {"delta": [r[0] for r in rows], "validity": [r[1] for r in rows],
                       "converged": [r[2] for r in rows]}
            if path is not None:
                _write(path, config, done, limits, complete=False, seconds=time.perf_counter() - start)
    finally:
        bar.close()
    seconds = time.perf_counter() - start if todo or stored is None else float(stored.get("seconds", 0.0))
    if path is not None and todo:
        _write(path, config, done, limits, complete=True, seconds=seconds)
    delta = np.array([done[n]["delta"] for n in config.ns])
    validity = np.array([done[n]["validity"] for n in config.ns])
    converged = np.array([done[n]["converged"] for n in config.ns], dtype=bool)
    ns_all = np.repeat(np.asarray(config.ns, float), config.reps)
    enough = len(config.ns) >= 2
    return MonteCarloResult(
        config, delta, validity, converged, limits,
        tuple(_summary(n, delta[i]) for i, n in enumerate(config.ns)),
        tuple(_summary(n, validity[i]) for i, n in enumerate(config.ns)),
        loglog_fit(ns_all, delta.ravel()) if enough else None,
        loglog_fit(ns_all, np.maximum(validity.ravel(), 1e-300)) if enough else None,
        seconds, path,
    )  # fmt: skip


def _counted(iterable, bar):
    for item in iterable:
        yield item
        bar.update()


def _limits_from(stored) -> Limits | None:
    try:
        raw = stored["limits"]
        return Limits(**{k: (np.asarray(v, dtype=float) if isinstance(v, list) else float(v)) for k, v in raw.items()})
    except (KeyError, TypeError, ValueError):
        return None


def _write(path, config, done, limits, *, complete, seconds):
    atomic_write_json(path, {
        "kind": "montecarlo", "config": config.to_dict(), "config_hash": config.hash, "complete": complete,
        "versions": versions(), "seconds": seconds,
        "limits": {key: (value.tolist() if isinstance(value, np.ndarray) else value)
                   for key, value in asdict(limits).items()},
        "per_n": {str(n): v for n, v in sorted(done.items())},
    })  # fmt: skip
