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

from dataclasses import replace
from typing import Mapping

import numpy as np
from scipy import stats

from theory_sim import other_checks as _other
from theory_sim.experiments.limit import threshold_error
from theory_sim.stats import combine_decisions, equivalence_test, fit_power_law, t_summary

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


# Equivalence margins of the statistical verdicts (docs/theory.md, "Claim register", "Decisions"): each verdict
# is a two-one-sided test at ALPHA per side (a 90% interval) against a margin stated before any run.
ALPHA = 0.05
SLOPE_MARGIN = 0.1  # a rate n^{-1/2}: slope within −1/2 ± 0.1
LIMIT_MARGIN = 0.01  # V_n: within ±1% (relative) of V_∞ by quadrature
DELTA_MARGIN = 0.0025  # Δ_n: within ±0.25% of Δ_∞ (half the shift of the limit density off by 2%, docs/theory.md)
V_SLOPE_MARGIN = 0.5  # a valid SBPA: V_n slope within −1 ± 0.5
C8_SLOPE_MARGIN = 0.25  # scaling laws: slopes within ±0.25 of the predicted
C8_LEVEL_MARGIN = 0.10  # scaling laws: the excess at the largest n within ±10% of its prediction
THRESHOLD_MARGIN = 0.5  # g_(k) − q_r: within ±0.5 sd(g_(k)) on average over n (half the 'q_r off by one sd' world)


def _test(name, estimate, stderr, target, margin, dof=None):
    """One equivalence test as a dict for claims.json (theory_sim.stats.equivalence_test), named."""
    return {"name": name, **equivalence_test(estimate, stderr, target, margin, dof=dof, alpha=ALPHA).to_dict()}


def _slope_test(name, fit, target, margin):
    return _test(name, fit.slope, fit.stderr, target, margin, dof=fit.dof)


def _limit_test(name, summary, reps, limit, margin=LIMIT_MARGIN):
    """Δ_n (mean over ``reps`` replications, its standard error) against a limit, within a relative margin."""
    return _test(name, summary.mean, summary.stderr, limit, margin * abs(limit) if limit else margin,
                 dof=max(reps - 1, 1))


def _fact(name, holds, what):
    """A deterministic part of a verdict (quadrature, a comparison of means): no sampling error is modelled."""
    return {"name": name, "verdict": _verdict(bool(holds)), "exact": what, "power": 1.0}


def _control(world, tests, shift=None):
    """A negative control: the same rule applied to a deliberately wrong world; it must not be 'supported'.

    ``shift``: how far the wrong world's predicted value lies from the right one, when known. An inconclusive
    control says whether the preset could have seen it (its smallest detectable deviation)."""
    verdict = combine_decisions(t["verdict"] for t in tests)
    out = {"world": world, "verdict": verdict, "tests": tests}
    if shift is not None:
        out["shift"] = float(shift)
    if verdict == "inconclusive":
        detectable = max(t.get("min_detectable", 0.0) for t in tests)
        out["note"] = ("the preset lacks the power: " if shift is not None and shift < detectable else "") + (
            f"the wrong world is off by {shift:.3g}" if shift is not None else "its deviation is not known in advance"
        ) + f"; the smallest deviation this preset detects is {detectable:.3g}"
    return out


def _decided(tests, rule, controls, **entry):
    """An entry decided by ``tests`` (all must hold), with its rule, power and controls (docs/theory.md)."""
    power = float(np.prod([t["power"] for t in tests]))
    stat = [t for t in tests if "min_detectable" in t]
    return dict(verdict=combine_decisions(t["verdict"] for t in tests), criterion=entry.pop("criterion"),
                margin=rule, power=power,
                min_detectable="; ".join(f"{t['name']}: {t['min_detectable']:.3g}" for t in stat),
                tests=tests, controls=controls, **entry)


def _law_curve(sb):
    """√k · mean gap to ν_r at each n, E max|Z| of its limit law there (Σ + (k/m) Cov_ν, m the target's size) and
    the log-log slope that law predicts on the run's design (docs/theory.md, "The law of the gaps"; C1's section
    says what they showed at the full preset). None outside the law's setting (gaussian-logistic, margin). Reported,
    not part of the verdict: the replications of a preset are too few to decide the level (the gap law check does)."""
    from theory_sim.core.gap_law import gap_law, max_abs_draws
    from theory_sim.core.processes import make_process
    from theory_sim.core.scores import make_score

    cfg = sb.config
    if cfg.process != "gaussian-logistic" or cfg.score != "margin":
        return None
    mu = make_process(cfg.process, d=cfg.d)
    law = gap_law(mu, make_score(cfg.score, mu), cfg.r, cfg.protocol, alpha=cfg.alpha, keep=cfg.keep)
    rng = np.random.default_rng(0)  # the law's draws: fixed, so the numbers are the same on every run
    ks = [row.k for row in sb.rows]
    draws = [max_abs_draws(law.covariance(k / cfg.target_size()), 20_000, rng) for k in ks]
    ns = np.log(np.asarray(cfg.ns, float))
    predicted = np.polyfit(ns, [np.log(d).mean() - 0.5 * np.log(k) for d, k in zip(draws, ks)], 1)[0]
    return {"scaled_gap_by_n": [float(np.sqrt(k) * g.mean()) for k, g in zip(ks, sb.raw_gap_limit)],
            "scaled_gap_se_by_n": [float(np.sqrt(k) * g.std(ddof=1) / np.sqrt(g.shape[0])) if g.shape[0] > 1
                                   else float("nan") for k, g in zip(ks, sb.raw_gap_limit)],
            "law_e_max_by_n": [float(d.mean()) for d in draws], "law_slope": float(predicted)}


def _evidence_limit(res):
    _, curves = res
    sb = curves["sbpa"]
    fit, last = sb.fit_limit, sb.rows[-1]
    law = _law_curve(sb)
    tests = [_slope_test("log-log slope of the gap to ν_r", fit, -0.5, SLOPE_MARGIN),
             _fact("gap to µ ≥ 10 × gap to ν_r at the largest n", last.gap_mu > 10 * last.gap_limit, "means")]
    controls = [_control("the gap to µ passed off as the gap to ν_r (kept points measured against the wrong limit)",
                         [_slope_test("log-log slope of the gap to µ", sb.fit_mu, -0.5, SLOPE_MARGIN)])]
    rule = f"slope within −1/2 ± {SLOPE_MARGIN:g}"
    criterion = (f"equivalence (TOST, 5% per side): the 90% interval of the log-log slope of the gap to ν_r lies "
                 f"inside −1/2 ± {SLOPE_MARGIN:g}, and at the largest n the gap to µ is at least 10× the gap to ν_r")
    z = threshold_error(sb)
    if z is not None:  # the threshold's law is known: g_(k) → q_r is tested too (docs/theory.md, C1)
        wrong = replace(z, estimate=z.estimate - 1.0)  # q_r + sd_n at every n moves each z̄_n by −1
        name = "g_(k) − q_r in units of sd(g_(k)), mean over n"
        tests.append(_test(name, z.estimate, z.stderr, 0.0, THRESHOLD_MARGIN, dof=z.dof))
        controls.append(_control("q_r shifted by one standard deviation of g_(k) at each n",
                                 [_test(name, wrong.estimate, wrong.stderr, 0.0, THRESHOLD_MARGIN, dof=wrong.dof)],
                                 shift=1.0))
        rule += f"; g_(k) − q_r within ±{THRESHOLD_MARGIN:g} sd(g_(k))"
        criterion += (f"; and the 90% interval of the mean over n of (g_(k) − q_r)/sd(g_(k)) lies inside "
                      f"±{THRESHOLD_MARGIN:g}")
    return {"C1": _decided(
        tests, rule + " (90% intervals inside: supported; outside: not supported)", controls,
        criterion=criterion,
        numbers={"slope_to_nu_r": fit.slope, "slope_ci": [fit.ci_low, fit.ci_high], "n_max": last.n,
                 "gap_to_nu_r": last.gap_limit, "gap_to_mu": last.gap_mu, "threshold": last.threshold,
                 "q_r": sb.quantile.value, "threshold_z": None if z is None else z.estimate,
                 "threshold_z_se": None if z is None else z.stderr, **(law or {})},
        figure="limit", command="theory-sim limit --process gaussian-logistic --score margin --r 0.1 "
                                "--n 1000,10000,100000,1000000")}


def _scaled_limit(lim, factor):
    """Δ_∞ of a wrong world whose limit density is ``factor`` × the right one (from the stored net losses)."""
    return float(np.max(np.abs(factor * np.asarray(lim.net_limit_loss) - np.asarray(lim.net_loss))))


def _evidence_consistency(res):
    out = {}
    sb, rnd, ec, ac = res["sbpa"], res["random"], res["ec"], res["ac"]
    reps = sb.config.reps
    s = sb.delta_summary[-1]
    rule = f"Δ_n at the largest n within ±{DELTA_MARGIN:.2%} of Δ_∞ (relative; 90% interval inside / outside)"
    out["C2"] = _decided(
        [_fact("Δ_∞ > 0 (quadrature)", sb.limits.delta_inf > 0, "quadrature"),
         _limit_test("Δ_n at the largest n vs Δ_∞", s, reps, sb.limits.delta_inf, DELTA_MARGIN)], rule,
        [_control("random pruning passed off as SBPA", [_limit_test("Δ_n of random pruning vs SBPA's Δ_∞",
                                                                    rnd.delta_summary[-1], rnd.config.reps,
                                                                    sb.limits.delta_inf, DELTA_MARGIN)]),
         _control("the limit density off by 2%", [_limit_test("Δ_n vs Δ_∞ of 1.02 dν_r/dµ", s, reps,
                                                              _scaled_limit(sb.limits, 1.02), DELTA_MARGIN)],
                  abs(_scaled_limit(sb.limits, 1.02) - sb.limits.delta_inf))],
        criterion=f"Δ_∞ > 0 by quadrature, and equivalence (TOST, 5% per side): the 90% t interval of Δ_n at the "
                  f"largest n lies inside Δ_∞ ± {DELTA_MARGIN:.2%}",
        numbers={"delta_inf": sb.limits.delta_inf, "n_max": s.n, "delta_n": s.mean, "stderr": s.stderr},
        figure="consistency", command="theory-sim consistency --protocol sbpa --r 0.1")
    slope_rule = f"slope within −1/2 ± {SLOPE_MARGIN:g} (90% interval inside / outside)"
    for cid, result, name, control, world in (
            ("C3", rnd, "random pruning", sb, "SBPA passed off as random pruning"),
            ("C10", ec, "EC, α = 0.5", ac, "EC with its weights set to 1/k (that is AC, α = 0.5)")):
        out[cid] = _decided(
            [_slope_test(f"log-log slope of Δ_n ({name})", result.delta_fit, -0.5, SLOPE_MARGIN)], slope_rule,
            [_control(world, [_slope_test("log-log slope of Δ_n", control.delta_fit, -0.5, SLOPE_MARGIN)])],
            criterion=f"equivalence (TOST, 5% per side): the 90% interval of the log-log slope of Δ_n ({name}) lies "
                      f"inside −1/2 ± {SLOPE_MARGIN:g}",
            numbers={"slope": result.delta_fit.slope, "slope_ci": [result.delta_fit.ci_low, result.delta_fit.ci_high]},
            figure="consistency", command="theory-sim consistency --protocol " + (
                "random --r 0.1" if cid == "C3" else "ec --alpha 0.5 --r 0.1"))
    s = ac.delta_summary[-1]
    out["C11"] = _decided(
        [_limit_test("Δ_n of AC at the largest n vs Δ_∞^AC", s, ac.config.reps, ac.limits.delta_inf, DELTA_MARGIN)],
        rule,
        [_control("the AC bias bound halved", [_limit_test("Δ_n vs Δ_∞^AC / 2", s, ac.config.reps,
                                                           ac.limits.delta_inf / 2, DELTA_MARGIN)],
                  ac.limits.delta_inf / 2),
         _control("the limit density off by 2%", [_limit_test("Δ_n vs Δ_∞ of 1.02 dν^AC/dµ", s, ac.config.reps,
                                                              _scaled_limit(ac.limits, 1.02), DELTA_MARGIN)],
                  abs(_scaled_limit(ac.limits, 1.02) - ac.limits.delta_inf))],
        criterion=f"equivalence (TOST, 5% per side): the 90% t interval of Δ_n of AC (α = 0.5) at the largest n lies "
                  f"inside its own limit Δ_∞^AC ± {DELTA_MARGIN:.2%}",
        numbers={"delta_inf_ac": ac.limits.delta_inf, "n_max": s.n, "delta_n": s.mean, "stderr": s.stderr},
        figure="consistency", command="theory-sim consistency --protocol ac --alpha 0.5 --r 0.1")
    return out


def _evidence_validity(res):
    margin = {r: v for (score, r), v in res.items() if score == "margin"}
    el2n = {r: v for (score, r), v in res.items() if score == "el2n"}
    # V_n > 0 always, with mean ~ c/n (docs/theory.md, "Decisions"): "V_n → 0" is judged by its rate, not by a
    # test of mean = 0.
    c5_tests, c5_controls = [], []
    for r, v in sorted(margin.items()):
        c5_tests += [_fact(f"r={r}: V_∞ < 1e-8 (quadrature)", v.limits.v_inf < 1e-8, "quadrature"),
                     _slope_test(f"r={r}: log-log slope of V_n", v.validity_fit, -1.0, V_SLOPE_MARGIN)]
    for r, v in sorted(el2n.items()):
        c5_controls.append(_control(f"r={r}: a label-dependent score (EL2N keep-hardest) passed off as label-free",
                                    [_slope_test("log-log slope of V_n", v.validity_fit, -1.0, V_SLOPE_MARGIN)]))
    c6_tests, c6_controls = [], []
    rs = sorted(el2n)
    for i, r in enumerate(rs):
        v = el2n[r]
        c6_tests.append(_limit_test(f"r={r}: V_n at the largest n vs V_∞", v.validity_summary[-1], v.config.reps,
                                    v.limits.v_inf))
        # the nearest V_∞ of another r that differs by more than twice the margin (two r can share V_∞: both
        # minimisers on the sphere of W), else V_∞ halved
        others = sorted((abs(el2n[o].limits.v_inf - v.limits.v_inf), o) for o in rs if o != r
                        and abs(el2n[o].limits.v_inf - v.limits.v_inf) > 2 * LIMIT_MARGIN * v.limits.v_inf)
        wrong = el2n[others[0][1]].limits.v_inf if others else v.limits.v_inf / 2
        c6_controls.append(_control(f"r={r}: " + (f"the limit of r={others[0][1]}" if others else "V_∞ halved"),
                                    [_limit_test("V_n vs the wrong V_∞", v.validity_summary[-1], v.config.reps,
                                                 wrong)], abs(wrong - v.limits.v_inf)))
    r_lo, r_hi = min(el2n), max(el2n)
    c6_tests.append(_fact("V_∞ > 0 at the smallest r, and ≥ its value at the largest r",
                          el2n[r_lo].limits.v_inf > 0 and el2n[r_lo].limits.v_inf >= el2n[r_hi].limits.v_inf,
                          "quadrature"))
    c5 = _decided(c5_tests, f"V_∞ = 0, and the slope of V_n within −1 ± {V_SLOPE_MARGIN:g} (90% interval inside / "
                            "outside)", c5_controls,
                  criterion="margin (label-free), at every r: V_∞ = 0 by quadrature (< 1e-8), and equivalence (TOST, "
                            f"5% per side): the 90% interval of the log-log slope of V_n lies inside −1 ± "
                            f"{V_SLOPE_MARGIN:g} (V_n is an excess risk of order 1/k when θ_ν = θ*)",
                  numbers={f"r={r}": {"v_inf": v.limits.v_inf, "v_n": [s.mean for s in v.validity_summary],
                                      "slope": v.validity_fit.slope,
                                      "slope_ci": [v.validity_fit.ci_low, v.validity_fit.ci_high]}
                           for r, v in sorted(margin.items())},
                  figure="validity", command="theory-sim validity --score margin --r 0.1")
    c6 = _decided(c6_tests, f"V_n at the largest n within ±{LIMIT_MARGIN:.0%} of V_∞ (relative; 90% interval "
                            "inside / outside)", c6_controls,
                  criterion="EL2N keep-hardest, at every r: equivalence (TOST, 5% per side): the 90% t interval of "
                            f"V_n at the largest n lies inside V_∞ ± {LIMIT_MARGIN:.0%}; V_∞ > 0 at the smallest r, "
                            "and at least its value at the largest r",
                  numbers={f"r={r}": {"v_inf": v.limits.v_inf, "v_n": v.validity_summary[-1].mean}
                           for r, v in sorted(el2n.items())},
                  figure="validity", command="theory-sim validity --score el2n --keep highest --r 0.1")
    c4 = _decided(c5_tests + c6_tests[:-1], "those of C5 (V_∞ = 0) and C6 (V_∞ > 0)", c5_controls + c6_controls,
                  criterion="V_n converges to L(argmin L_ν_r) − min L in both cases above (0 and > 0): every test "
                            "of C5 and the V_n-vs-V_∞ tests of C6",
                  numbers={}, figure="validity", command="theory-sim validity --score el2n --keep highest --r 0.3")
    return {"C5": c5, "C6": c6, "C4": c4}


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
    level = 0.999  # the intervals of the numbers; the decisions use the slopes' standard errors
    z = float(stats.norm.ppf(0.5 + level / 2))
    numbers, tests, controls = {}, [], []

    def predicted_slope(j, window):  # the slope of the predicted curve (V_∞ + C/k) on a fit's window
        return float(np.polyfit(np.log(ns[window]), np.log(result.predicted[i, j, window]), 1)[0])

    for r, by_protocol in summary.items():
        i, p_rand = result.index(r, "random")
        _, p_hard = result.index(r, "sbpa-hard")
        rand = fit_power_law(cfg.ns, result.excess[i, p_rand], n_min=by_protocol["random"]["fit"].n_min, level=level)
        tail = fit_power_law(cfg.ns, result.excess[i, p_hard], n_min=by_protocol["sbpa-hard"]["tail"].n_min,
                             level=level)
        predicted_rand = predicted_slope(p_rand, ns >= rand.n_min)
        predicted_tail = predicted_slope(p_hard, ns >= tail.n_min)
        pl, cross = by_protocol["sbpa-hard"]["plateau"], by_protocol["sbpa-hard"]["crossover"]
        reps = result.excess.shape[-1]
        last = t_summary(result.excess[i, p_hard, -1], level=level)  # the excess at the largest n, over replications
        here = [_test(f"r={r:g}: random pruning's slope vs the predicted", rand.slope, (rand.ci_high - rand.slope) / z,
                      predicted_rand, C8_SLOPE_MARGIN),
                _test(f"r={r:g}: SBPA keep-hard tail slope vs the predicted", tail.slope,
                      (tail.ci_high - tail.slope) / z, predicted_tail, C8_SLOPE_MARGIN),
                _test(f"r={r:g}: SBPA keep-hard excess at the largest n vs the predicted", last.mean, last.stderr,
                      pl.predicted_at_n, C8_LEVEL_MARGIN * pl.predicted_at_n, dof=reps - 1),
                _fact(f"r={r:g}: crossover of SBPA keep-hard and random measured", cross.status == "crossover",
                      "means")]
        tests += here
        rand_last = t_summary(result.excess[i, p_rand, -1])
        controls.append(_control(f"r={r:g}: random pruning passed off as SBPA keep-hard (its excess at the largest n "
                                 "against SBPA's predicted plateau)",
                                 [_test("excess at the largest n vs SBPA's prediction", rand_last.mean,
                                        rand_last.stderr, pl.predicted_at_n, C8_LEVEL_MARGIN * pl.predicted_at_n,
                                        dof=reps - 1)]))
        numbers[f"r={r:g}"] = {
            "random_slope": rand.slope, "random_slope_ci": [rand.ci_low, rand.ci_high],
            "sbpa_hard_tail_slope": tail.slope, "sbpa_hard_tail_ci": [tail.ci_low, tail.ci_high],
            "predicted_tail_slope": predicted_tail, "sbpa_hard_excess_at_n_max": pl.mean,
            "predicted_at_n_max": pl.predicted_at_n, "V_inf": pl.predicted_limit,
            "n_star": cross.n_star, "n_star_ci95": [cross.ci_low, cross.ci_high], "n_star_predicted": cross.predicted_n_star,
            "failed": [t["name"].split(": ", 1)[1] for t in here if t["verdict"] != "supported"]}
    return {"C8": _decided(
        tests, f"slopes within ±{C8_SLOPE_MARGIN:g} of the predicted curve's, the plateau within "
               f"±{C8_LEVEL_MARGIN:.0%} of its prediction (90% intervals inside / outside)", controls,
        criterion="for every r, equivalence (TOST, 5% per side) of: random pruning's power-law slope and SBPA "
                  f"keep-hard's last-decade slope with the slopes of their predicted curves V_∞ + C/k (±{C8_SLOPE_MARGIN:g}); "
                  f"SBPA keep-hard's excess at the largest n with its prediction by quadrature (±{C8_LEVEL_MARGIN:.0%}); "
                  "and SBPA keep-hard, better than random at small n, crosses it at a measured n*(r). Model: "
                  f"least-squares line on sine-regression (ω={cfg.omega:g}, s={cfg.noise:g}), exact test loss",
        numbers=numbers, figure="scaling_laws", command="theory-sim figures scaling_laws")}


# Experiment name -> the function of its results that gives its evidence (claim id -> entry).
EVIDENCE = {"limit": _evidence_limit, "consistency": _evidence_consistency, "validity": _evidence_validity,
            "new_minima": _evidence_new_minima, "width_validity": _evidence_width_validity,
            "scaling_laws": _evidence_scaling_laws, "real_data": _other.evidence_real_data,
            "mnist1d_scaling": _other.evidence_mnist1d_scaling, "policies": _other.evidence_policies,
            "perceptron": _other.evidence_perceptron, "alpha_choice": _other.evidence_alpha_choice,
            "phase_diagram": _other.evidence_phase_diagram, "gap_law": _other.evidence_gap_law}
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
