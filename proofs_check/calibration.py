r"""Exact calibration (EC) by exact enumeration: claims C10 (unbiased) and C12 (variance).

EC (docs/theory.md, "Protocols") with budget k = ⌊r n⌋ and signal fraction α ∈ [0, 1) keeps S, the
k_s = ⌊α k⌋ points of lowest (or highest) score, and E, a uniform subset of size m = k − k_s
of R = D_n \ S (N = n − k_s points), with weights

.. math::  p_i = \frac1n \ (i \in S), \qquad p_i = \frac{n - k_s}{n (k - k_s)} = \frac{N}{n m} \ (i \in E).

**C10.** Enumerating all C(N, m) equally likely subsets E, with symbolic per-point losses
f_1 … f_n (sympy symbols) and the weights as exact rationals,

.. math::  E[L_n^{EC} \mid D_n] = \frac1n \sum_{S} f_i + \frac{N}{n m}\cdot\frac{m}{N} \sum_{R} f_i
           = \frac1n \sum_{i=1}^n f_i = L_n

is checked as a polynomial identity (every point of R lies in a fraction m/N of the subsets).
A negative control — the S and E weights swapped — must leave a non-zero bias. Then
``theory_sim.prune`` must produce, for every case and several seeds, the budget k and k_s of
the rationals, S = the k_s extreme scores on the declared side, E ⊂ D_n \ S of size m, and
weights equal to the rationals to 1 ulp.

**C12.** Over the same enumeration, with σ_R² = (1/N) Σ_R (f_i − f̄_R)² (the stratum's
population variance),

.. math::  \mathrm{Var}[L_n^{EC} \mid D_n] = \Big(\frac{N}{n}\Big)^2 \frac{\sigma_R^2}{m}\,\frac{N - m}{N - 1}

(simple random sampling without replacement from a finite population, Cochran 1977, Thm 2.2),
checked as a polynomial identity in symbolic f for small n and in exact rationals for larger n,
and against ``theory_sim.ec_variance`` (relative 1e-12). Large-n form (sympy): with
N = (1 − αr) n, m = (1 − α) r n, n·Var/σ_R² → (1 − αr)(1 − r)/((1 − α) r), which → ∞ as α → 1⁻.
Whether the best α is interior depends on the data (σ_R² changes with α): two exact examples,
one with the best α at 0 and one with it interior.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np

__all__ = ["EC_CASES", "ec_budget", "ec_rationals", "ec_enumerate_symbolic", "check_c10", "exact_variance",
           "variance_formula", "check_c12"]

# (n, r, alpha) as decimal strings: k = ⌊r n⌋, k_s = ⌊α k⌋, from k_s = 0 (random) to k_s = k − 1
EC_CASES = (
    (5, "0.6", "0.5"),  # k 3, k_s 1
    (6, "0.5", "0"),  # k 3, k_s 0: random pruning
    (6, "1", "0.4"),  # k 6, k_s 2: E is all of R
    (7, "0.6", "0.5"),  # k 4, k_s 2
    (8, "0.5", "0.75"),  # k 4, k_s 3
    (9, "0.7", "0.9"),  # k 6, k_s 5
    (10, "0.3", "0.5"),  # k 3, k_s 1
    (10, "0.5", "0.4"),  # k 5, k_s 2: C(8, 3) = 56 subsets
)
SEEDS = range(25)  # theory_sim.prune draws compared per case and orientation
# distinct scores, so that S is determined (no tie at the threshold)
SCORES = (0.3, -1.2, 2.5, 0.7, -0.4, 1.9, -2.2, 1.1, -0.9, 0.05)


def ec_budget(n: int, r: str, alpha: str) -> tuple[int, int]:
    """(k, k_s) = (⌊r n⌋, ⌊α k⌋) with r and α read as the exact decimals they are written as."""
    k = math.floor(Fraction(r) * n)
    return k, math.floor(Fraction(alpha) * k)


def ec_rationals(n: int, k: int, k_s: int) -> tuple[Fraction, Fraction]:
    """The EC weights (1/n on S, (n − k_s)/(n (k − k_s)) on E) as exact rationals (docs/theory.md, "Protocols")."""
    return Fraction(1, n), Fraction(n - k_s, n * (k - k_s))


def _signal(n, k_s, keep):
    g = np.asarray(SCORES[:n])
    order = np.argsort(g if keep == "lowest" else -g, kind="stable")
    return sorted(order[:k_s].tolist())


def ec_enumerate_symbolic(n: int, k: int, k_s: int, *, swap: bool = False):
    """E[L_n^EC | D_n] − L_n and Var[L_n^EC | D_n] − formula as sympy polynomials in f_1..f_n.

    S = {0, …, k_s − 1} (which points form S does not matter to the identity); every
    m-subset of R is enumerated. ``swap=True`` exchanges the two weights (negative control).

    Returns
    -------
    bias, var_gap : sympy expressions (0 when the identities hold), n_subsets : int
    """
    import sympy as sp

    f = sp.symbols(f"f1:{n + 1}")
    w_s, w_e = ec_rationals(n, k, k_s)
    if swap:
        w_s, w_e = w_e, w_s
    w_s, w_e = sp.Rational(w_s.numerator, w_s.denominator), sp.Rational(w_e.numerator, w_e.denominator)
    signal, rest = list(range(k_s)), list(range(k_s, n))
    fixed = w_s * sum((f[i] for i in signal), sp.Integer(0))
    values = [fixed + w_e * sum(f[i] for i in e) for e in itertools.combinations(rest, k - k_s)]
    count = len(values)
    mean = sp.expand(sum(values) / count)
    bias = sp.expand(mean - sum(f) / n)
    if swap:
        return bias, None, count
    second = sp.expand(sum(v * v for v in values) / count)
    var = sp.expand(second - mean * mean)
    big_n, m = n - k_s, k - k_s
    f_bar = sum(f[i] for i in rest) / big_n
    sigma2 = sum((f[i] - f_bar) ** 2 for i in rest) / big_n
    formula = sp.Integer(0) if big_n == 1 else (sp.Rational(big_n, n) ** 2 * sigma2 / m
                                                * sp.Rational(big_n - m, big_n - 1))
    return bias, sp.expand(var - formula), count


def _ulps(value: float, exact: Fraction) -> float:
    return abs(Fraction(value) - exact) / Fraction(np.spacing(float(exact)))


def _theory_sim_agrees(n, r, alpha, k, k_s, ev):
    """theory_sim.prune against the rationals for both orientations and every seed; returns (ok, worst ulps)."""
    import theory_sim as ts

    g = np.asarray(SCORES[:n])
    w_s, w_e = ec_rationals(n, k, k_s)
    worst = 0.0
    for keep in ("lowest", "highest"):
        signal = _signal(n, k_s, keep)
        rest = set(range(n)) - set(signal)
        for seed in SEEDS:
            sel = ts.prune(g, float(r), "ec", alpha=float(alpha), keep=keep, rng=seed)
            idx = sel.indices.tolist()
            s_idx = sel.indices[sel.signal].tolist()
            e_idx = sel.indices[~sel.signal].tolist()
            if (sel.k, sel.k_signal, len(idx), len(set(idx))) != (k, k_s, k, k):
                ev["first_mismatch"] = f"n={n} r={r} alpha={alpha} keep={keep} seed={seed}: budget k={sel.k}, " \
                                       f"k_s={sel.k_signal}, {len(set(idx))} distinct of {len(idx)} (want {k}, {k_s})"
                return False, worst
            if s_idx != signal or not set(e_idx) <= rest or len(e_idx) != k - k_s:
                ev["first_mismatch"] = f"n={n} r={r} alpha={alpha} keep={keep} seed={seed}: S={s_idx} " \
                                       f"(want {signal}), E={e_idx} (must lie in {sorted(rest)})"
                return False, worst
            for i, wgt in zip(idx, sel.weights.tolist()):
                worst = max(worst, float(_ulps(wgt, w_s if i in signal else w_e)))
    return worst <= 1.0, worst


def check_c10():
    """C10: E[L_n^EC | D_n] = L_n exactly (sympy enumeration) and theory_sim.prune's EC equals the rationals."""
    ev = {"numeric_tests": "tests/unit/test_pruning.py::test_ec_is_unbiased_for_the_full_empirical_loss, "
                           "tests/theory/test_montecarlo_claims.py::test_random_and_ec_are_consistent_at_rate_root_n"}
    ok = True
    subsets = 0
    controls = []
    worst_ulps = 0.0
    for n, r, alpha in EC_CASES:
        k, k_s = ec_budget(n, r, alpha)
        bias, _, count = ec_enumerate_symbolic(n, k, k_s)
        subsets += count
        if bias != 0:
            ok = False
            ev.setdefault("first_failure", f"n={n} k={k} k_s={k_s}: E[L^EC] - L_n = {bias}")
        if k_s > 0 and k - k_s < n - k_s:  # the swap changes the estimator
            swapped, _, _ = ec_enumerate_symbolic(n, k, k_s, swap=True)
            controls.append(swapped != 0)
        agree, worst = _theory_sim_agrees(n, r, alpha, k, k_s, ev)
        worst_ulps = max(worst_ulps, worst)
        ok &= agree
    ev["cases"] = "; ".join(f"n={n} r={r} alpha={a} (k,k_s)={ec_budget(n, r, a)}" for n, r, a in EC_CASES)
    ev["subsets_enumerated"] = subsets
    ev["negative_control_swapped_weights_biased"] = f"{sum(controls)}/{len(controls)}"
    ok &= all(controls) and len(controls) > 0
    ev["theory_sim_draws_checked"] = len(EC_CASES) * 2 * len(SEEDS)
    ev["theory_sim_weights_max_ulps"] = worst_ulps
    ev["summary"] = (f"E[L^EC|D_n]-L_n = 0 over {subsets} subsets in {len(EC_CASES)} cases (sympy); swapped weights "
                     f"biased {sum(controls)}/{len(controls)}; theory_sim S/E/k exact, weights <= {worst_ulps:.2f} ulp")
    return bool(ok), ev


# --------------------------------------------------------------------------------------- C12


def exact_variance(f, g, n, k, k_s, keep="lowest") -> Fraction:
    """Var[L_n^EC | D_n] by enumeration of every exploration subset, in rationals (f: Fractions)."""
    order = sorted(range(n), key=lambda i: g[i] if keep == "lowest" else -g[i])
    signal, rest = order[:k_s], order[k_s:]
    w_s, w_e = ec_rationals(n, k, k_s)
    fixed = w_s * sum((f[i] for i in signal), Fraction(0))
    values = [fixed + w_e * sum((f[i] for i in e), Fraction(0)) for e in itertools.combinations(rest, k - k_s)]
    mean = sum(values, Fraction(0)) / len(values)
    return sum(((v - mean) ** 2 for v in values), Fraction(0)) / len(values)


def variance_formula(f, g, n, k, k_s, keep="lowest") -> Fraction:
    """(N/n)² σ_R²/m · (N − m)/(N − 1) in rationals (0 when N = 1)."""
    order = sorted(range(n), key=lambda i: g[i] if keep == "lowest" else -g[i])
    rest = order[k_s:]
    big_n, m = n - k_s, k - k_s
    if big_n == 1:
        return Fraction(0)
    f_bar = sum((f[i] for i in rest), Fraction(0)) / big_n
    sigma2 = sum(((f[i] - f_bar) ** 2 for i in rest), Fraction(0)) / big_n
    return Fraction(big_n, n) ** 2 * sigma2 / m * Fraction(big_n - m, big_n - 1)


def large_n_form():
    """sympy: n·Var/σ² with N = (1 − αr) n, m = (1 − α) r n, as n → ∞; its limit as α → 1⁻; ∂/∂α."""
    import sympy as sp

    n, r, alpha, s2 = sp.symbols("n r alpha sigma2", positive=True)
    big_n, m = (1 - alpha * r) * n, (1 - alpha) * r * n
    var = (big_n / n) ** 2 * s2 / m * (big_n - m) / (big_n - 1)
    scaled = sp.simplify(sp.limit(n * var / s2, n, sp.oo))
    target = (1 - alpha * r) * (1 - r) / ((1 - alpha) * r)
    t = sp.symbols("t", positive=True)  # r = 1/(1 + t) ranges over (0, 1) exactly when t > 0
    return {
        "n_var_over_sigma2": scaled,
        "form_ok": sp.simplify(scaled - target) == 0,
        "alpha_to_1": sp.limit(scaled.subs(r, 1 / (1 + t)), alpha, 1, dir="-"),
        "d_dalpha": sp.factor(sp.diff(scaled, alpha)),
    }


def _alpha_profile(f, g, n, r, keep):
    """Exact variance for every k_s = 0..k−1 (α = k_s/k): list of (α, Var)."""
    k = math.floor(Fraction(r) * n)
    return [(Fraction(j, k), exact_variance(f, g, n, k, j, keep)) for j in range(k)]


def check_c12():
    """C12: the stratified-sampling variance, exactly; theory_sim.ec_variance agrees; blow-up and best α."""
    import sympy as sp

    import theory_sim as ts

    ev = {"numeric_tests": "tests/theory/test_ec_variance.py::test_variance_matches_formula"}
    ok = True
    # (1) symbolic identity for the small cases
    sym_cases = [c for c in EC_CASES if c[0] <= 7]
    for n, r, alpha in sym_cases:
        k, k_s = ec_budget(n, r, alpha)
        _, gap, _ = ec_enumerate_symbolic(n, k, k_s)
        if gap != 0:
            ok = False
            ev.setdefault("first_failure", f"symbolic n={n} k={k} k_s={k_s}: Var - formula = {gap}")
    ev["symbolic_cases"] = len(sym_cases)

    # (2) rationals for larger n, and theory_sim.ec_variance
    rng = np.random.default_rng(20230214)
    worst_rel = 0.0
    n_cases = 0
    for n, r, alpha in ((12, "0.5", "0.5"), (14, "0.5", "0.3"), (13, "0.6", "0.75"), (12, "0.25", "0.5")):
        g = rng.permutation(n).astype(float) - n / 2  # distinct scores
        f = [Fraction(int(v)) / 8 for v in rng.integers(-40, 80, size=n)]
        k, k_s = ec_budget(n, r, alpha)
        for keep in ("lowest", "highest"):
            exact = exact_variance(f, g, n, k, k_s, keep)
            if exact != variance_formula(f, g, n, k, k_s, keep):
                ok = False
                ev.setdefault("first_failure", f"rational n={n} k={k} k_s={k_s} keep={keep}")
            got = ts.ec_variance(np.array([float(v) for v in f]), g, float(r), float(alpha), keep=keep)
            rel = abs(Fraction(got) - exact) / exact if exact else abs(Fraction(got))
            worst_rel = max(worst_rel, float(rel))
            n_cases += 1
    ev["rational_cases"] = n_cases
    ev["theory_sim_ec_variance_max_rel_err"] = worst_rel
    ok &= worst_rel <= 1e-12

    # (3) large-n form and blow-up
    form = large_n_form()
    ev["large_n_n_var_over_sigma2"] = str(form["n_var_over_sigma2"])
    ev["limit_alpha_to_1"] = str(form["alpha_to_1"])
    ev["d_dalpha"] = str(form["d_dalpha"])
    ok &= bool(form["form_ok"]) and form["alpha_to_1"] == sp.oo

    # (4) best α: interior or not, depending on the data (n = 12, r = 1/2, α = k_s/6)
    g = np.arange(12, dtype=float)
    flat = [Fraction(v) for v in (3, -1, 4, 1, -5, 9, 2, -6, 5, 3, -5, 8)]  # unrelated to g
    tail = [Fraction(v, 10) for v in (1, -2, 3, 0, 2, -1, 1, -3, 2, 0)] + [Fraction(40), Fraction(55)]  # outliers at top g
    best = {}
    for name, f in (("unrelated", flat), ("outliers_at_high_g", tail)):
        prof = _alpha_profile(f, g, 12, "0.5", "highest")
        a_best, v_best = min(prof, key=lambda t: t[1])
        best[name] = a_best
        ev[f"best_alpha_{name}"] = str(a_best)
        ev[f"var_profile_{name}"] = ", ".join(f"{float(v):.4g}" for _, v in prof)
    ok &= best["unrelated"] == 0 and 0 < best["outliers_at_high_g"] < 1

    # (5) the optimal α: when EC beats random, the slope at α = 0, and choose_alpha (proofs_check/alpha_choice.py)
    from proofs_check.alpha_choice import check_optimal_alpha

    alpha_ok, alpha_ev = check_optimal_alpha()
    ev.update(alpha_ev)
    ok &= alpha_ok
    ev["summary"] = (f"Var = (N/n)^2 s_R^2/m (N-m)/(N-1) exactly ({len(sym_cases)} symbolic, {n_cases} rational cases); "
                     f"theory_sim rel err {worst_rel:.0e}; n Var/s^2 -> {form['n_var_over_sigma2']} -> oo as alpha->1; "
                     f"best alpha {best['unrelated']} vs {best['outliers_at_high_g']}; optimal-alpha derivation "
                     f"(sympy) and choose_alpha {'agree' if alpha_ok else 'FAIL'}")
    return bool(ok), ev
