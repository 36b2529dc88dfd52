r"""The phase_diagram experiment: which strategy wins where in the (r, n) plane (docs/theory.md, "Phase diagrams").

Settings (:data:`SETTINGS`), each predicted before it is measured (docs/theory.md):

- ``line``: the least-squares line on ``sine-regression`` (ω = 1, s = 0.5), label-free ``distance``
  score |x|, hard = highest. Prediction: :func:`theory_sim.experiments.scaling_laws.predicted_crossover`
  (V_∞ plus the O(1/n) terms by quadrature) — SBPA keep-hard wins below n*(r), random above.
- ``logistic-margin``: logistic regression on ``gaussian-logistic`` (d = 2) with the label-free
  ``margin`` score |u*| (hard = lowest). Prediction (:mod:`theory_sim.models.logistic_prediction`):
  V_∞ = 0 at every r (a label-free region leaves P(y | x) unchanged, the model is well specified), so
  the comparison is the ratio of variance constants alone: the boundary is vertical, at the r₀ where
  C_hard(r₀) = (d + 1)/2, and does not move with n.
- ``logistic-loss``: the same with the label-dependent ``loss`` score (hard = highest): V_∞ > 0, huge
  below r ≈ 0.5; above it a small V_∞ and C_hard < (d + 1)/2 give a crossover n*(r) that grows with r.
- ``mlp``: a tanh network of width 8 on sine-regression (ω = 3, s = 0.5), trained by Adam (η = 0.02)
  with :func:`theory_sim.models.batch_training.train_batch`, every (strategy, replication) of one (n, r)
  at once: full batch for ``epochs`` steps when k ≤ 1000, else mini-batches of 1000 for about as many
  steps (⌈epochs · 1000 / k⌉ epochs). No quadrature prediction exists.

Strategies (:data:`STRATEGIES`), at budget k = ⌊r n⌋: ``random``, ``sbpa-hard``, ``sbpa-easy``, and
``ec``/``ac`` (score-based part at the hard end) at the α chosen from the data by
:func:`theory_sim.choose_alpha` (Neyman rule for EC, bias-variance rule for AC) on a pilot fit on a
random fifth of D_n (whitened per-point gradients for the line and logistic, per-point losses for
the network).

Randomness (docs/theory.md, "Randomness"): D_n of (n, j) ← ``STREAMS(seed, "data", n, j)``, shared by
every r and strategy (paired comparisons); the pilot subset ← ``("pilot", n, j)``; the pruning of
(r, strategy S) ← ``("pruning", n, j, r_key(r), S)``; the network's θ₀ ← ``("init", n, j)``, shared; its
mini-batch order ← ``("order", n, j, r_key(r), S)`` (the pilot's: ``("order", n, j)``).

Result files: one per setting through :class:`theory_sim.store.Store`, each n a unit: the fitted
parameters (r, strategy, replication, p) and the chosen α (r, {EC, AC}, replication).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from theory_sim.core.alpha_choice import choose_alpha, whiten
from theory_sim.core.processes import make_process
from theory_sim.core.pruning import prune
from theory_sim.core.scores import make_score
from theory_sim.experiments._framework import Experiment, ExperimentConfig, one_blas_thread, register, register_runner
from theory_sim.experiments.scaling_laws import ScalingLawConfig, default_ns, predicted_crossover
from theory_sim.models.batch_training import train_batch
from theory_sim.models.logistic_ball import fit_logistic_ball, logistic_gradients
from theory_sim.models.logistic_prediction import logistic_design, logistic_excess
from theory_sim.models.mlp import make_mlp
from theory_sim.models.network_population import quadrature_rule
from theory_sim.models import mlp_batch
from theory_sim.models.polynomial import PolynomialProblem, fit_polynomial, legendre_features
from theory_sim.rng import Streams, r_key
from theory_sim.stats import bootstrap_crossing, crossing
from theory_sim.store import Store, number_array
from theory_sim.validation import budget, check_choice, check_increasing_sizes, check_int, check_levels

__all__ = ["DECIDED", "PHASE_SHIFT", "PhaseConfig", "PhaseResult", "PhaseResults", "SETTINGS", "STRATEGIES", "agreement", "agrees",
           "configs", "crossovers", "predicted_boundary", "run_phase_diagram", "winners"]

STREAMS = Streams(data=0, pilot=1, pruning=2, init=3, order=4)
STRATEGIES = ("random", "sbpa-hard", "sbpa-easy", "ec", "ac")  # order enters the pruning seeds: never reorder
# setting -> (process, its options, score, model)
SETTINGS = {
    "line": ("sine-regression", dict(omega=1.0, noise=0.5), "distance", "line"),
    "logistic-margin": ("gaussian-logistic", {}, "margin", "logistic"),
    "logistic-loss": ("gaussian-logistic", {}, "loss", "logistic"),
    "mlp": ("sine-regression", dict(omega=3.0, noise=0.5), "distance", "mlp"),
}
PILOT = 0.2
MLP_WIDTH, MLP_LR, MLP_BATCH = 8, 2e-2, 1000


@dataclass(frozen=True)
class PhaseConfig(ExperimentConfig):
    """One setting of :data:`SETTINGS` over a grid rs × ns, ``reps`` replications; ``epochs`` (network only);
    ``curve_rs``: the finer grid of r on which the predicted boundary is drawn (empty: the config's rs)."""

    setting: str = "line"
    rs: tuple = (0.1, 0.3, 0.5)
    ns: tuple = (100, 1000, 10000)
    reps: int = 20
    epochs: int = 400
    curve_rs: tuple = ()
    boot: int = 1000
    seed: int = 0

    KIND = "phase-diagram"

    def __post_init__(self):
        check_choice("setting", self.setting, SETTINGS)
        object.__setattr__(self, "rs", check_levels("rs", self.rs))
        object.__setattr__(self, "ns", check_increasing_sizes("ns", self.ns, min_count=3))
        if self.curve_rs:
            object.__setattr__(self, "curve_rs", check_levels("curve_rs", self.curve_rs))
        for r in self.rs:
            if budget(r, self.ns[0]) < 4:
                raise ValueError(f"ns[0]={self.ns[0]} is too small for r={r}: the budget floor(r n) must be ≥ 4")
        check_int("reps", self.reps, low=2)
        check_int("epochs", self.epochs, low=1)
        check_int("boot", self.boot, low=0)
        check_int("seed", self.seed, low=0)


@dataclass(frozen=True, eq=False)
class PhaseResult:
    """excess (r, strategy, n, rep): L(θ̂) − min L (the network: over the Bayes risk s²/2); alpha (r, {ec, ac}, n,
    rep): the chosen α; predicted (r, {random, sbpa-hard, sbpa-easy}, n) or None (no quadrature);
    boundary: :func:`predicted_boundary` on the curve grid (None for the network)."""

    config: PhaseConfig
    excess: np.ndarray
    alpha: np.ndarray
    predicted: object
    boundary: object
    seconds: float
    path: object = None


# ---------------------------------------------------------------------------------------
# The settings: pilot values and fits
# ---------------------------------------------------------------------------------------
def _setup(config):
    name, options, score_name, model = SETTINGS[config.setting]
    process = make_process(name, **options)
    return process, make_score(score_name, process), model


def _pilot_values(kind, x, y, pilot):
    """Whitened per-point gradients of a pilot fit on the rows ``pilot`` (line, logistic)."""
    if kind == "line":
        w = fit_polynomial(x[pilot, 0], y[pilot], np.full(pilot.size, 1.0 / pilot.size), 1)
        phi = legendre_features(x[:, 0], 1)
        return whiten(phi * (y - phi @ w)[:, None], phi.T @ phi / len(y))
    theta = fit_logistic_ball(x[pilot], y[pilot], np.full(pilot.size, 1.0 / pilot.size))
    return whiten(*logistic_gradients(x, y, theta))


def _selections(config, score, g, values, n, j):
    """{(r index, strategy index): Selection} and the chosen α (r, {ec, ac}) for D_n of replication j."""
    hard = score.hard
    easy = "lowest" if hard == "highest" else "highest"
    sels, alphas = {}, np.empty((len(config.rs), 2))
    for i, r in enumerate(config.rs):
        a_ec = choose_alpha(g, values, r, "ec", keep=hard).alpha
        a_ac = choose_alpha(g, values, r, "ac", keep=hard).alpha
        alphas[i] = a_ec, a_ac
        plan = (("random", None, hard), ("sbpa", None, hard), ("sbpa", None, easy), ("ec", a_ec, hard),
                ("ac", a_ac, hard))
        for s, (protocol, alpha, keep) in enumerate(plan):
            rng = STREAMS(config.seed, "pruning", n, j, r_key(r), s)
            sels[i, s] = prune(g, r, protocol, alpha=alpha, keep=keep, rng=rng)
    return sels, alphas


def _one_n(config, process, score, kind, n):
    """Fitted parameters (r, strategy, rep, p) and chosen α (r, 2, rep) at one n."""
    if kind == "mlp":
        return _one_n_mlp(config, process, score, n)
    p = 2 if kind == "line" else process.d + 1
    params = np.empty((len(config.rs), len(STRATEGIES), config.reps, p))
    alphas = np.empty((len(config.rs), 2, config.reps))
    for j in range(config.reps):
        data = process.sample(n, rng=STREAMS(config.seed, "data", n, j))
        x, y = data.x, data.y
        g = score(x) if score.label_free else score(x, y)
        pilot = np.random.default_rng(STREAMS(config.seed, "pilot", n, j)).choice(
            n, size=max(10, math.ceil(PILOT * n)), replace=False)
        values = _pilot_values(kind, x, y, pilot)
        sels, alphas[..., j] = _selections(config, score, g, values, n, j)
        for (i, s), sel in sels.items():
            xs, ys = x[sel.indices], y[sel.indices]
            if kind == "line":
                params[i, s, j] = fit_polynomial(xs[:, 0], ys, sel.weights, 1)
            else:
                params[i, s, j] = fit_logistic_ball(xs, ys, np.asarray(sel.weights))
    return params, alphas


def _one_n_mlp(config, process, score, n):
    """The network: every (strategy, rep) of one r trained at once (equal budgets k = ⌊r n⌋)."""
    arch = make_mlp(1, (MLP_WIDTH,))
    datas = [process.sample(n, rng=STREAMS(config.seed, "data", n, j)) for j in range(config.reps)]
    x = np.concatenate([d.x for d in datas])
    y = np.concatenate([d.y for d in datas])
    theta0 = np.stack([arch.init(STREAMS(config.seed, "init", n, j)) for j in range(config.reps)])
    pilots = np.stack([j * n + np.random.default_rng(STREAMS(config.seed, "pilot", n, j)).choice(
        n, size=max(10, math.ceil(PILOT * n)), replace=False) for j in range(config.reps)])
    size = pilots.shape[1]
    batch = min(size, MLP_BATCH)
    order = None if batch == size else [STREAMS(config.seed, "order", n, j) for j in range(config.reps)]
    pilot_fit = train_batch(arch, x, y, theta0=theta0, epochs=math.ceil(config.epochs * batch / size),
                            batch_size=batch, rows=pilots, order=order, lr=MLP_LR)
    own = np.arange(config.reps)[:, None] * n + np.arange(n)[None, :]
    losses = mlp_batch.sample_losses(arch, pilot_fit.params, x[own], y[own])  # (reps, n): per-point pilot losses
    params = np.empty((len(config.rs), len(STRATEGIES), config.reps, arch.n_params))
    alphas = np.empty((len(config.rs), 2, config.reps))
    plans = []
    for j, d in enumerate(datas):
        sels, alphas[..., j] = _selections(config, score, score(d.x), losses[j], n, j)
        plans.append(sels)
    for i, r in enumerate(config.rs):
        rows = np.stack([j * n + plans[j][i, s].indices for s in range(len(STRATEGIES)) for j in range(config.reps)])
        weights = np.stack([plans[j][i, s].weights for s in range(len(STRATEGIES)) for j in range(config.reps)])
        k = rows.shape[1]
        batch, epochs, order = k, config.epochs, None
        if k > MLP_BATCH:  # mini-batches of MLP_BATCH for about config.epochs steps in all
            batch, epochs = MLP_BATCH, math.ceil(config.epochs * MLP_BATCH / k)
            order = [STREAMS(config.seed, "order", n, j, r_key(r), s) for s in range(len(STRATEGIES))
                     for j in range(config.reps)]
        fit = train_batch(arch, x, y, weights, theta0=np.tile(theta0, (len(STRATEGIES), 1)), epochs=epochs,
                          batch_size=batch, rows=rows, order=order, lr=MLP_LR)
        params[i] = np.asarray(fit.params).reshape(len(STRATEGIES), config.reps, -1)
    return params, alphas


# ---------------------------------------------------------------------------------------
# Test losses and predictions
# ---------------------------------------------------------------------------------------
def _excess(config, process, kind, params):
    if kind == "line":
        return PolynomialProblem(process.omega, process.noise, 1).excess(params)
    if kind == "logistic":
        return logistic_excess(process, params.reshape(-1, params.shape[-1])).reshape(params.shape[:-1])
    arch = make_mlp(1, (MLP_WIDTH,))
    rule = quadrature_rule(process, 1.0)
    flat = params.reshape(-1, params.shape[-1])
    v = mlp_batch.outputs(arch, flat, rule.x)[..., 0]
    return (0.5 * ((v - rule.y[None, :]) ** 2) @ rule.weights).reshape(params.shape[:-1])


def _line_config(config, r):
    return ScalingLawConfig(rs=(r,), ns=config.ns, protocols=("random", "sbpa-hard", "sbpa-easy"), replications=2)


def _predicted(config, process, score, kind, r, protocol, n):
    if kind == "line":
        prob = PolynomialProblem(process.omega, process.noise, 1)
        return prob.predict(protocol, r, 0.5, n).total
    design = logistic_design(process, score, protocol, r)
    k = budget(r, n)
    return design.v_inf + (design.constant if math.isfinite(design.constant) else 0.0) / k


def predicted_boundary(config, rs=None) -> dict:
    """For each r: the predicted (status, n*) of SBPA keep-hard (and keep-easy) against random over the
    config's n range, by quadrature (:func:`theory_sim.stats.crossing` of the log ratio of the predicted
    excesses); None for the network (no quadrature exists). Logistic: where the limit has no minimiser
    in W the variance constant is undefined and the prediction is V_∞ alone, a lower bound — its status
    is kept when it is ``never-better`` and is ``undetermined`` otherwise."""
    process, score, kind = _setup(config)
    if kind == "mlp":
        return None
    out = {}
    for r in (rs or config.curve_rs or config.rs):
        entry = {}
        for protocol in ("sbpa-hard", "sbpa-easy"):
            if kind == "line":
                entry[protocol] = predicted_crossover(_line_config(config, r), r, protocol, per_decade=30)
            else:
                lo, hi = config.ns[0], config.ns[-1]
                grid = np.unique(np.round(np.logspace(math.log10(lo), math.log10(hi),
                                                      int(30 * math.log10(hi / lo)) + 1)).astype(int))
                diff = np.array([math.log(_predicted(config, process, score, kind, r, protocol, int(m)))
                                 - math.log(_predicted(config, process, score, kind, r, "random", int(m)))
                                 for m in grid])
                status = crossing(grid, diff)
                if not math.isfinite(logistic_design(process, score, protocol, r).constant) \
                        and status[0] != "never-better":
                    status = ("undetermined", math.nan)  # V_∞ alone (a lower bound) does not decide
                entry[protocol] = status
        out[float(r)] = entry
    return out


@one_blas_thread
def run_phase_diagram(config: PhaseConfig, results_dir=None) -> PhaseResult:
    """Run (or reuse, or resume) the config; one unit of the store per n."""
    if not isinstance(config, PhaseConfig):
        raise TypeError(f"config must be a PhaseConfig, got {type(config).__name__}")
    process, score, kind = _setup(config)
    p = {"line": 2, "logistic": process.d + 1, "mlp": 3 * MLP_WIDTH + 1}[kind]
    shape_p = (len(config.rs), len(STRATEGIES), config.reps, p)
    shape_a = (len(config.rs), 2, config.reps)

    def compute(n, _):
        params, alphas = _one_n(config, process, score, kind, n)
        return {"params": params.tolist(), "alpha": alphas.tolist()}

    record = Store(results_dir).run(
        config, units=config.ns, compute=compute,
        decode_unit=lambda raw: {"params": number_array(raw["params"], "params", shape=shape_p),
                                 "alpha": number_array(raw["alpha"], "alpha", shape=shape_a)},
        desc=f"phase-diagram {config.setting}")
    params = np.stack([record.units[n]["params"] for n in config.ns], axis=2)  # (r, S, n, rep, p)
    alpha = np.stack([record.units[n]["alpha"] for n in config.ns], axis=2)
    excess = _excess(config, process, kind, params)
    predicted = boundary = None
    if kind != "mlp":
        predicted = np.array([[[_predicted(config, process, score, kind, r, protocol, n) for n in config.ns]
                               for protocol in ("random", "sbpa-hard", "sbpa-easy")] for r in config.rs])
        boundary = predicted_boundary(config)
    return PhaseResult(config, excess, alpha, predicted, boundary, record.seconds, record.path)


register_runner(PhaseConfig, run_phase_diagram)


def crossovers(result: PhaseResult, protocol: str = "sbpa-hard") -> list:
    """Per r: the measured crossing of ``protocol`` over random (paired bootstrap 95% CI,
    :func:`theory_sim.stats.bootstrap_crossing`) and the predicted (status, n*) at that r."""
    cfg = result.config
    s, q = STRATEGIES.index(protocol), STRATEGIES.index("random")
    pred = predicted_boundary(cfg, cfg.rs) if result.predicted is not None else None
    out = []
    for i, r in enumerate(cfg.rs):
        m = bootstrap_crossing(cfg.ns, result.excess[i, s], result.excess[i, q], boot=cfg.boot,
                               rng=STREAMS(cfg.seed, "data", 0, i))
        status, star = pred[float(r)][protocol] if pred is not None else (None, math.nan)
        out.append({"r": float(r), "status": m.status, "n_star": m.n_star, "ci_low": m.ci_low, "ci_high": m.ci_high,
                    "boot_fraction": m.boot_fraction, "predicted_status": status, "predicted_n_star": star})
    return out


def winners(result: PhaseResult) -> np.ndarray:
    """(r, n): the index in :data:`STRATEGIES` of the lowest mean excess."""
    return np.argmin(result.excess.mean(axis=-1), axis=1)


DECIDED = 0.9  # a measured status counts when at least this fraction of the bootstrap resamples shares it
PHASE_SHIFT = 10.0  # the negative control: the predicted n*(r) moved by this factor up and down


def agrees(c: dict, factor: float = 1.0, n_max: float = math.inf):
    """Does the prediction (n* multiplied by ``factor``; beyond ``n_max`` it becomes 'no-crossover-in-range') agree
    with the measured crossover ``c`` (an entry of :func:`crossovers`)? Same status and, for a crossover, the
    predicted n* inside the 95% bootstrap interval. None: no prediction, an undetermined one, or a measured status
    that the bootstrap does not decide (a crossover in fewer than ``DECIDED`` of the resamples, or its absence in
    fewer than ``DECIDED``)."""
    status, star = c["predicted_status"], c["predicted_n_star"]
    if status in (None, "undetermined"):
        return None
    fraction = c["boot_fraction"]
    if not (fraction >= DECIDED if c["status"] == "crossover" else fraction <= 1 - DECIDED):
        return None  # the measured status itself is not decided by the bootstrap
    if status == "crossover" and factor != 1.0:
        star = star * factor
        if star > n_max:
            status = "no-crossover-in-range"
    if status != c["status"]:
        return False
    if status == "crossover":
        return bool(c["ci_low"] <= star <= c["ci_high"])
    return True


def agreement(results: "PhaseResults", shift: float = PHASE_SHIFT) -> tuple[dict, dict, list]:
    """(numbers: a line per (setting, r); per setting with a quadrature: (r agreeing, r disagreeing); for each r
    with a predicted and a measured crossover: whether both shifted predictions, n* × shift and n* / shift, are
    rejected)."""
    numbers, per_setting, shifted = {}, {}, []
    for name, result in results.results.items():
        n_max = result.config.ns[-1]
        agree = disagree = undecided = 0
        for c in results.crossovers[name]:
            measured = (c["status"] + (f" n* = {c['n_star']:.4g} [{c['ci_low']:.4g}, {c['ci_high']:.4g}]"
                                       if c["status"] == "crossover" else "")
                        + f" (bootstrap crossover fraction {c['boot_fraction']:.2f})")
            if c["predicted_status"] is None:
                numbers[f"{name}: r={c['r']:g}"] = f"measured {measured}; no quadrature prediction"
                continue
            predicted = c["predicted_status"] + (f" n* = {c['predicted_n_star']:.4g}"
                                                 if c["predicted_status"] == "crossover" else "")
            ok = agrees(c)
            agree += ok is True
            disagree += ok is False
            numbers[f"{name}: r={c['r']:g}"] = (f"predicted {predicted}; measured {measured}: "
                                                + {True: "agrees", False: "disagrees", None: "not decided"}[ok])
            undecided += ok is None
            if c["predicted_status"] == "crossover" and c["status"] == "crossover":
                shifted.append(all(agrees(c, f, n_max) is False for f in (shift, 1 / shift)))
        if result.predicted is not None:
            per_setting[name] = (agree, disagree)
            numbers[f"{name}: r agreeing / disagreeing"] = f"{agree} / {disagree} ({undecided} not decided)"
    numbers[f"control: boundary shifted ×{shift:g} and ÷{shift:g} rejected at"] = \
        f"{sum(shifted)} of {len(shifted)} r with a predicted and measured crossover"
    return numbers, per_setting, shifted


class PhaseResults:
    """What the figure and the claims read: one :class:`PhaseResult` per setting and its crossovers."""

    def __init__(self, results: dict):
        self.results = results
        self.crossovers = {name: crossovers(res) for name, res in results.items()}


_RS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9)
_CURVE = tuple(round(v, 3) for v in np.r_[np.linspace(0.05, 0.5, 10), np.linspace(0.55, 0.9, 8)])
SIZES = {
    "tiny": {"line": dict(rs=(0.3, 0.5), ns=(20, 40, 80), reps=2, boot=20),
             "logistic-margin": dict(rs=(0.3, 0.5), ns=(20, 40, 80), reps=2, boot=20),
             "logistic-loss": dict(rs=(0.5, 0.9), ns=(20, 40, 80), reps=2, boot=20),
             "mlp": dict(rs=(0.3, 0.5), ns=(20, 40, 80), reps=2, epochs=5, boot=20)},
    "small": {"line": dict(rs=(0.1, 0.3, 0.5), ns=(100, 1000, 10000), reps=30, boot=200),
              "logistic-margin": dict(rs=(0.2, 0.5, 0.9), ns=(100, 1000, 10000), reps=30, boot=200),
              "logistic-loss": dict(rs=(0.5, 0.8, 0.9), ns=(100, 1000, 10000), reps=30, boot=200),
              "mlp": dict(rs=(0.3, 0.9), ns=(40, 200, 1000), reps=2, epochs=100, boot=200)},
    "default": {"line": dict(rs=_RS, ns=default_ns(100, 10**5, 3), reps=100, curve_rs=_CURVE),
                "logistic-margin": dict(rs=_RS, ns=default_ns(100, 10**5, 2), reps=40, curve_rs=_CURVE),
                "logistic-loss": dict(rs=_RS, ns=default_ns(100, 10**5, 2), reps=40, curve_rs=_CURVE),
                "mlp": dict(rs=(0.1, 0.3, 0.5, 0.7, 0.9), ns=(40, 126, 400, 1265, 4000, 12649, 40000), reps=6,
                            epochs=500)},
    "full": {"line": dict(rs=_RS, ns=default_ns(100, 10**6, 4), reps=400, curve_rs=_CURVE),
             "logistic-margin": dict(rs=_RS, ns=default_ns(100, 10**5, 3), reps=400, curve_rs=_CURVE),
             "logistic-loss": dict(rs=_RS, ns=default_ns(100, 10**5, 3), reps=400, curve_rs=_CURVE),
             "mlp": dict(rs=(0.1, 0.3, 0.5, 0.7, 0.9), ns=default_ns(40, 40000, 2), reps=10, epochs=1000)},
}


def configs(size: str) -> dict:
    return {name: PhaseConfig(setting=name, seed=13, **SIZES[size][name]) for name in SETTINGS}


register(Experiment("phase_diagram", "which strategy (random, SBPA keep-hard/easy, EC/AC at the chosen α) has the "
                    "lowest test loss in the (r, n) plane, with the boundary predicted by quadrature, on four settings",
                    ("C8", "C12"), configs, assemble=lambda results: PhaseResults(results)))
