r"""The Monte Carlo engine: consistency and validity gaps of a pruning protocol (docs/theory.md, "Limits").

For each sample size n and replication, draw D_n ~ µ^n, score it, prune it, and measure

.. math::

    \Delta_n^A = \max_{\theta \in W} |L_n^A(\theta) - L(\theta)|, \qquad
    V_n^A = L(\hat\theta_n^A) - \min L, \quad \hat\theta_n^A = \arg\min L_n^A,

over a fixed finite net W (:func:`parameter_net`), with L computed by quadrature
(:mod:`theory_sim.models.population`) and L_n^A by the numba kernel :func:`theory_sim.models.linear.net_losses`
(or its bitwise twin with ``backend="reference"``). The limits the gaps must reach are
computed independently, by quadrature (``method="quadrature"``, the default):

.. math::

    \Delta_\infty = \max_{\theta \in W} |L_\nu(\theta) - L(\theta)|, \qquad
    V_\infty = L(\arg\min L_\nu) - \min L,

with ν the protocol's limit (ν_r for SBPA, the AC density for AC, µ for random and EC).

Any registered process, score, model and policy can be named. Where the quadrature does not
cover the setting (another process, score or model, a policy whose limit is only a density), the
config must say ``method="monte-carlo"``: L, L_ν, Δ_∞ and V_∞ then come from ``n_mc`` seeded
draws of µ (:mod:`theory_sim.experiments._population_mc`, stream ``(0, b)`` for batch b, which
no replication uses) with jackknife standard errors that include the threshold's; a config
that names such a setting with the default method is refused when it is built, saying why.

Randomness: replication j at sample size n uses the stream ``STREAMS(seed, "replication", n, j)``
= ``SeedSequence(seed, spawn_key=(n, j))`` (:mod:`theory_sim.rng`) — independent of the other
replications, of the list of n and of the thread count, so results are bitwise reproducible
and a resumed run computes exactly what an uninterrupted one would.

Result files: one per config through :class:`theory_sim.store.Store`; the limits are its shared
part, each n a unit.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
from scipy import stats
from scipy.stats import qmc
from threadpoolctl import threadpool_limits

from theory_sim.experiments._framework import ExperimentConfig, one_blas_thread, register_runner
from theory_sim.rng import Streams
from theory_sim.stats import LoglogFit, loglog_fit, t_summary
from theory_sim.store import Store, bool_array, number_array
from theory_sim.validation import check_choice, check_int, check_memory, check_real, check_sample_sizes, check_setting
from theory_sim.experiments._population_mc import PopulationMC, fit_in_ball, minimise_in_ball, weighted_losses
from theory_sim.models.linear import MODELS, Model, make_model, net_losses, net_losses_reference
from theory_sim.models.population import population_loss, quadrature_gap
from theory_sim.core.policies import POLICIES
from theory_sim.core.processes import PROCESSES, make_process
from theory_sim.core.pruning import prune
from theory_sim.core.scores import SCORES, make_score

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
STREAMS = Streams(replication=None, population=0)
POPULATION_METHODS = ("quadrature", "monte-carlo")
MIN_N_MC = 1_000


def tiny_net(size_params: dict) -> dict:
    """``{"net_size": ...}`` when a size table sets one (the "tiny" size: a small net W keeps the
    quadrature limits cheap for the contract tests), else ``{}`` (the default net)."""
    return {"net_size": size_params["net_size"]} if "net_size" in size_params else {}


MAX_NET_DIM = 10_000


def parameter_net(d: int, size: int = 256, radius: float = 6.0) -> np.ndarray:
    r"""The net W: ``size`` points of the ball {θ ∈ R^{d+1} : ‖θ‖ ≤ radius}, θ = (w, b).

    Deterministic: the first d + 2 coordinates of the unscrambled Halton sequence (skipping
    the origin) map to a direction (Gaussian quantiles of the first d + 1, normalised) and a
    radius (radius · u^{1/(d+1)} from the last), which spreads the points uniformly in the ball.
    """
    d = check_int("d", d, low=1, high=MAX_NET_DIM)
    size = check_int("net_size", size, low=1)
    radius = check_real("net_radius", radius, low=0.0, low_open=True)
    u = qmc.Halton(d + 2, scramble=False).random(size + 1)[1:]
    direction = stats.norm.ppf(u[:, : d + 1])
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return radius * u[:, d + 1 :] ** (1.0 / (d + 1)) * direction


@dataclass(frozen=True)
class MonteCarloConfig(ExperimentConfig):
    """A Monte Carlo experiment: everything that determines its numbers.

    Attributes
    ----------
    process : str
        A registered process (quadrature: 'gaussian-logistic', 'gaussian-mixture').
    d : int
    score : str
        A registered score (reference model: the truth).
    protocol : str
        A registered policy ('sbpa', 'random', 'ec', 'ac', ...).
    r : float in (0, 1]
    alpha : float or None ([0, 1) for EC, [0, 1] for AC; as the policy's ``check_alpha`` allows)
    keep : {'lowest', 'highest'}
    model : str
        A registered model (quadrature: 'logistic').
    net_size : int ≥ 1, net_radius : float > 0
        The parameter set W is the ball ‖θ‖ ≤ net_radius; the net is :func:`parameter_net`.
        Minimisers (of L_n^A for V_n, of L_ν for V_∞) are taken over W, as in the paper.
    ns : tuple of int, increasing, each with ⌊α ⌊r n⌋⌋ < ⌊r n⌋ points to explore when needed
    reps : int ≥ 2
    seed : int ≥ 0
    method : {'quadrature', 'monte-carlo'}
        How the population losses (L, L_ν, Δ_∞, V_∞) are computed; 'quadrature' is refused at
        construction where it does not exist, with the reason.
    n_mc : int ≥ 1000
        Draws of µ for ``method="monte-carlo"``.
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
    method: str = "quadrature"
    n_mc: int = 1_000_000

    ADDED_FIELDS = {"method": "quadrature", "n_mc": 1_000_000}  # not in the hash at their defaults

    def __post_init__(self):
        r = check_setting(self, processes=PROCESSES, scores=SCORES, policies=POLICIES)
        # The net is a Halton sequence in d + 2 dimensions, which needs the first d + 2 primes:
        # beyond ~10^4 dimensions building it alone takes minutes.
        check_int("d", self.d, low=1, high=MAX_NET_DIM)
        check_choice("model", self.model, MODELS)
        check_choice("method", self.method, POPULATION_METHODS)
        check_int("n_mc", self.n_mc, low=MIN_N_MC)
        check_memory("n_mc", self.n_mc, 3 * 8 * (self.d + 2) * self.n_mc)
        _check_runnable(self)
        if check_int("net_size", self.net_size, low=0) == 0:
            raise ValueError("net_size must be at least 1: the net W is empty")
        check_real("net_radius", self.net_radius, low=0.0, low_open=True)
        ns = check_sample_sizes(self.ns, r, min_budget=2)
        object.__setattr__(self, "ns", ns)
        check_int("reps", self.reps, low=2)
        check_int("seed", self.seed, low=0)
        point = 8 * (self.d + 2)  # one point (x, y) or one parameter θ, with a score or a loss
        check_memory("n", max(ns), 6 * point * max(ns))  # a replication's sample, scores, kept copy
        check_memory("net_size", self.net_size, 4 * point * self.net_size)  # Halton points, directions, net

    KIND = "montecarlo"


def _check_runnable(config):
    """Refuse, at construction, a setting the engine cannot run: the objects must fit together, the
    policy must declare a limit, and the quadrature must exist unless ``method='monte-carlo'``."""
    mu, score = _setup(config)
    model = make_model(config.model, config.d)
    if getattr(model, "n_params", None) != mu.d + 1:
        raise ValueError(f"model {config.model!r} must have d + 1 = {mu.d + 1} parameters (the net W lives in "
                         f"R^(d+1)), got {getattr(model, 'n_params', None)}")
    task = getattr(model, "task", None)
    if task is not None and task != mu.task:
        raise ValueError(f"model {config.model!r} is for {task} but process {config.process!r} is a {mu.task} "
                         "process")
    policy = POLICIES[config.protocol]
    alpha = policy.check_alpha(config.alpha)
    lim = policy.limit(config.r, alpha)
    if config.method == "quadrature":
        if config.model != "logistic":
            why = f"model {config.model!r} has no population-loss quadrature"
        else:
            why = quadrature_gap(mu, score, lim, config.protocol)
            if why is not None:
                why = why.replace(f"process {mu.name!r}", f"process {config.process!r}").replace(
                    f"under {mu.name!r}", f"under {config.process!r}")
        if why is not None:
            raise ValueError(f"{why}: population losses will use Monte Carlo; pass method='monte-carlo'")
    elif lim is None:
        try:
            density = policy.limit_density(mu, score, config.r, alpha=alpha, keep=config.keep)
            if density is not None:  # a density may need what it lacks only when evaluated (a score's law)
                probe = mu.sample(2, rng=0)
                density(probe.x, probe.y)
        except ValueError as exc:
            raise ValueError(f"policy {config.protocol!r} has no known limit with score {config.score!r} on "
                             f"process {config.process!r} ({exc}): Delta_inf and V_inf cannot be computed") from None
        if density is None:
            raise ValueError(f"policy {config.protocol!r} declares no limit law (neither limit() nor limit_density()): "
                             "Delta_inf and V_inf cannot be computed")


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
    """Limits: Δ_∞ over the net, V_∞, the minimisers of L and L_ν, L and L_ν on the net; the standard
    errors of Δ_∞ and V_∞ (0 for quadrature) and the method ('quadrature' or 'monte-carlo')."""

    delta_inf: float
    v_inf: float
    theta_star: np.ndarray
    theta_nu: np.ndarray
    min_loss: float
    net_loss: np.ndarray
    net_limit_loss: np.ndarray
    delta_inf_se: float = 0.0
    v_inf_se: float = 0.0
    method: str = "quadrature"


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
    s = t_summary(values)
    return GapSummary(int(n), s.mean, s.stderr, s.ci_low, s.ci_high)


def _setup(config: MonteCarloConfig):
    mu = make_process(config.process, d=config.d)
    score = make_score(config.score, mu)
    return mu, score


def _population_mc(config, mu, score, model) -> PopulationMC:
    """The seeded Monte Carlo population of ``config`` (``method='monte-carlo'``)."""
    return PopulationMC(mu, score, model, r=config.r, protocol=config.protocol, alpha=config.alpha, keep=config.keep,
                        n_mc=config.n_mc, streams=lambda b: STREAMS(config.seed, "population", b))


def _mc_limits(config, mu, score, model, population=None) -> Limits:
    population = population or _population_mc(config, mu, score, model)
    net = parameter_net(config.d, config.net_size, config.net_radius)
    theta_star = None
    if config.model == "logistic" and hasattr(mu, "truth") and np.linalg.norm(_truth(mu)) <= config.net_radius:
        theta_star = _truth(mu)  # well specified: the Bayes logit minimises the logistic population loss
    policy = POLICIES[config.protocol]
    lim = policy.limit(config.r, policy.check_alpha(config.alpha))
    if lim is not None and lim.level is None:  # ν = µ
        net_loss = population.loss(net)
        star = theta_star if theta_star is not None else population._argmin(range(len(population.batches)), False,
                                                                              config.net_radius, None)
        min_loss = float(population.loss(star)[0])
        return Limits(0.0, 0.0, star, star.copy(), min_loss, net_loss, net_loss.copy(), 0.0, 0.0, "monte-carlo")
    out = population.limits(net, config.net_radius, theta_star)
    return Limits(**out, method="monte-carlo")


def _truth(mu) -> np.ndarray:
    truth = mu.truth()
    return np.r_[truth.w, truth.b]


@one_blas_thread
def population_limits(config: MonteCarloConfig) -> Limits:
    """Δ_∞, V_∞ and the minimisers, independently of the Monte Carlo engine: by quadrature, or with
    ``config.method == 'monte-carlo'`` by seeded Monte Carlo with standard errors (module docstring)."""
    mu, score = _setup(config)
    if config.method == "monte-carlo":
        return _mc_limits(config, mu, score, make_model(config.model, config.d))
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


_minimise_in_ball = minimise_in_ball


def _replication(config, mu, score, model, net, net_loss, min_loss, n, j, backend, population=None):
    rng = np.random.default_rng(STREAMS(config.seed, "replication", n, j))
    data = mu.sample(n, rng)
    sel = prune(score(data.x, data.y), config.r, config.protocol, alpha=config.alpha, keep=config.keep, rng=rng)
    x, y, p = data.x[sel.indices], data.y[sel.indices], np.asarray(sel.weights)
    if isinstance(model, Model):
        losses = (net_losses if backend == "numba" else net_losses_reference)(model, net, x, y, p)
    else:
        losses = weighted_losses(model, net, x, y, p)
    delta = float(np.max(np.abs(losses - net_loss)))
    total = float(p.sum())
    if not total > 0:
        raise ValueError(f"policy {config.protocol!r} gave zero total weight at n={n}: L_n^A has no minimiser")
    theta, converged = fit_in_ball(model, x, y, p if abs(total - 1.0) <= 1e-9 else p / total, config.net_radius)
    if population is None:
        pop = population_loss(mu, theta[None, :], method="quadrature").values[0]
    else:
        pop = population.loss(theta)[0]
    return delta, float(pop - min_loss), converged


@one_blas_thread
def run_montecarlo(config: MonteCarloConfig, *, results_dir=None, backend: str = "numba",
                   progress: bool | None = None) -> MonteCarloResult:
    """Run (or resume, or reuse) a Monte Carlo experiment.

    Parameters
    ----------
    config : MonteCarloConfig
    results_dir : path, optional
        Folder of result files (:class:`theory_sim.store.Store`): ``montecarlo-<hash>.json`` is
        reused when complete; a partial file (from an interrupted run) is resumed, computing
        only the missing n; a file that fails its checks is set aside and recomputed.
    backend : {'numba', 'reference'}
        The net-loss kernel; both give bitwise identical numbers.
    progress : bool or None
        Progress bar (None: only on a terminal).
    """
    if not isinstance(config, MonteCarloConfig):
        raise TypeError(f"config must be a MonteCarloConfig, got {type(config).__name__}")
    backend = check_choice("backend", backend, ("numba", "reference"))
    mu, score = _setup(config)
    model = make_model(config.model, config.d)
    net = parameter_net(config.d, config.net_size, config.net_radius)
    population = None
    if config.method == "monte-carlo":  # built once per run of this runner (so once per unit task when
        # experiments.run spreads the units over workers), when a unit or the limits need it
        population = functools.cache(lambda: _population_mc(config, mu, score, model))

    def compute(n, limits):
        pop = population() if population is not None else None
        rows = [_replication(config, mu, score, model, net, limits.net_loss, limits.min_loss, n, j, backend, pop)
                for j in range(config.reps)]
        return {"delta": [r[0] for r in rows], "validity": [r[1] for r in rows], "converged": [r[2] for r in rows]}

    def shared():
        if population is None:
            return _limits_to_dict(population_limits(config))
        with threadpool_limits(limits=1, user_api="blas"):
            return _limits_to_dict(_mc_limits(config, mu, score, model, population()))

    record = Store(results_dir).run(
        config, units=config.ns, compute=compute, shared=shared,
        decode_shared=_limits_from_dict, decode_unit=partial(_decode_unit, reps=config.reps), progress=progress,
        desc=f"{config.protocol} r={config.r}")
    done = record.units
    delta = np.array([done[n]["delta"] for n in config.ns])
    validity = np.array([done[n]["validity"] for n in config.ns])
    converged = np.array([done[n]["converged"] for n in config.ns], dtype=bool)
    ns_all = np.repeat(np.asarray(config.ns, float), config.reps)
    enough = len(config.ns) >= 2
    return MonteCarloResult(
        config, delta, validity, converged, record.shared,
        tuple(_summary(n, delta[i]) for i, n in enumerate(config.ns)),
        tuple(_summary(n, validity[i]) for i, n in enumerate(config.ns)),
        loglog_fit(ns_all, delta.ravel()) if enough else None,
        loglog_fit(ns_all, np.maximum(validity.ravel(), 1e-300)) if enough else None,
        record.seconds, record.path,
    )  # fmt: skip


register_runner(MonteCarloConfig, run_montecarlo)


def _decode_unit(raw, *, reps):
    out = {key: number_array(raw[key], key, shape=(reps,)) for key in ("delta", "validity")}
    out["converged"] = bool_array(raw["converged"], "converged", shape=(reps,))
    if np.any(out["delta"] < 0):
        raise ValueError("delta holds a negative value: a gap is a maximum of absolute values")
    return out


_LIMIT_ARRAYS = ("theta_star", "theta_nu", "net_loss", "net_limit_loss")


_LIMIT_EXTRAS = {"delta_inf_se": 0.0, "v_inf_se": 0.0, "method": "quadrature"}  # left out at these values


def _limits_to_dict(limits: Limits) -> dict:
    return {key: (value.tolist() if isinstance(value, np.ndarray) else value) for key, value in asdict(limits).items()
            if not (key in _LIMIT_EXTRAS and value == _LIMIT_EXTRAS[key])}


def _limits_from_dict(raw) -> Limits:
    values = {}
    for key in Limits.__dataclass_fields__:
        value = raw.get(key, _LIMIT_EXTRAS.get(key)) if key in _LIMIT_EXTRAS else raw[key]
        if key == "method":
            values[key] = check_choice("limits.method", value, POPULATION_METHODS)
        elif key in _LIMIT_ARRAYS:
            values[key] = number_array(value, f"limits.{key}")
            if values[key].ndim != 1:
                raise ValueError(f"limits.{key} must be a list of numbers")
        else:
            values[key] = float(number_array([value], f"limits.{key}")[0])
    if min(values["delta_inf"], values["v_inf"], values["delta_inf_se"], values["v_inf_se"]) < 0:
        raise ValueError("limits: delta_inf, v_inf and their standard errors must be non-negative")
    return Limits(**values)
