r"""The optimal signal fraction of EC (docs/theory.md, "Choosing α"), checked with sympy and in rationals.

With p = α r the mass of the take-all stratum S, R the rest, σ² the variance of the per-point
values F under µ, σ_S², σ_R² their variances on S and R and Δ = µ_S − µ_R, the large-n
variance of the EC risk is [σ² + V(p)]/n with V(p) = (1 − p)(1 − r) σ_R²/(r − p), and
V(0) = (1 − r) σ²/r is random pruning. Checked here:

1. the law of total variance for the two strata, σ² = (1 − p) σ_R² + p σ_S² + p (1 − p) Δ²
   (a polynomial identity in the strata's moments);
2. r (r − p) [V(0) − V(p)]/(1 − r) = p [(r − p)(σ_S² + (1 − p) Δ²) − (1 − p) σ_R²]: EC at p beats
   random exactly when (1 − p) σ_R² < (r − p)(σ_S² + (1 − p) Δ²);
3. with σ_R²(p) = σ² + p (σ² − v) + O(p²) (removing a mass p of points of spread v from the
   kept end), V'(0) = (1 − r)(σ² − r v)/r²: the optimum is interior (α* > 0) when v > σ²/r;
4. the large-n form is the limit of C12's exact formula (N = (1 − p) n, m = (r − p) n);
5. on two exact data sets (rationals), ``theory_sim.choose_alpha``'s Neyman profile equals the
   enumerated variance of C12 plus σ²/n at every α, its α̂ is the enumerated best, and the
   criterion of (2) says the same: interior on one, 0 on the other (the negative control).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

__all__ = ["check_optimal_alpha"]


def _symbolic():
    import sympy as sp

    p, r, s2, sS, sR, d, v, n = sp.symbols("p r sigma2 sigma_S2 sigma_R2 Delta v n", positive=True)
    # (1) law of total variance: moments of the mixture of the two strata
    mu_s, mu_r = sp.symbols("mu_S mu_R", real=True)
    mean = p * mu_s + (1 - p) * mu_r
    second = p * (sS + mu_s**2) + (1 - p) * (sR + mu_r**2)
    total_ok = sp.expand(second - mean**2 - ((1 - p) * sR + p * sS + p * (1 - p) * (mu_s - mu_r) ** 2)) == 0
    # (2) the comparison with random pruning
    big_v = lambda q, s: (1 - q) * (1 - r) * s / (r - q)  # noqa: E731
    sigma2 = (1 - p) * sR + p * sS + p * (1 - p) * d**2
    gap = sp.simplify(r * (r - p) * (big_v(0, sigma2) - big_v(p, sR)) / (1 - r))
    compare_ok = sp.simplify(gap - p * ((r - p) * (sS + (1 - p) * d**2) - (1 - p) * sR)) == 0
    # (3) slope at p = 0
    sR_of_p = s2 + p * (s2 - v)
    slope = sp.simplify(sp.diff(big_v(p, sR_of_p), p).subs(p, 0))
    slope_ok = sp.simplify(slope - (1 - r) * (s2 - r * v) / r**2) == 0
    # (4) the large-n limit of C12's exact formula
    big_n, m = (1 - p) * n, (r - p) * n
    exact = (big_n / n) ** 2 * sR / m * (big_n - m) / (big_n - 1)
    limit_ok = sp.simplify(sp.limit(n * exact, n, sp.oo) - big_v(p, sR)) == 0
    return {"total_variance": total_ok, "comparison": compare_ok, "slope_at_0": slope_ok, "large_n": limit_ok,
            "slope": str(slope)}


def _exact_cases():
    """choose_alpha on the two data sets of C12's best-α check, against exact enumeration."""
    import theory_sim as ts
    from proofs_check.calibration import exact_variance

    g = np.arange(12, dtype=float)
    flat = [Fraction(v) for v in (3, -1, 4, 1, -5, 9, 2, -6, 5, 3, -5, 8)]
    tail = [Fraction(v, 10) for v in (1, -2, 3, 0, 2, -1, 1, -3, 2, 0)] + [Fraction(40), Fraction(55)]
    out = {}
    n, k = 12, 6
    for name, f in (("unrelated", flat), ("outliers_at_high_g", tail)):
        mean = sum(f, Fraction(0)) / n
        sigma2 = sum(((v - mean) ** 2 for v in f), Fraction(0)) / n
        grid = [Fraction(j, k) for j in range(k)]
        exact = [exact_variance(f, g, n, k, j, "highest") + sigma2 / n for j in range(k)]
        # decimals whose ⌊α k⌋ (α read as printed, as theory_sim.prune reads it) is j = 0..5
        decimals = (0.0, 0.17, 0.34, 0.5, 0.67, 0.84)
        choice = ts.choose_alpha(g, np.array([float(v) for v in f]), 0.5, "ec", keep="highest", alphas=decimals)
        rel = max(abs(Fraction(float(c)) - e) / e for c, e in zip(choice.profile, exact))
        best = grid[min(range(k), key=lambda j: exact[j])]
        # criterion (2) at the enumerated best α (p = α r): does it say "beats random"?
        order = sorted(range(n), key=lambda i: -g[i])
        out[name] = {"rel_err": float(rel), "alpha_hat": grid[decimals.index(choice.alpha)], "alpha_best": best,
                     "criterion_beats_random": _criterion(f, order, best * Fraction(1, 2), Fraction(1, 2), n)}
    return out


def _criterion(f, order, p, r, n):
    """(1 − p) σ_R² < (r − p)(σ_S² + (1 − p) Δ²) in rationals, S the first p·n points of ``order``."""
    ks = int(p * n)
    if ks == 0:
        return False
    s = [f[i] for i in order[:ks]]
    rest = [f[i] for i in order[ks:]]
    mu_s, mu_r = sum(s) / len(s), sum(rest) / len(rest)
    var_s = sum((v - mu_s) ** 2 for v in s) / len(s)
    var_r = sum((v - mu_r) ** 2 for v in rest) / len(rest)
    return (1 - p) * var_r < (r - p) * (var_s + (1 - p) * (mu_s - mu_r) ** 2)


def check_optimal_alpha():
    """Returns (passed, evidence) for the derivation of the optimal α (merged into C12's check)."""
    sym = _symbolic()
    cases = _exact_cases()
    ok = all(sym[key] for key in ("total_variance", "comparison", "slope_at_0", "large_n"))
    ok &= all(c["rel_err"] <= 1e-12 for c in cases.values())
    ok &= all(c["alpha_hat"] == c["alpha_best"] for c in cases.values())
    ok &= cases["outliers_at_high_g"]["criterion_beats_random"] and cases["outliers_at_high_g"]["alpha_best"] > 0
    ok &= cases["unrelated"]["alpha_best"] == 0  # negative control: no stratum beats random
    ev = {f"alpha_derivation_{key}": sym[key] for key in ("total_variance", "comparison", "slope_at_0", "large_n")}
    ev["alpha_slope_at_0"] = sym["slope"]
    for name, c in cases.items():
        ev[f"choose_alpha_{name}"] = (f"alpha_hat {c['alpha_hat']} = enumerated best {c['alpha_best']}, "
                                      f"profile rel err {c['rel_err']:.1e}, criterion says beats random: "
                                      f"{c['criterion_beats_random']}")
    return bool(ok), ev
