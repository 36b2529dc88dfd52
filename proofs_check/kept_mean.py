r"""P5: the variance of SBPA's kept mean (docs/theory.md, "Limits": "The law of the kept mean"), checked exactly.

SBPA keeps the k = r n points of lowest score. For a test function f, the kept mean m̂ = k⁻¹ Σ_kept f(z_i)
satisfies √k (m̂ − E_ν f) → N(0, σ²) with

    σ² = Var_ν f + (1 − r) (E_ν f − E[f | g = q_r])²,

the first term the sampling of the kept points, the second the threshold's fluctuation (the influence function of
a trimmed mean); jointly, for test functions f_a, f_b, the covariance
Cov_ν(f_a, f_b) + (1 − r)(E_ν f_a − f_a(q_r))(E_ν f_b − f_b(q_r)).

The case checked is discrete (a law µ on four score levels with rational masses, r inside the second level's
atom, each f constant on each level), where everything is an exact finite sum (``Fraction``):

* on every data set whose kept set contains all points below the threshold level and none above it ("regular"),
  the kept mean equals the linear statistic m_lin = f(q) + k⁻¹ Σ_i 1{g_i < q}(f(z_i) − f(q)) (checked on every
  enumerated data set); k Var m_lin = Var_µ(h)/r with h = 1{g < q}(f − f(q)) at every n (i.i.d. sum), and
  Var_µ(h)/r = σ² exactly (the formula, for each f and for the cross term of two f);
* the exact k Var m̂ over every data set of size n = 10, 20, 40 (multinomial enumeration) tends to σ² (the
  irregular data sets, whose probability is reported, carry the difference).
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

__all__ = ["check_p5", "kept_mean", "sigma2"]

MU = (Fraction(1, 5), Fraction(3, 10), Fraction(1, 4), Fraction(1, 4))  # masses of the score levels g = 0, 1, 2, 3
R = Fraction(3, 10)  # F(0) = 1/5 < r < F(1) = 1/2: the threshold q_r is the level g = 1 (an atom)
Q = 1  # the index of the threshold level
FA = (Fraction(3), Fraction(-1), Fraction(2), Fraction(5))  # test functions, constant on each level
FB = (Fraction(1), Fraction(4), Fraction(-2), Fraction(0))


def _nu():
    """ν_r: µ below the threshold level, and the rest of the mass r from the threshold's atom, over r."""
    below = sum(MU[:Q])
    return [MU[j] / R if j < Q else (R - below) / R if j == Q else Fraction(0) for j in range(len(MU))]


def sigma2(fa, fb=None) -> Fraction:
    """The formula: Cov_ν(f_a, f_b) + (1 − r)(E_ν f_a − f_a(q))(E_ν f_b − f_b(q)) (f_b = f_a: the variance)."""
    fb = fa if fb is None else fb
    nu = _nu()
    ea, eb = sum(p * x for p, x in zip(nu, fa)), sum(p * x for p, x in zip(nu, fb))
    cov = sum(p * (x - ea) * (y - eb) for p, x, y in zip(nu, fa, fb))
    return cov + (1 - R) * (ea - fa[Q]) * (eb - fb[Q])


def _var_h_over_r(fa, fb) -> Fraction:
    ha = [(fa[j] - fa[Q]) if j < Q else Fraction(0) for j in range(len(MU))]
    hb = [(fb[j] - fb[Q]) if j < Q else Fraction(0) for j in range(len(MU))]
    ma, mb = sum(p * x for p, x in zip(MU, ha)), sum(p * x for p, x in zip(MU, hb))
    return (sum(p * x * y for p, x, y in zip(MU, ha, hb)) - ma * mb) / R


def kept_mean(counts, k, f) -> Fraction:
    """SBPA's kept mean on a data set with ``counts`` points per level: the k slots filled level by level, lowest
    score first (ties inside a level need no breaking: f is constant on it)."""
    left, total = k, Fraction(0)
    for c, x in zip(counts, f):
        take = min(c, left)
        total += take * x
        left -= take
    return total / k


def _datasets(n):
    """Every count vector of n draws over the levels, with its multinomial probability."""
    m = len(MU)
    for cuts in itertools.combinations(range(n + m - 1), m - 1):
        counts = [b - a - 1 for a, b in zip((-1,) + cuts, cuts + (n + m - 1,))]
        prob = Fraction(math.factorial(n))
        for c, p in zip(counts, MU):
            prob = prob * p**c / math.factorial(c)
        yield counts, prob


def check_p5():
    formula_ok = all(_var_h_over_r(a, b) == sigma2(a, b) for a, b in ((FA, FA), (FB, FB), (FA, FB)))
    linear_ok, rows, ratios = True, [], []
    below = Q  # levels strictly below the threshold
    for n in (10, 20, 40):
        k = int(R * n)
        first = second = Fraction(0)
        irregular = Fraction(0)
        for counts, prob in _datasets(n):
            m = kept_mean(counts, k, FA)
            n_below, n_upto = sum(counts[:below]), sum(counts[:below + 1])
            if n_below <= k <= n_upto:
                lin = FA[Q] + Fraction(sum(c * (FA[j] - FA[Q]) for j, c in enumerate(counts[:below])), k)
                linear_ok &= m == lin
            else:
                irregular += prob
            first += prob * m
            second += prob * m * m
        kvar = k * (second - first**2)
        ratios.append(kvar / sigma2(FA))
        rows.append(f"n={n}, k={k}: k Var = {float(kvar):.6f}, P(irregular) = {float(irregular):.2e}")
    converging = all(abs(a - 1) > abs(b - 1) for a, b in zip(ratios, ratios[1:]))
    ok = bool(formula_ok and linear_ok and converging)
    return ok, {"summary": f"sigma^2 = Var_nu f + (1 - r)(E_nu f - f(q))^2 = {sigma2(FA)} equals Var(h)/r exactly "
                           f"(variances and the cross term: {'yes' if formula_ok else 'NO'}); kept mean = linear "
                           f"statistic on every regular data set: {'yes' if linear_ok else 'NO'}; exact k Var / "
                           f"sigma^2 at n = 10, 20, 40: " + ", ".join(f"{float(x):.4f}" for x in ratios),
                "sigma2": str(sigma2(FA)), "cross_term": str(sigma2(FA, FB)), "rows": "; ".join(rows),
                "numeric_tests": "tests/theory/test_kept_mean_law.py::test_variance_of_the_kept_mean_matches_the_formula"}
