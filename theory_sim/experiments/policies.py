r"""The policies experiment: which selection policies are consistent and valid (docs/theory.md,
"Selection policies: a general limit law (ours)").

``gaussian-logistic`` (d = 2), logistic model on the ball W = {‖θ‖ ≤ 6} and its net, r = 0.3. For
every policy of :mod:`theory_sim.core.selection_policies` (plus random pruning and SBPA keep-hard,
the two known answers, as controls) and two scores — ``entropy`` (label-free; its ranks are those of
``margin``) and ``el2n`` (label-dependent), both hard at the highest end — and for the label-free
prototype score (distance to the k = 1 k-means centroid, kept hard or easy):

- **predicted**: the limit ν of the policy (P1–P4), Δ_∞ = max_net |L_ν − L| and V_∞ = L(argmin_W L_ν) − min L
  by quadrature (:mod:`theory_sim.models.policy_population`); 0 exactly for the weighted policies
  (their limit is µ). Prototype: Δ_∞ by Monte Carlo (2·10^6 draws, with its standard error) and V_∞ = 0
  by the argument of claim C5 (a density of x alone keeps ∇L_ν(θ*) = 0 for a well-specified model);
- **measured**: Δ_n and V_n by the Monte Carlo engine's replication
  (:func:`theory_sim.experiments._montecarlo._replication`), their log-log slopes with 95% intervals.

Verdicts (:func:`verdicts`): predicted consistent iff Δ_∞ = 0 (≤ 1e-9), valid iff V_∞ ≤ 1e-8;
measured consistent when the slope interval of Δ_n lies below −1/4 (the midpoint of the rates −1/2
of a consistent policy and 0 of an inconsistent one), not consistent when it lies above, undecided
otherwise; measured valid likewise with V_n's slope against −1/2 (midpoint of −1 and 0). Controls:
random pruning must come out consistent and valid, SBPA keep-hard with EL2N neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from types import SimpleNamespace

import numpy as np

from theory_sim.core import selection_policies as sp
from theory_sim.core.limits import limit_density
from theory_sim.core.processes import make_process
from theory_sim.core.scores import make_score
from theory_sim.core.selection_laws import stratified_profile
from theory_sim.experiments._framework import Experiment, ExperimentConfig, one_blas_thread, register, \
    register_runner
from theory_sim.experiments._montecarlo import _minimise_in_ball, _replication, parameter_net
from theory_sim.models.linear import make_model
from theory_sim.models.policy_population import ProfileWeight, profile_population_loss
from theory_sim.models.population import logistic_loss_mc, population_loss
from theory_sim.rng import Streams
from theory_sim.stats import loglog_fit, t_summary
from theory_sim.store import Store, number_array
from theory_sim.validation import check_choice, check_int, check_r, check_sample_sizes

__all__ = ["PolicyCellConfig", "PolicyCellResult", "run_policy_cell", "verdicts"]

POLICY_NAMES = ("random", "sbpa-hard", "ccs", "moderate", "soft", "soft-ht", "soft-wor", "infobatch",
                "infobatch-unweighted", "prototype-hard", "prototype-easy")
TABLE_SCORES = ("entropy", "el2n")
TO_MU = ("random", "soft-ht", "infobatch")  # weighted policies: their limit is µ (P2, P4)
MC_LIMIT_DRAWS = 2_000_000
MC_CHUNK = 50_000  # draws per block: a (block, net) array of losses stays near 100 MB
STREAMS = Streams(limit=0)
CONSISTENT_SLOPE, VALID_SLOPE = -0.25, -0.5


@dataclass(frozen=True)
class PolicyCellConfig(ExperimentConfig):
    """One cell of the table: a policy and a score (``prototype`` for the prototype policies)."""

    policy: str = "ccs"
    score: str = "entropy"
    r: float = 0.3
    ns: tuple = (1_000, 10_000)
    reps: int = 4
    seed: int = 14
    net_size: int = 256
    net_radius: float = 6.0
    d: int = 2

    KIND = "policycell"

    def __post_init__(self):
        check_choice("policy", self.policy, POLICY_NAMES)
        allowed = ("prototype",) if self.policy.startswith("prototype") else TABLE_SCORES
        check_choice("score", self.score, allowed)
        r = check_r(self.r)
        object.__setattr__(self, "ns", check_sample_sizes(self.ns, r, min_budget=2))
        check_int("reps", self.reps, low=2)
        check_int("net_size", self.net_size, low=1)


@dataclass(frozen=True)
class PolicyCellResult:
    config: PolicyCellConfig
    delta: np.ndarray  # (len(ns), reps)
    validity: np.ndarray
    limits: dict  # delta_inf, delta_inf_se, v_inf, kept_fraction, method


def _setting(config):
    mu = make_process("gaussian-logistic", d=config.d)
    if config.policy.startswith("prototype"):
        hard = config.policy == "prototype-hard"
        proto = SimpleNamespace(seed=config.seed, r=config.r, protocol="sbpa", alpha=None,
                                keep="highest" if hard else "lowest", net_radius=config.net_radius)
        return mu, (lambda x, y=None: sp.prototype_scores(x)), proto
    score = make_score(config.score, mu)
    protocol = "sbpa" if config.policy == "sbpa-hard" else config.policy
    proto = SimpleNamespace(seed=config.seed, r=config.r, protocol=protocol, alpha=None, keep=score.hard,
                            net_radius=config.net_radius)
    return mu, score, proto


def _limits(config) -> dict:
    mu, score, proto = _setting(config)
    net = parameter_net(config.d, config.net_size, config.net_radius)
    truth = mu.truth()
    theta_star = np.r_[truth.w, truth.b]
    net_loss = population_loss(mu, net, method="quadrature").values
    min_loss = float(population_loss(mu, theta_star[None, :], method="quadrature").values[0])
    base = {"net_loss": net_loss.tolist(), "min_loss": min_loss}
    if config.policy in TO_MU:
        kept = sp.policy_limit("infobatch", mu, score, hard=score.hard).kept_fraction \
            if config.policy == "infobatch" else config.r
        return {**base, "delta_inf": 0.0, "delta_inf_se": 0.0, "v_inf": 0.0, "kept_fraction": kept,
                "method": "exact: the weighted limit is mu (P2/P4)"}
    if config.policy.startswith("prototype"):
        dist = make_score("distance", mu)
        dens = limit_density(mu, dist, config.r, protocol="sbpa", keep=proto.keep)
        mc = logistic_loss_mc(mu, net, density=dens, n_mc=MC_LIMIT_DRAWS, chunk=MC_CHUNK,
                              rng=np.random.default_rng(STREAMS(config.seed, "limit")))
        i = int(np.argmax(np.abs(mc.values - net_loss)))
        return {**base, "delta_inf": float(abs(mc.values[i] - net_loss[i])), "delta_inf_se": float(mc.stderr[i]),
                "v_inf": 0.0, "kept_fraction": config.r,
                "method": f"Delta_inf by Monte Carlo ({MC_LIMIT_DRAWS:.0e} draws); V_inf = 0 by C5's argument"}
    if config.policy == "sbpa-hard":
        r = config.r
        profile = stratified_profile([0.0, 1.0 - r, 1.0], [0.0, r], r, name="sbpa-hard")
        kept = r
    else:
        kind, params = sp.REGISTERED[config.policy]
        lim = sp.policy_limit(kind, mu, score, config.r, **params)
        profile, kept = lim.profile, lim.kept_fraction
    weight = ProfileWeight(mu, score, profile, score.hard)
    limit_loss = profile_population_loss(mu, net, score, profile, hard=score.hard, weight=weight)
    fun = lambda th: float(profile_population_loss(mu, th[None, :], score, profile, hard=score.hard,  # noqa: E731
                                                   weight=weight)[0])
    theta_nu = _minimise_in_ball(fun, None, theta_star, config.net_radius)
    v_inf = float(population_loss(mu, theta_nu[None, :], method="quadrature").values[0]) - min_loss
    return {**base, "delta_inf": float(np.max(np.abs(limit_loss - net_loss))), "delta_inf_se": 0.0,
            "v_inf": max(v_inf, 0.0), "kept_fraction": kept, "theta_nu": theta_nu.tolist(),
            "method": "quadrature (profile-weighted Gauss-Legendre)"}


def _decode_limits(raw):
    out = dict(raw)
    for key in ("delta_inf", "delta_inf_se", "v_inf", "kept_fraction", "min_loss"):
        out[key] = float(number_array([raw[key]], key)[0])
    out["net_loss"] = number_array(raw["net_loss"], "net_loss")
    return out


def _decode_unit(raw, *, reps):
    return {key: number_array(raw[key], key, shape=(reps,)) for key in ("delta", "validity")}


@one_blas_thread
def run_policy_cell(config: PolicyCellConfig, results_dir=None, progress=None) -> PolicyCellResult:
    """Δ_n, V_n per n and replication, and the predicted limits, for one (policy, score) cell."""
    if not isinstance(config, PolicyCellConfig):
        raise TypeError(f"config must be a PolicyCellConfig, got {type(config).__name__}")
    mu, score, proto = _setting(config)
    model = make_model("logistic", config.d)
    net = parameter_net(config.d, config.net_size, config.net_radius)

    def compute(n, limits):
        rows = [_replication(proto, mu, score, model, net, limits["net_loss"], limits["min_loss"], n, j, "numba")
                for j in range(config.reps)]
        return {"delta": [r[0] for r in rows], "validity": [r[1] for r in rows]}

    record = Store(results_dir).run(config, units=config.ns, compute=compute, shared=lambda: _limits(config),
                                    decode_shared=_decode_limits, decode_unit=partial(_decode_unit, reps=config.reps),
                                    progress=progress, desc=f"{config.policy} {config.score}")
    delta = np.array([record.units[n]["delta"] for n in config.ns])
    validity = np.array([record.units[n]["validity"] for n in config.ns])
    return PolicyCellResult(config, delta, validity, record.shared)


register_runner(PolicyCellConfig, run_policy_cell)


def _word(fit, threshold, yes, no):
    if fit is None:
        return "undecided"
    if fit.ci_high < threshold:
        return yes
    if fit.ci_low > threshold:
        return no
    return "undecided"


def verdicts(result: PolicyCellResult) -> dict:
    """The row of the table for one cell: predicted and measured verdicts, slopes with intervals."""
    cfg, lim = result.config, result.limits
    ns = np.repeat(np.asarray(cfg.ns, float), cfg.reps)
    enough = len(cfg.ns) >= 2
    dfit = loglog_fit(ns, result.delta.ravel()) if enough else None
    vfit = loglog_fit(ns, np.maximum(result.validity.ravel(), 1e-300)) if enough else None
    if lim["delta_inf_se"] > 0:  # Monte Carlo limit: not zero when 4 standard errors above it
        pred_cons = lim["delta_inf"] <= 4 * lim["delta_inf_se"]
    else:
        pred_cons = lim["delta_inf"] <= 1e-9
    last_d, last_v = t_summary(result.delta[-1]), t_summary(result.validity[-1])
    measured_c = _word(dfit, CONSISTENT_SLOPE, "consistent", "not consistent")
    measured_v = _word(vfit, VALID_SLOPE, "valid", "not valid")
    return {
        "policy": cfg.policy, "score": cfg.score, "kept_fraction": lim["kept_fraction"],
        "delta_inf": lim["delta_inf"], "delta_inf_se": lim["delta_inf_se"], "v_inf": lim["v_inf"],
        "method": lim["method"],
        "predicted_consistent": "consistent" if pred_cons else "not consistent",
        "predicted_valid": "valid" if lim["v_inf"] <= 1e-8 else "not valid",
        "delta_slope": None if dfit is None else (dfit.slope, dfit.ci_low, dfit.ci_high),
        "v_slope": None if vfit is None else (vfit.slope, vfit.ci_low, vfit.ci_high),
        "delta_last": (last_d.mean, last_d.ci_low, last_d.ci_high), "v_last": (last_v.mean, last_v.ci_low,
                                                                              last_v.ci_high),
        "measured_consistent": measured_c, "measured_valid": measured_v,
    }


SIZES = {
    "tiny": dict(net_size=8, ns=(200, 400), reps=2, cells=(("random", "entropy"), ("sbpa-hard", "entropy"))),
    # small (CI): every policy, the el2n column without its two costliest limits (CCS, moderate)
    "small": dict(net_size=64, ns=(1_000, 4_000, 16_000), reps=4, drop=(("ccs", "el2n"), ("moderate", "el2n"))),
    "default": dict(net_size=256, ns=(1_000, 10_000, 100_000), reps=8),
    "full": dict(net_size=256, ns=(1_000, 10_000, 100_000, 1_000_000), reps=20),
}


def _cells():
    cells = [(p, s) for p in POLICY_NAMES if not p.startswith("prototype") for s in TABLE_SCORES]
    return tuple(cells) + (("prototype-hard", "prototype"), ("prototype-easy", "prototype"))


def configs(size: str) -> dict:
    p = SIZES[size]
    return {(policy, score): PolicyCellConfig(policy=policy, score=score, ns=p["ns"], reps=p["reps"],
                                              net_size=p["net_size"])
            for policy, score in p.get("cells", _cells()) if (policy, score) not in p.get("drop", ())}


def assemble(results: dict) -> dict:
    return {key: SimpleNamespace(result=res, row=verdicts(res)) for key, res in results.items()}


register(Experiment("policies", "consistency and validity of practitioners' selection policies, predicted (P1-P4, "
                    "quadrature) against measured (Delta_n, V_n slopes)", (), configs, assemble))
