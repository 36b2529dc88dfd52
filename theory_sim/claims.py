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


def _evidence_real_data(res):
    """The paper's empirical headline on data nobody here made: does random beat SBPA at r ≤ 0.3?"""
    numbers, findings = {}, []
    for dataset, result in res.items():
        cfg = result.config
        for other in ("sbpa-hard", "sbpa-easy"):
            if "random" not in cfg.protocols or other not in cfg.protocols:
                continue
            _, mean, low, high = result.paired_difference("random", other)
            for i, r in enumerate(cfg.rs):
                if r > 0.3 + 1e-12:
                    continue
                word = ("random better" if low[i] > 0 else f"{other} better" if high[i] < 0 else "no difference")
                numbers[f"{dataset}, r={r:g}, random − {other}"] = f"{mean[i]:+.3f} [{low[i]:+.3f}, {high[i]:+.3f}]: {word}"
                findings.append(word)
    wins = sum(f == "random better" for f in findings)
    losses = sum(f.endswith("better") and f != "random better" for f in findings)
    return {"real data": dict(
        title="Empirical headline on real data (not a claim of the register)",
        statement="When r ≤ 0.3, random pruning beats score-based pruning (Ayed & Hayou's empirical headline), "
                  "checked on scikit-learn's bundled breast_cancer and digits (digit ≥ 5) with probe-MLP EL2N scores.",
        verdict="reported",
        criterion="paired t 95% interval of the final-step test accuracy difference random − SBPA over seeds "
                  f"(no correction for multiplicity): random better in {wins} of {len(findings)} comparisons, "
                  f"SBPA better in {losses}, no difference detected in {len(findings) - wins - losses}",
        numbers=numbers, figure="real_data", command="theory-sim figures real_data")}


MNIST1D_MARGIN = 0.01  # one percentage point of test error: differences smaller than this are not findings
MNIST1D_LEVEL = 0.99  # paired t intervals over seeds


def _paired_word(low, high, margin):
    """A paired difference error(strategy) − error(reference) read against a margin δ."""
    if low > margin:
        return "reference better"  # the whole interval lies above +δ
    if high < -margin:
        return "strategy better"
    if -margin < low and high < margin:
        return f"equivalent within ±{margin:g}"  # the whole interval lies inside (−δ, δ)
    return "undecided"


def _evidence_mnist1d_scaling(res):
    """The paper's empirical headline on MNIST-1D: at r ≤ 0.3 and the largest n, is random better than SBPA?"""
    from theory_sim.experiments.mnist1d_scaling import scaling_summary  # here: claims loads no experiment otherwise

    result = res["mnist1d"]
    cfg = result.config
    delta, level = MNIST1D_MARGIN, MNIST1D_LEVEL
    low_rs = [i for i, r in enumerate(cfg.rs) if r <= 0.3 + 1e-12]
    numbers, control_ok, hard_words = {}, True, []
    summary = scaling_summary(result, strategies=("random", "sbpa-hard", "sbpa-hard-lf"))

    def compare(first, second, i):
        _, mean, low, high = result.paired_difference(first, second, level=level)
        return float(mean[i, -1]), float(low[i, -1]), float(high[i, -1])

    for i in low_rs:
        r = cfg.rs[i]
        if "random-b" in cfg.strategies:
            m, lo, hi = compare("random-b", "random", i)
            word = _paired_word(lo, hi, delta)
            control_ok &= word.startswith(("equivalent", "undecided"))
            numbers[f"r={r:g}: random-b − random (negative control)"] = f"{m:+.4f} [{lo:+.4f}, {hi:+.4f}]: {word}"
        for strategy in ("sbpa-hard", "sbpa-easy", "sbpa-hard-lf", "sbpa-easy-lf", "ec", "ac"):
            if strategy not in cfg.strategies:
                continue
            m, lo, hi = compare(strategy, "random", i)
            word = _paired_word(lo, hi, delta).replace("reference", "random").replace("strategy", strategy)
            numbers[f"r={r:g}: {strategy} − random"] = f"{m:+.4f} [{lo:+.4f}, {hi:+.4f}]: {word}"
            if strategy == "sbpa-hard":
                hard_words.append(word)
        for strategy in ("ec", "ac"):
            if strategy in cfg.strategies and "sbpa-hard" in cfg.strategies:
                m, lo, hi = compare(strategy, "sbpa-hard", i)
                word = _paired_word(lo, hi, delta).replace("reference", "sbpa-hard").replace("strategy", strategy)
                numbers[f"r={r:g}: {strategy} − sbpa-hard (does calibration help)"] = \
                    f"{m:+.4f} [{lo:+.4f}, {hi:+.4f}]: {word}"
    for r, per in summary.items():
        for strategy in ("random", "sbpa-hard", "sbpa-hard-lf"):
            if strategy not in per or per[strategy]["fit"] is None:
                continue
            fit, tail, cross = per[strategy]["fit"], per[strategy]["tail"], per[strategy]["crossing"]
            text = f"slope {fit.slope:+.3f} [{fit.ci_low:+.3f}, {fit.ci_high:+.3f}]"
            if tail is not None:
                text += f"; tail (n ≥ {tail.n_min}) {tail.slope:+.3f} [{tail.ci_low:+.3f}, {tail.ci_high:+.3f}]"
            if cross is not None:
                text += f"; vs random: {cross.status}" + (f" at n* ≈ {cross.n_star:.0f} [{cross.ci_low:.0f}, "
                                                           f"{cross.ci_high:.0f}]" if cross.status == "crossover" else "")
            numbers[f"r={r:g}: {strategy} test error vs n"] = text
    if not control_ok or not hard_words:
        verdict = "inconclusive"
    elif all(w == "random better" for w in hard_words):
        verdict = "supported"
    elif any(w.startswith(("sbpa-hard better", "equivalent")) for w in hard_words):
        verdict = "not supported"
    else:
        verdict = "inconclusive"
    return {"MNIST-1D": dict(
        title="Empirical headline on MNIST-1D (not a claim of the register)",
        statement="When r ≤ 0.3 and data are abundant, random pruning beats score-based pruning (Ayed & Hayou's "
                  "empirical headline), checked with a fixed MLP on MNIST-1D at the largest n, SBPA keeping the "
                  "hardest examples by probe EL2N.",
        verdict=verdict,
        criterion=f"paired t {level:.0%} interval over {cfg.seeds} seeds of the test-error difference SBPA keep-hard − "
                  f"random at n = {cfg.ns[-1]}, read against a margin δ = {delta:g}: 'random better' when the whole "
                  f"interval lies above +δ, 'equivalent' when it lies inside (−δ, δ). Supported when random is "
                  "better at every r ≤ 0.3; not supported when SBPA is better or equivalent at some r ≤ 0.3; "
                  "inconclusive otherwise, or when the negative control (a second independent random draw against "
                  "random, exchangeable with it) is declared better or worse at any r (false-failure rate of the "
                  f"control ≤ {1 - level:.0%} per r). Exponents: weighted log–log fits of test error against n with "
                  "95% intervals (tail: the three largest n); crossovers: where the SBPA/random ratio of mean errors "
                  "turns above 1, with a paired bootstrap interval",
        numbers=numbers, figure="mnist1d_scaling", command="theory-sim figures mnist1d_scaling")}


# Experiment name -> the function of its results that gives its evidence (claim id -> entry).
EVIDENCE = {"limit": _evidence_limit, "consistency": _evidence_consistency, "validity": _evidence_validity,
            "new_minima": _evidence_new_minima, "width_validity": _evidence_width_validity,
            "scaling_laws": _evidence_scaling_laws, "real_data": _evidence_real_data,
            "mnist1d_scaling": _evidence_mnist1d_scaling}


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


# ----------------------------------------------------------------------------- selection policies (issue 14)


def _evidence_policies(res):
    """The policies table (not a claim of the register): the general limit law's predictions (ours,
    docs/theory.md "Selection policies") against the Monte Carlo measurement, cell by cell."""
    numbers, agree, disagree, undecided = {}, 0, 0, 0
    for (policy, score), cell in res.items():
        row = cell.row
        ds, vs = row["delta_slope"], row["v_slope"]
        for what, pred, meas in (("consistent", row["predicted_consistent"], row["measured_consistent"]),
                                 ("valid", row["predicted_valid"], row["measured_valid"])):
            if meas == "undecided":
                undecided += 1
            elif meas == pred:
                agree += 1
            else:
                disagree += 1
        numbers[f"{policy}, {score}"] = (
            f"kept {row['kept_fraction']:.3f}; Δ∞ {row['delta_inf']:.4g}, Δn slope "
            + ("n/a" if ds is None else f"{ds[0]:+.3f} [{ds[1]:+.3f}, {ds[2]:+.3f}]")
            + f": predicted {row['predicted_consistent']}, measured {row['measured_consistent']}; V∞ {row['v_inf']:.3g}, "
            + "Vn slope " + ("n/a" if vs is None else f"{vs[0]:+.3f} [{vs[1]:+.3f}, {vs[2]:+.3f}]")
            + f": predicted {row['predicted_valid']}, measured {row['measured_valid']}")
    controls = []
    for key, want in ((("random", "entropy"), ("consistent", "valid")), (("sbpa-hard", "el2n"),
                                                                         ("not consistent", "not valid"))):
        if key in res:
            row = res[key].row
            controls.append(f"{key[0]} ({key[1]}): measured {row['measured_consistent']}, {row['measured_valid']} "
                            f"(known: {want[0]}, {want[1]})")
    return {"policies": dict(
        title="Selection policies: consistency and validity, predicted and measured (not a claim of the register)",
        statement="The general limit law (P1-P4, ours) predicts each policy's limit, Δ∞ and V∞ by quadrature; the "
                  "Monte Carlo engine measures Δn and Vn on gaussian-logistic with the logistic model.",
        verdict="reported",
        criterion=f"measured consistent / valid when the 95% interval of the log-log slope of Δn lies below −1/4 / of "
                  f"Vn below −1/2, not when above, undecided otherwise; prediction: Δ∞ = 0 / V∞ = 0. Verdicts agree "
                  f"in {agree}, disagree in {disagree}, undecided in {undecided}. Controls: " + "; ".join(controls),
        numbers=numbers, figure="policies", command="theory-sim figures policies")}


EVIDENCE["policies"] = _evidence_policies


def _evidence_perceptron(res):
    """Sorscher et al.'s perceptron statements, and the two limits measured separately (not a claim)."""
    numbers, findings = {}, []
    prop, fixed = res["proportional"], res["fixed-n"]

    def at(rows, theta, name, which):
        pts = rows[(theta, name)]["points"]
        alphas = sorted({p / n for n, p, *_ in pts})
        a = alphas[0] if which == "first" else alphas[-1]
        sel = [pt for pt in pts if abs(pt[1] / pt[0] - a) < 1e-9]
        return a, max(sel, key=lambda pt: pt[0])  # the largest N at that alpha

    thetas = prop.config.thetas
    for theta in thetas:
        for which in ("first", "last"):
            a, hard = at(prop.rows, theta, "keep-hard", which)
            _, easy = at(prop.rows, theta, "keep-easy", which)
            _, rand = at(prop.rows, theta, "random", which)
            word = ("keep-easy better" if easy[4] < hard[3] else "keep-hard better" if hard[4] < easy[3]
                    else "no difference")
            numbers[f"proportional, θ={theta:g}, P/N={a:g}, N={hard[0]}"] = (
                f"error keep-hard {hard[2]:.4f} [{hard[3]:.4f}, {hard[4]:.4f}], keep-easy {easy[2]:.4f} "
                f"[{easy[3]:.4f}, {easy[4]:.4f}], random {rand[2]:.4f}: {word}")
            if theta == 0.0:
                findings.append((which, word))
    for (theta, name), entry in fixed.rows.items():
        s = entry["slope"]
        word = "decays" if s[2] < 0 else "does not decay"
        numbers[f"fixed N={fixed.config.pairs[0][0]}, θ={theta:g}, {name}"] = (
            f"log-log slope of error in P {s[0]:+.3f} [{s[1]:+.3f}, {s[2]:+.3f}]: {word}; error at P="
            f"{entry['points'][-1][1]}: {entry['points'][-1][2]:.4g}")
    sorscher = dict(findings)
    return {"perceptron": dict(
        title="Teacher–student perceptron (Sorscher et al. 2022), proportional and fixed-N limits (not a claim)",
        statement="Sorscher et al.: keeping easy examples is better when data are scarce (small P/N), hard ones when "
                  "abundant, with a perfect probe; the fixed-dimension theory (C5: a label-free score is valid for a "
                  "well-specified linear model) predicts that the error still tends to 0 at fixed N.",
        verdict="reported",
        criterion="95% t-intervals over replications (easy better / hard better when the intervals do not overlap); "
                  f"perfect probe: smallest P/N {sorscher.get('first')}, largest P/N {sorscher.get('last')}; fixed N: "
                  "'decays' when the 95% interval of the log-log slope of the error in P lies below 0",
        numbers=numbers, figure="perceptron", command="theory-sim figures perceptron")}


EVIDENCE["perceptron"] = _evidence_perceptron


# ----------------------------------------------------------------------------- choosing α (issue 13)


def _fmt(i):
    return f"{i['mean']:+.3g} [{i['ci_low']:+.3g}, {i['ci_high']:+.3g}]"


def _evidence_alpha_choice(res):
    """α from the data (docs/theory.md, "Choosing α"): does the Neyman rule's regret vanish, at what rate, and does
    calibrated pruning beat random on the same D_n? Each with a negative control (the α* = 0 setting)."""
    from theory_sim.experiments.alpha_choice import EC_ALPHAS, summary

    numbers = {}
    s = {name: summary(result) for name, result in res.items()}
    for name, entry in s.items():
        for rule, e in entry["rules"].items():
            rate = e["rate"]
            numbers[f"{name}: {rule} profile regret rate"] = (
                "0 at every n" if rate is None and not any(e["profile_mean"]) else
                "no fit; means " + ", ".join(f"{v:.3g}" for v in e["profile_mean"]) if rate is None
                else f"{rate['slope']:+.2f} [{rate['ci_low']:+.2f}, {rate['ci_high']:+.2f}]")
            numbers[f"{name}: {rule} measured regret at n={entry['ns'][-1]}"] = _fmt(e["measured"][-1])
            m = e["measured_rate"]
            if m is not None:
                numbers[f"{name}: {rule} measured regret rate"] = \
                    f"{m['slope']:+.2f} [{m['ci_low']:+.2f}, {m['ci_high']:+.2f}]"
        numbers[f"{name}: alpha* (EC, quadrature)"] = entry["alpha_star_ec"][-1]
        numbers[f"{name}: EC(alpha*) - random at n={entry['ns'][-1]}"] = _fmt(entry["ec_star_minus_random"][-1])
        numbers[f"{name}: EC(Neyman alpha-hat) - random at n={entry['ns'][-1]}"] = _fmt(
            entry["ec_neyman_minus_random"][-1])
    out = {}
    if "interior" in s and "zero" in s:
        inner, zero = s["interior"], s["zero"]
        rate = inner["rules"]["neyman"]["rate"]
        decays = rate is not None and rate["ci_high"] < 0
        control = zero["rules"]["neyman"]["profile_mean"][-1] == 0.0 or (
            zero["rules"]["neyman"]["rate"] is not None and zero["rules"]["neyman"]["rate"]["ci_high"] < 0)
        # negative control of "beats random": EC at the interior α* in the α* = 0 setting must not beat random
        zres = res["zero"]
        j = EC_ALPHAS.index(inner["alpha_star_ec"][-1])
        from theory_sim.stats import t_summary

        t = t_summary(zres.excess_ec[-1, :, j] - zres.excess_ec[-1, :, 0])
        numbers[f"zero: EC(alpha={EC_ALPHAS[j]}) - random at n={zero['ns'][-1]} (control; predicted "
                f"{zres.predicted_ec[-1, j] - zres.predicted_ec[-1, 0]:+.3g})"] = \
            f"{float(t.mean):+.3g} [{float(t.ci_low):+.3g}, {float(t.ci_high):+.3g}]"
        beats = inner["ec_star_minus_random"][-1]["ci_high"] < 0
        control_ok = not float(t.ci_high) < 0
        verdict = ("inconclusive" if not control_ok else "supported" if decays and beats and control
                   else "not supported" if rate is not None and rate["ci_low"] > 0 else "inconclusive")
        res_int = res["interior"]
        out["alpha choice"] = dict(
            title="Choosing α from the data (issue 13; not a claim of the register)",
            statement="The Neyman-type rule (EC as stratified sampling with a take-all stratum) finds α* from a pilot "
                      "fit: its regret against the oracle α* (quadrature) tends to 0; where α* is interior, EC at α* "
                      "beats random pruning on the same D_n; where α* = 0 (predicted), it does not.",
            verdict=verdict,
            criterion="the 95% interval of the power-law slope of the Neyman rule's profile regret (predicted excess at "
                      "α̂ minus at α*, over replications) lies below 0 in the interior setting, and in the α* = 0 "
                      "setting the rule's regret is 0 or decays; EC at α* − random: paired t 95% interval below 0 at "
                      "the largest n (interior setting; predicted "
                      f"{res_int.predicted_ec[-1, j] / res_int.predicted_ec[-1, 0] - 1:+.1%} of random's excess); "
                      "negative control: in the α* = 0 setting EC at the same α must not come out better than random "
                      "(else inconclusive)",
            numbers=numbers, figure="alpha_choice", command="theory-sim figures alpha_choice")
    return out


EVIDENCE["alpha_choice"] = _evidence_alpha_choice
