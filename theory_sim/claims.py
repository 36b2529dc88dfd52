"""The claim register C1–C12 and the criterion that decides each verdict (docs/theory.md, "Claim register").

:data:`CLAIMS` states the claims of Ayed & Hayou (arXiv 2302.06960) that the toolkit checks;
the ids are stable. For each experiment that bears on a claim, :data:`EVIDENCE` maps its name
to a function of its results that returns, per claim, the verdict, the criterion that produced
it, the measured numbers, the figure and the command that reproduces it. :func:`assess`
combines that evidence with the exact checks of ``proofs_check`` into the register.

A verdict is ``supported`` or ``not supported`` when a stated criterion was evaluated on
measured numbers, ``inconclusive`` when the numbers are too few to decide it (a larger size
decides), and ``not checked`` when no part of the toolkit checks the claim yet. Nothing is
filled in by hand.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from theory_sim import other_checks as _other
from theory_sim.stats import fit_power_law, t_summary

__all__ = ["CLAIMS", "EVIDENCE", "VERDICTS", "assess", "evaluate"]

VERDICTS = ("supported", "not supported", "inconclusive", "not checked")

# The statements of the register (docs/theory.md, "Claim register"); the ids are stable.
CLAIMS = {
    "C1": "SBPA limit: the kept points converge to ν_r; distance to ν_r → 0 like n^{-1/2}, distance to µ stays "
          "bounded away from 0; g_(k) → q_r.",
    "C2": "SBPA is not consistent: Δ_n → Δ_∞ > 0, and Δ_∞ matches an independent computation of sup_W |L_ν_r − L|.",
    "C3": "Random pruning is consistent: Δ_n → 0 at rate n^{-1/2}.",
    "C4": "Validity characterisation: SBPA is valid iff argmin L_ν_r ⊆ argmin L; the validity gap of SBPA converges "
          "to L(argmin L_ν_r) − min L.",
    "C5": "Well-specified logistic regression with a label-free score: SBPA is valid though not consistent.",
    "C6": "Logistic regression with a label-dependent score: SBPA is not valid; the gap grows as r → 0.",
    "C7": "Rich models (wide MLPs): even a label-free SBPA is not valid; the pruned loss has new local minima.",
    "C8": "Scaling laws: at fixed r the test loss of SBPA plateaus as n grows while random pruning keeps decaying.",
    "C9": "No free lunch: in the large-n limit the expected error after SBPA is at least that after random pruning.",
    "C10": "EC is unbiased for L_n conditionally on D_n (exact), consistent and valid for every α < 1.",
    "C11": "AC has the limit density dν/dµ = 1/r on A_{αr} and (1 − α)/(1 − αr) off it; its bias vanishes as "
           "α → 0.",
    "C12": "Var[L_n^EC | D_n] equals the stratified-sampling formula; it blows up as α → 1.",
}


def _verdict(ok: bool) -> str:
    return "supported" if ok else "not supported"


def _slope_contains(fit, value):
    return fit is not None and fit.ci_low <= value <= fit.ci_high


def _near_limit(summary, limit, z=3.0):
    return abs(summary.mean - limit) <= z * summary.stderr + 1e-6


def _evidence_limit(res):
    _, curves = res
    sb = curves["sbpa"]
    fit, last = sb.fit_limit, sb.rows[-1]
    ok = _slope_contains(fit, -0.5) and last.gap_mu > 10 * last.gap_limit
    return {"C1": dict(
        verdict=_verdict(ok),
        criterion="95% CI of the log-log slope of the gap to ν_r contains −1/2, and at the largest n the gap to µ "
                  "is at least 10× the gap to ν_r",
        numbers={"slope_to_nu_r": fit.slope, "slope_ci": [fit.ci_low, fit.ci_high], "n_max": last.n,
                 "gap_to_nu_r": last.gap_limit, "gap_to_mu": last.gap_mu, "threshold": last.threshold,
                 "q_r": sb.quantile.value},
        figure="limit", command="theory-sim limit --process gaussian-logistic --score margin --r 0.1 "
                                "--n 1000,10000,100000,1000000")}


def _evidence_consistency(res):
    out = {}
    sb, rnd, ec, ac = res["sbpa"], res["random"], res["ec"], res["ac"]
    s = sb.delta_summary[-1]
    out["C2"] = dict(
        verdict=_verdict(sb.limits.delta_inf > 0 and _near_limit(s, sb.limits.delta_inf)),
        criterion="Δ_∞ > 0 (quadrature) and Δ_n at the largest n within 3 standard errors of Δ_∞",
        numbers={"delta_inf": sb.limits.delta_inf, "n_max": s.n, "delta_n": s.mean, "stderr": s.stderr},
        figure="consistency", command="theory-sim consistency --protocol sbpa --r 0.1")
    out["C3"] = dict(
        verdict=_verdict(_slope_contains(rnd.delta_fit, -0.5)),
        criterion="95% CI of the log-log slope of Δ_n (random pruning) contains −1/2",
        numbers={"slope": rnd.delta_fit.slope, "slope_ci": [rnd.delta_fit.ci_low, rnd.delta_fit.ci_high]},
        figure="consistency", command="theory-sim consistency --protocol random --r 0.1")
    out["C10"] = dict(
        verdict=_verdict(_slope_contains(ec.delta_fit, -0.5)),
        criterion="95% CI of the log-log slope of Δ_n (EC, α = 0.5) contains −1/2",
        numbers={"slope": ec.delta_fit.slope, "slope_ci": [ec.delta_fit.ci_low, ec.delta_fit.ci_high]},
        figure="consistency", command="theory-sim consistency --protocol ec --alpha 0.5 --r 0.1")
    s = ac.delta_summary[-1]
    out["C11"] = dict(
        verdict=_verdict(_near_limit(s, ac.limits.delta_inf)),
        criterion="Δ_n of AC (α = 0.5) at the largest n within 3 standard errors of its own limit Δ_∞^AC",
        numbers={"delta_inf_ac": ac.limits.delta_inf, "n_max": s.n, "delta_n": s.mean, "stderr": s.stderr},
        figure="consistency", command="theory-sim consistency --protocol ac --alpha 0.5 --r 0.1")
    return out


def _evidence_validity(res):
    margin = {r: v for (score, r), v in res.items() if score == "margin"}
    el2n = {r: v for (score, r), v in res.items() if score == "el2n"}
    # V_n > 0 always, with mean ~ c/n: "V_n → 0" is judged by its decay, not by a test of mean = 0.
    # A slope interval that straddles 0 decides nothing: too few samples at this size.
    decays = [v.validity_fit is not None and v.validity_fit.ci_high < 0 for v in margin.values()]
    grows = [v.validity_fit is not None and v.validity_fit.ci_low > 0 for v in margin.values()]
    if any(v.limits.v_inf >= 1e-8 for v in margin.values()) or any(grows):
        c5 = "not supported"
    else:
        c5 = "supported" if all(decays) else "inconclusive"
    c6_near = all(_near_limit(v.validity_summary[-1], v.limits.v_inf) for v in el2n.values())
    r_lo, r_hi = min(el2n), max(el2n)
    c6_ok = c6_near and el2n[r_lo].limits.v_inf > 0 and el2n[r_lo].limits.v_inf >= el2n[r_hi].limits.v_inf
    return {
        "C5": dict(verdict=c5,
                   criterion="margin (label-free): V_∞ = 0 by quadrature, and V_n decays (the 95% CI of its "
                             "log-log slope lies below 0), at every r",
                   numbers={f"r={r}": {"v_inf": v.limits.v_inf, "v_n": [s.mean for s in v.validity_summary],
                                       "slope": v.validity_fit.slope,
                                       "slope_ci": [v.validity_fit.ci_low, v.validity_fit.ci_high]}
                            for r, v in sorted(margin.items())},
                   figure="validity", command="theory-sim validity --score margin --r 0.1"),
        "C6": dict(verdict=_verdict(c6_ok),
                   criterion="EL2N keep-hardest: V_n at the largest n within 3 se of V_∞ > 0, and V_∞ larger at "
                             "the smallest r",
                   numbers={f"r={r}": {"v_inf": v.limits.v_inf, "v_n": v.validity_summary[-1].mean}
                            for r, v in sorted(el2n.items())},
                   figure="validity", command="theory-sim validity --score el2n --keep highest --r 0.1"),
        "C4": dict(verdict=c5 if c6_near else "not supported",
                   criterion="V_n converges to L(argmin L_ν_r) − min L in both cases above (0 and > 0)",
                   numbers={}, figure="validity", command="theory-sim validity --score el2n --keep highest --r 0.3"),
    }


def _evidence_new_minima(res):
    cert = res.certificate
    return {"C7": dict(
        verdict=_verdict(bool(cert.certified)),
        criterion="a local minimum θ₀ of the pruned population loss L_ν_r (SBPA, label-free distance score, "
                  "one tanh unit on sine-regression) certified from quadrature: ‖∇L_ν_r(θ₀)‖ ≤ tol, ∇²L_ν_r(θ₀) "
                  "positive definite with margin, ‖∇L(θ₀)‖ bounded away from 0",
        numbers={"theta0": list(cert.theta0), "grad_nu_norm": cert.grad_nu_norm, "grad_mu_norm": cert.grad_mu_norm,
                 "hessian_nu_min_eig": float(min(cert.hessian_nu_eigenvalues)), "L_nu": cert.loss_nu,
                 "L_mu": cert.loss_mu, "validity_gap": cert.validity_gap},
        figure="new_minima", command="theory-sim figures new_minima width_validity")}


def _width_gaps(result):
    """Protocol -> validity gap per width, estimated as the max over restarts (docs/theory.md, "Limits")."""
    excess = result.excess().max(axis=2)
    return {p: excess[i] for i, p in enumerate(result.config.protocols)}


def _evidence_width_validity(res):
    """C7a on both processes: sine-regression (every width) and, when present, 2-D classification (largest width)."""
    sine = getattr(res, "sine", res)
    rows = _width_gaps(sine)
    sbpa = [p for p in rows if p.startswith("sbpa")]
    ok = "random" in rows and all(np.all(rows[p] > rows["random"]) for p in sbpa)
    numbers = {f"sine-regression, {p}": {f"width {w}": float(v) for w, v in zip(sine.config.widths, vals)}
               for p, vals in rows.items()}
    criterion = ("sine-regression: at every width, the excess population loss of label-free SBPA (max over restarts) "
                 "stays above random pruning's")
    cls = getattr(res, "classification", None)
    if cls is not None:
        rows2 = _width_gaps(cls)
        sbpa2 = [p for p in rows2 if p.startswith("sbpa")]
        ok &= "random" in rows2 and all(rows2[p][-1] > rows2["random"][-1] for p in sbpa2)
        numbers.update({f"2-D classification, {p}": {f"width {w}": float(v) for w, v in zip(cls.config.widths, vals)}
                        for p, vals in rows2.items()})
        criterion += ("; 2-D classification (cross-entropy, excess over the Bayes risk): above random's at the "
                      "largest width (at intermediate widths random pruning overfits too, and the curves may touch)")
    return {"C7 (width)": dict(verdict=_verdict(ok), criterion=criterion, numbers=numbers, figure="width_validity",
                               command="theory-sim figures width_validity")}


def _evidence_scaling_laws(res):
    """C8: random decays as a power law, SBPA keep-hard levels off at the predicted V_∞, crossing random at n*."""
    summary, result = res.summary, res.result
    cfg = result.config
    ns = np.asarray(cfg.ns, dtype=float)
    level = 0.999  # each of the three statistical checks per r has false-failure rate ≈ 1e-3
    numbers, ok = {}, True
    for r, by_protocol in summary.items():
        i, p_rand = result.index(r, "random")
        _, p_hard = result.index(r, "sbpa-hard")
        rand = fit_power_law(cfg.ns, result.excess[i, p_rand], n_min=by_protocol["random"]["fit"].n_min, level=level)
        tail = fit_power_law(cfg.ns, result.excess[i, p_hard], n_min=by_protocol["sbpa-hard"]["tail"].n_min,
                             level=level)
        window = ns >= tail.n_min  # the slope of the predicted curve (V_∞ + O(1/n)) on the same window
        predicted_tail = float(np.polyfit(np.log(ns[window]), np.log(result.predicted[i, p_hard, window]), 1)[0])
        pl, cross = by_protocol["sbpa-hard"]["plateau"], by_protocol["sbpa-hard"]["crossover"]
        last = t_summary(result.excess[i, p_hard, -1], level=level)  # the excess at the largest n, over replications
        checks = {"random decays (slope CI below -1/2)": rand.ci_high < -0.5,
                  "SBPA keep-hard levels off (tail CI holds the predicted slope, above -1/2)":
                      tail.ci_low <= predicted_tail <= tail.ci_high and tail.ci_low > -0.5,
                  "plateau as predicted": last.ci_low <= pl.predicted_at_n <= last.ci_high,
                  "crossover measured": cross.status == "crossover"}
        ok &= all(checks.values())
        numbers[f"r={r:g}"] = {
            "random_slope": rand.slope, "random_slope_ci": [rand.ci_low, rand.ci_high],
            "sbpa_hard_tail_slope": tail.slope, "sbpa_hard_tail_ci": [tail.ci_low, tail.ci_high],
            "predicted_tail_slope": predicted_tail, "sbpa_hard_excess_at_n_max": pl.mean,
            "predicted_at_n_max": pl.predicted_at_n, "V_inf": pl.predicted_limit,
            "n_star": cross.n_star, "n_star_ci95": [cross.ci_low, cross.ci_high], "n_star_predicted": cross.predicted_n_star,
            "failed": [name for name, passed in checks.items() if not passed]}
    return {"C8": dict(
        verdict=_verdict(ok),
        criterion="for every r, at 99.9% confidence: random pruning's excess test loss decays as a power law (slope "
                  "CI below −1/2); SBPA keep-hard levels off (its last-decade slope CI holds the slope of the "
                  "predicted curve V_∞ + O(1/n), and lies above −1/2) at the excess predicted by quadrature; and "
                  "SBPA keep-hard, better than random at small n, crosses it at a measured n*(r). Model: least-squares "
                  f"line on sine-regression (ω={cfg.omega:g}, s={cfg.noise:g}), exact test loss",
        numbers=numbers, figure="scaling_laws", command="theory-sim figures scaling_laws")}


# Experiment name -> the function of its results that gives its evidence (claim id -> entry).
EVIDENCE = {"limit": _evidence_limit, "consistency": _evidence_consistency, "validity": _evidence_validity,
            "new_minima": _evidence_new_minima, "width_validity": _evidence_width_validity,
            "scaling_laws": _evidence_scaling_laws, "real_data": _other.evidence_real_data,
            "mnist1d_scaling": _other.evidence_mnist1d_scaling, "policies": _other.evidence_policies,
            "perceptron": _other.evidence_perceptron, "alpha_choice": _other.evidence_alpha_choice}
MNIST1D_MARGIN, MNIST1D_LEVEL = _other.MNIST1D_MARGIN, _other.MNIST1D_LEVEL  # the margin and level of the MNIST-1D check


def evaluate(experiment: str, results) -> dict:
    """The evidence that the results of ``experiment`` give: claim id -> entry ({} if it bears on none).

    An entry holds ``verdict``, ``criterion``, ``numbers``, ``figure`` and ``command``. Keys that
    are not claim ids of :data:`CLAIMS` are either a part of a claim checked by two experiments
    (``"C7 (width)"``, combined by :func:`assess`) or a check outside the register (``"real data"``).
    """
    function = EVIDENCE.get(experiment)
    return {} if function is None else function(results)


def _merge_width(evidence: dict) -> None:
    """Two experiments bear on C7: both criteria must hold (in place)."""
    if "C7 (width)" not in evidence:
        return
    width = evidence.pop("C7 (width)")
    if "C7" in evidence:
        c7 = evidence["C7"]
        c7["verdict"] = _verdict(c7["verdict"] == width["verdict"] == "supported")
        c7["criterion"] += "; and " + width["criterion"]
        c7["numbers"]["width_validity_excess"] = width["numbers"]
    else:
        evidence["C7"] = width


def assess(evidence_by_experiment: Mapping[str, dict], proofs: Mapping[str, object]) -> tuple[dict, dict]:
    """The claim register from the experiments' evidence and the exact checks.

    Parameters
    ----------
    evidence_by_experiment : mapping experiment name -> dict
        What :func:`evaluate` returned for each experiment that ran (merged in this order).
    proofs : mapping claim id -> check result
        The results of the ``proofs_check`` registry, each with ``method``, ``verdict``
        ('pass', 'fail' or 'numeric-only') and ``evidence`` (a dict); may be empty. A claim
        that no experiment decides takes the verdict of its exact check when that is 'pass'
        or 'fail'.

    Returns
    -------
    claims : dict
        Claim id -> entry, for every claim of :data:`CLAIMS` in order: ``claim``,
        ``statement``, ``verdict`` (one of :data:`VERDICTS`) and, when checked, ``criterion``,
        ``numbers``, ``figure`` / ``command``, ``exact_check``; ``note`` when not checked.
    other_checks : dict
        The evidence that is not about a claim of the register (the real-data headline).
    """
    evidence = {}
    for entries in evidence_by_experiment.values():
        evidence.update(entries)
    _merge_width(evidence)
    claims = {}
    for cid, statement in CLAIMS.items():
        entry = {"claim": cid, "statement": statement}
        if cid in evidence:
            entry.update(evidence[cid])
        if cid in proofs:
            p = proofs[cid]
            entry["exact_check"] = {"method": p.method, "verdict": p.verdict, "evidence": p.evidence}
            if "verdict" not in entry and p.verdict in ("pass", "fail"):
                entry.update(verdict=_verdict(p.verdict == "pass"), criterion=f"exact check: {p.method}",
                             numbers=dict(p.evidence), command=f"proofs-check --only {cid}")
        entry.setdefault("verdict", "not checked")
        if entry["verdict"] == "not checked":
            entry["note"] = "no landed part of the toolkit checks this claim yet"
        claims[cid] = entry
    other = {key: value for key, value in evidence.items() if key not in CLAIMS}
    return claims, other
