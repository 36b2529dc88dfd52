"""The decisive numbers of each claim of the register (docs/theory.md, "Claim register").

One registration per entry of ``claims.json`` (:func:`figures.sections.section`): which numbers
decide it, measured against what the theory predicts or the criterion of
:mod:`theory_sim.claims` requires. Nothing is recomputed but ratios and counts of the numbers
that are there.
"""

from __future__ import annotations

import re

from theory_sim.claims import (C8_SLOPE_MARGIN, DELTA_MARGIN, LIMIT_MARGIN, SLOPE_MARGIN, THRESHOLD_MARGIN,
                               V_SLOPE_MARGIN)

from .sections import Row, estimate, fmt, section

HALF = f"−1/2 ± {SLOPE_MARGIN:g} (90% CI inside)"
WITHIN = f"± {LIMIT_MARGIN:.0%} (90% CI inside)"
WITHIN_DELTA = f"± {DELTA_MARGIN:.2%} (90% CI inside)"


def _per_r(numbers):
    return [(key.removeprefix("r="), value) for key, value in numbers.items() if key.startswith("r=")]


@section("C1", title="SBPA converges to ν_r")
def _c1(e):
    n = e["numbers"]
    return [Row("log-log slope of the gap to ν_r", estimate(n["slope_to_nu_r"], n["slope_ci"]), HALF),
            Row(f"gap to µ ÷ gap to ν_r at n = {fmt(n['n_max'])}", fmt(n["gap_to_mu"] / n["gap_to_nu_r"]), "≥ 10"),
            Row(f"threshold g_(k) at n = {fmt(n['n_max'])}", fmt(n["threshold"]), f"q_r = {fmt(n['q_r'])} (exact)",
                summary=False)] + (
        [] if n.get("threshold_z") is None else
        [Row("(g_(k) − q_r) / sd(g_(k)), mean over n", estimate(n["threshold_z"], se=n["threshold_z_se"]),
             f"0 ± {THRESHOLD_MARGIN:g} (90% CI inside)", summary=False)]) + ([] if "law_e_max_by_n" not in n else [
        Row("√k · mean gap to ν_r, by n (reported)", fmt(n["scaled_gap_by_n"]),
            f"E max|Z| = {fmt(n['law_e_max_by_n'])} (its limit law)", summary=False),
        Row("log-log slope the limit law predicts on this design", fmt(n["law_slope"]), "(reported)", summary=False)])


@section("C2", title="SBPA is not consistent")
def _c2(e):
    n = e["numbers"]
    return [Row(f"Δ_n at n = {fmt(n['n_max'])}", estimate(n["delta_n"], se=n["stderr"]),
                f"Δ_∞ = {fmt(n['delta_inf'])} > 0 (quadrature) {WITHIN_DELTA}")]


@section("C3", title="Random pruning is consistent")
def _c3(e):
    n = e["numbers"]
    return [Row("log-log slope of Δ_n (random)", estimate(n["slope"], n["slope_ci"]), HALF)]


@section("C4", title="Validity characterisation")
def _c4(e):
    rows = [Row("V_n → L(argmin L_ν_r) − min L", "decided by C5 (V_∞ = 0) and C6 (V_∞ > 0)", "both")]
    ev = (e.get("exact_check") or {}).get("evidence", {})
    for key, value in ev.items():
        if key.endswith("_v_inf"):
            rows.append(Row(f"V_∞ by quadrature, {key.removesuffix('_v_inf').replace('_', ' ')}", fmt(value),
                            "0" if value == 0 else "> 0", summary=False))
    return rows


@section("C5", title="Label-free SBPA is valid (logistic)")
def _c5(e):
    return [Row(f"log-log slope of V_n, r = {r}", estimate(v["slope"], v["slope_ci"]),
                f"−1 ± {V_SLOPE_MARGIN:g}; V_∞ = {fmt(v['v_inf'])}")
            for r, v in _per_r(e["numbers"])]


@section("C6", title="Label-dependent SBPA is not valid")
def _c6(e):
    return [Row(f"V_n at the largest n, r = {r}", fmt(v["v_n"]), f"V_∞ = {fmt(v['v_inf'])} (quadrature) {WITHIN}")
            for r, v in _per_r(e["numbers"])]


@section("C7", title="Wide MLPs: new local minima")
def _c7(e):
    n = e["numbers"]
    rows = []
    if "grad_nu_norm" in n:
        rows += [Row("‖∇L_ν_r(θ₀)‖ ; ‖∇L(θ₀)‖", f"{fmt(n['grad_nu_norm'])} ; {fmt(n['grad_mu_norm'])}", "≈ 0 ; > 0"),
                 Row("smallest eigenvalue of ∇²L_ν_r(θ₀)", fmt(n["hessian_nu_min_eig"]), "> 0"),
                 Row("validity gap at θ₀", fmt(n["validity_gap"]), "> 0", summary=False)]
    width = n.get("width_validity_excess") or {k: v for k, v in n.items() if isinstance(v, dict)}
    for process in dict.fromkeys(k.split(", ")[0] for k in width):
        cases = {k.split(", ", 1)[1]: v for k, v in width.items() if k.startswith(process + ", ")}
        if "random" not in cases:
            continue
        last = list(cases["random"])[-1]
        sbpa = min(v[last] for k, v in cases.items() if k.startswith("sbpa"))
        rows.append(Row(f"{process}, {last}: excess loss, least SBPA vs random", fmt(sbpa),
                        f"> {fmt(cases['random'][last])} (random)", summary=False))
    return rows


@section("C8", title="Scaling laws: SBPA plateaus")
def _c8(e):
    per_r = _per_r(e["numbers"])
    rs = ", ".join(r for r, _ in per_r)
    rows = [Row(f"slope of random pruning's excess, r = {rs}", ", ".join(fmt(v["random_slope"]) for _, v in per_r),
                f"predicted ± {C8_SLOPE_MARGIN:g} at every r"),
            Row(f"SBPA keep-hard excess at the largest n, r = {rs}",
                ", ".join(fmt(v["sbpa_hard_excess_at_n_max"]) for _, v in per_r),
                ", ".join(fmt(v["predicted_at_n_max"]) for _, v in per_r) + " (quadrature)")]
    for r, v in per_r:
        rows += [Row(f"r = {r}: random slope", estimate(v["random_slope"], v["random_slope_ci"]),
                     f"predicted ± {C8_SLOPE_MARGIN:g}", False),
                 Row(f"r = {r}: SBPA keep-hard tail slope", estimate(v["sbpa_hard_tail_slope"], v["sbpa_hard_tail_ci"]),
                     f"{fmt(v['predicted_tail_slope'])} ± {C8_SLOPE_MARGIN:g}", False),
                 Row(f"r = {r}: crossover n*", estimate(v["n_star"], v["n_star_ci95"]),
                     f"{fmt(v['n_star_predicted'])} (predicted)", False)]
    return rows


@section("C9", title="No free lunch")
def _c9(e):
    n = e["numbers"]
    return [Row("limit cases with err(SBPA) ≥ err(random)",
                f"{fmt(n['limit_cases'])} of {fmt(n['limit_cases'])} ({fmt(n['limit_cases_strictly_worse_than_random'])} "
                "strictly), exact", "all"),
            Row("finite n: inequality from the smallest n", fmt(n["finite_inequality_holds_from_smallest_n"]), "all")]


@section("C10", title="EC is unbiased, consistent, valid")
def _c10(e):
    n = e["numbers"]
    rows = [Row("log-log slope of Δ_n (EC, α = 0.5)", estimate(n["slope"], n["slope_ci"]), HALF)]
    ev = (e.get("exact_check") or {}).get("evidence", {})
    if "subsets_enumerated" in ev:
        rows.append(Row("E[L^EC | D_n] − L_n", f"0 over {fmt(ev['subsets_enumerated'])} subsets, exact", "0"))
    return rows


@section("C11", title="AC limit density, bias → 0")
def _c11(e):
    n = e["numbers"]
    rows = [Row(f"Δ_n of AC at n = {fmt(n['n_max'])}", estimate(n["delta_n"], se=n["stderr"]),
                f"Δ_∞^AC = {fmt(n['delta_inf_ac'])} {WITHIN_DELTA}")]
    ev = (e.get("exact_check") or {}).get("evidence", {})
    if "tv_sympy" in ev:
        rows.append(Row("TV(ν^AC, µ)", f"{ev['tv_sympy']} (sympy)", "→ 0 as α → 0"))
    return rows


@section("C12", title="Variance of EC, blow-up as α → 1")
def _c12(e):
    n = e["numbers"]
    return [Row("Var[L^EC | D_n] = stratified formula",
                f"{fmt(n['symbolic_cases'])} symbolic + {fmt(n['rational_cases'])} rational cases, exact", "equal"),
            Row("n·Var / σ² as α → 1", "∞" if n.get("limit_alpha_to_1") == "oo" else fmt(n["limit_alpha_to_1"]),
                "∞ (sympy)")]


def _words(numbers):
    return [str(v).rsplit(": ", 1)[-1] for v in numbers.values()]


@section("real data", title="Real data: random vs SBPA")
def _real_data(e):
    words = _words(e["numbers"])
    wins = sum(w == "random better" for w in words)
    losses = sum(w.endswith("better") and w != "random better" for w in words)
    return [Row("comparisons at r ≤ 0.3: random better ; SBPA better ; no difference",
                f"{wins} ; {losses} ; {len(words) - wins - losses} of {len(words)}", "random better (the headline)")]


@section("MNIST-1D", title="MNIST-1D: random vs SBPA")
def _mnist1d(e):
    rows = []
    for key, value in e["numbers"].items():
        if re.search(r"(sbpa-hard − random|negative control)", key):
            measured, word = str(value).rsplit(": ", 1)
            rows.append(Row(key.replace(" (negative control)", ", control"), f"{fmt(measured)} ({word})",
                            "inside ±δ (control)" if "control" in key else "above +δ (random better)"))
    return sorted(rows, key=lambda row: "control" in row.quantity)


@section("alpha choice", title="Choosing α from the data")
def _alpha_choice(e):
    """Per setting: the Neyman rule's rate, its α̂ against α*, and EC at α* against random (the decision table with
    its controls follows from the entry's tests)."""
    tests = {t["name"]: t for t in e["tests"]}

    def pick(word):
        return [(name.split(":")[0], t) for name, t in tests.items() if word in name]

    def cell(t):
        return estimate(t["estimate"], [t["ci_low"], t["ci_high"]]) if "estimate" in t else t.get("exact", "")

    rates = pick("slope of the Neyman profile regret")
    gains = pick("(EC(α*) − random)/random")
    rows = [Row("Neyman rule: log-log slope of the profile regret (" + ", ".join(n for n, _ in rates) + ")",
                "; ".join(cell(t) for _, t in rates), "in [−4.75, −1.25] (faster than the excess)"),
            Row("(EC(α*) − random)/random at the largest n (" + ", ".join(n for n, _ in gains) + ")",
                "; ".join(cell(t) for _, t in gains),
                "in [−1, 0]; predicted " + ", ".join(t["name"].split("predicted ")[-1].rstrip(")").replace("-", "−")
                                                     for _, t in gains))]
    for name, t in pick("mean Neyman α̂ at n"):
        rows.append(Row(f"{name}: mean Neyman α̂ at the largest n", cell(t),
                        f"α* = {t['name'].split('α* = ')[-1].rstrip(')')} ± 0.1 (quadrature)", summary=False))
    for name, t in pick("profile regret 0"):
        rows.append(Row(f"{name}: Neyman profile regret", "0 at the two largest n" if t["verdict"] == "supported"
                        else "not 0, and no power-law fit", "0 or a fitted rate", summary=False))
    return rows


@section("phase diagram", title="Phase diagrams: where SBPA beats random")
def _phase_diagram(e):
    """Per setting with a quadrature: r where the predicted keep-hard/random boundary agrees with the measured
    crossover (one summary row: the settings that meet the criterion); the shifted-boundary control."""
    n = e["numbers"]
    per = {key.removesuffix(": r agreeing / disagreeing"): value for key, value in n.items()
           if key.endswith(": r agreeing / disagreeing")}
    met = [name for name, value in per.items() if int(value.split(" / ")[0]) >= 3]
    rows = [Row("quadrature settings whose predicted boundary agrees at ≥ 3 r", f"{len(met)} of {len(per)}",
                f"{len(per)} of {len(per)}")]
    rows += [Row(f"{name}: r agreeing / disagreeing", value, "≥ 3 agreeing", summary=False) for name, value in per.items()]
    for key, value in n.items():
        if key.startswith("control:"):
            rows.append(Row(key.removeprefix("control: "), value, "≥ 2 and at least half (control)", summary=False))
    return rows


@section("gap law", title="The limit law of √k · gap")
def _gap_law(e):
    """Per protocol and r: the KS p-values against the law, the mean against E max|Z|, the control."""
    n = e["numbers"]
    level, pooled = n["level"], n["pooled mean ratio"]
    rows = [Row("mean √k·gap ÷ E max|Z|, pooled over the settings", estimate(pooled["ratio"], pooled["ci90"]),
                "1 ± 5% (90% CI inside)")]
    for key, v in n.items():
        if not isinstance(v, dict) or key == "pooled mean ratio":
            continue
        rows.append(Row(f"{key}: KS p, target sample / exact mean", f"{fmt(v['ks_p_target_sample'])} / "
                                                                     f"{fmt(v['ks_p_exact_mean'])}", f"≥ {fmt(level)}"))
        rows.append(Row(f"{key}: mean √k·gap ÷ E max|Z|", estimate(v["ratio"], se=v["mean_stderr"] / v["e_max_abs_z"]),
                        "1 ± 5% (90% CI inside)", summary=False))
        rows.append(Row(f"{key}: control (scale × 1.2), KS p", f"{fmt(v['control_p'])} (power {fmt(v['control_power'])})",
                        f"< {fmt(level)} (control)", summary=False))
    return rows
