r"""P6: the covariance of the kept means of random pruning, EC and AC (docs/theory.md, "Limits": "The law of the
gaps"), checked exactly, as P5 checks SBPA's.

With ρ = α r the level of the score-based part S (the k_s = ⌊α k⌋ lowest scores), A = A_ρ, f_q = E[f | g = q_ρ],
h = 1_A (f − f_q), λ = (1 − α) r/(1 − ρ) and Cov_c the covariance under µ off A (renormalised):

    random:  Σ = Cov_µ f                       (exactly, at every n: k Cov m̂ = Cov_µ f)
    EC:      Σ = r Cov_µ f + (1 − ρ)(1 − r)/(1 − α) · Cov_c f
    AC:      Σ = Cov_µ((1 − λ) h + λ f)/r + (1 − α)(1 − r)/(1 − ρ) · Cov_c f

The case is P5's discrete law (four score levels, each f constant on a level) with r = 2/5, α = 3/4, so that
ρ = 3/10 lies inside the second level's atom. Everything is an exact finite sum (``Fraction``): every data set of
size n (multinomial counts), S filled level by level, and every exploration draw E (a uniform m_E-subset of the
N = n − k_s other points: its composition by the multivariate hypergeometric law), so k Cov m̂ is exact at
n = 10, 20, 40 with no formula of sampling theory used. Checked: random's identity at n = 10, 20 (k = 4, 8);
EC's kept mean unbiased for f̄_n on every data set (E[m̂ | D_n] = f̄_n); AC's conditional kept mean equal to the
linear statistic (1/k)[(1 − λ_n) T + λ_n Σ_i f(z_i)], T = Σ_i h(z_i) + f_q k_s, λ_n = m_E/N, on every data set whose
S holds all points below the threshold level; at α = 1 AC's formula is P5's σ²; and the exact k Cov m̂ of EC
and AC (both test functions and the cross term) approaches the formula as n grows (relative error decreasing
at n = 10, 20, 40).
"""

from __future__ import annotations

import functools
import itertools
import math
from fractions import Fraction

from proofs_check.kept_mean import FA, FB, MU, Q, _datasets

__all__ = ["check_p6", "sigma"]

R = Fraction(2, 5)
ALPHA = Fraction(3, 4)
RHO = ALPHA * R  # 3/10: F(0) = 1/5 < ρ < F(1) = 1/2, the threshold q_ρ is the level g = 1 (an atom)
PAIRS = ((FA, FA), (FB, FB), (FA, FB))


def _mean(masses, f):
    return sum(p * x for p, x in zip(masses, f))


def _cov(masses, fa, fb):
    ea, eb = _mean(masses, fa), _mean(masses, fb)
    return sum(p * (x - ea) * (y - eb) for p, x, y in zip(masses, fa, fb))


def _below(rho):
    """µ's masses on A_ρ (the lowest ρ of the mass, the threshold's atom split) and off it."""
    inside, left = [], rho
    for p in MU:
        take = min(p, left)
        inside.append(take)
        left -= take
    return inside, [p - a for p, a in zip(MU, inside)]


def sigma(protocol, fa, fb, r=R, alpha=ALPHA) -> Fraction:
    """The formula of the module docstring, Σ_ab, for ``protocol`` in {'random', 'ec', 'ac'} (SBPA: 'ac', α = 1)."""
    if protocol == "random":
        return _cov(MU, fa, fb)
    rho = alpha * r
    inside, outside = _below(rho)
    cov_c = _cov([p / (1 - rho) for p in outside], fa, fb) if rho < 1 else Fraction(0)
    if protocol == "ec":
        return r * _cov(MU, fa, fb) + (1 - rho) * (1 - r) / (1 - alpha) * cov_c
    lam = (1 - alpha) * r / (1 - rho)
    # ψ = (1 − λ) h + λ f on each piece: the part of a level inside A and the part outside (h = 0 there)
    masses = inside + outside
    psi_a = [(1 - lam) * (x - fa[Q]) + lam * x for x in fa] + [lam * x for x in fa]
    psi_b = [(1 - lam) * (x - fb[Q]) + lam * x for x in fb] + [lam * x for x in fb]
    return _cov(masses, psi_a, psi_b) / r + (1 - alpha) * (1 - r) / (1 - rho) * cov_c


def _compositions(total, caps):
    """Every way to draw ``total`` points from groups of sizes ``caps``: (parts, weight), the hypergeometric
    probability being weight / C(Σ caps, total) (integers, so that the sums below stay integer until the end)."""
    for cuts in itertools.combinations(range(total + len(caps) - 1), len(caps) - 1):
        parts = [b - a - 1 for a, b in zip((-1,) + cuts, cuts + (total + len(caps) - 1,))]
        if all(e <= c for e, c in zip(parts, caps)):
            yield parts, math.prod(math.comb(c, e) for c, e in zip(caps, parts))


@functools.cache  # the enumeration does not depend on the formula: a check run twice enumerates once
def _exact(protocol, n, r=R, alpha=ALPHA):
    """k Cov m̂ (for each pair of PAIRS) by exact enumeration, and the identity checks on every data set."""
    k = int(r * n)
    k_s = 0 if protocol == "random" else math.floor(alpha * k)
    m_e, big_n = k - k_s, n - k_s
    lam_n = Fraction(m_e, big_n)
    ints = [[int(x) for x in f] for f in (FA, FB)]
    assert all(Fraction(i) == x for i, f in zip(ints, (FA, FB)) for i, x in zip(i, f))  # integer test functions
    # m̂ = M / scale with M an integer: AC (and random) M = Σ_S f + Σ_E f, scale k; EC M = m_E Σ_S f + N Σ_E f,
    # scale n m_E (weights 1/n on S and N/(n m_E) on E)
    scale = n * m_e if protocol == "ec" else k
    first = [Fraction(0), Fraction(0)]
    second = [Fraction(0)] * len(PAIRS)
    identity_ok, regular = True, Fraction(0)
    for counts, prob in _datasets(n):
        s_counts, left = [], k_s
        for c in counts:
            take = min(c, left)
            s_counts.append(take)
            left -= take
        rest = [c - s for c, s in zip(counts, s_counts)]
        t = [sum(s * x for s, x in zip(s_counts, f)) for f in ints]  # Σ_S f
        m1, m2, total_w = [0, 0], [0] * len(PAIRS), 0
        for parts, w in _compositions(m_e, rest):
            e = [sum(a * x for a, x in zip(parts, f)) for f in ints]  # Σ_E f
            big_m = [m_e * ti + big_n * ei for ti, ei in zip(t, e)] if protocol == "ec" else [ti + ei for ti, ei in zip(t, e)]
            total_w += w
            m1[0] += w * big_m[0]
            m1[1] += w * big_m[1]
            for j, (fa, fb) in enumerate(PAIRS):
                m2[j] += w * big_m[0 if fa is FA else 1] * big_m[0 if fb is FA else 1]
        cond_first = [Fraction(x, total_w * scale) for x in m1]
        cond_second = [Fraction(x, total_w * scale * scale) for x in m2]
        if protocol == "ec":  # unbiased for the data set's mean on every data set
            identity_ok &= all(cond_first[i] == Fraction(sum(c * x for c, x in zip(counts, f)), n)
                               for i, f in enumerate((FA, FB)))
        elif protocol == "ac" and sum(counts[:Q]) <= k_s <= sum(counts[:Q + 1]):  # S = the region below q, regular
            regular += prob
            for i, f in enumerate((FA, FB)):
                lin_t = sum(c * (f[j] - f[Q]) for j, c in enumerate(counts[:Q])) + f[Q] * k_s
                total = sum(c * x for c, x in zip(counts, f))
                identity_ok &= cond_first[i] == ((1 - lam_n) * lin_t + lam_n * total) / k
        for i in range(2):
            first[i] += prob * cond_first[i]
        for j in range(len(PAIRS)):
            second[j] += prob * cond_second[j]
    cov = []
    for (fa, fb), s in zip(PAIRS, second):
        cov.append(k * (s - first[0 if fa is FA else 1] * first[0 if fb is FA else 1]))
    return cov, identity_ok, regular


def check_p6():
    rows, ok = [], True
    # random pruning: k Cov m̂ = Cov_µ f exactly at every n
    for n in (10, 20):
        cov, _, _ = _exact("random", n)
        exact = all(c == sigma("random", fa, fb) for c, (fa, fb) in zip(cov, PAIRS))
        ok &= exact
        rows.append(f"random n={n}: k Cov = Cov_mu {'exactly' if exact else 'NOT'}")
    # AC at α = 1 is SBPA: the formula is P5's
    from proofs_check.kept_mean import R as R5, sigma2

    sbpa_ok = all(sigma("ac", fa, fb, r=R5, alpha=Fraction(1)) == sigma2(fa, fb) for fa, fb in PAIRS)
    ok &= sbpa_ok
    summary = [f"AC at alpha = 1 equals P5's sigma^2: {'yes' if sbpa_ok else 'NO'}"]
    for protocol in ("ec", "ac"):
        errors, identity = [], True
        for n in (10, 20, 40):
            cov, identity_n, regular = _exact(protocol, n)
            identity &= identity_n
            rel = [abs(c / sigma(protocol, fa, fb) - 1) for c, (fa, fb) in zip(cov, PAIRS)]
            errors.append(max(rel))
            rows.append(f"{protocol} n={n}: k Cov / Sigma = " + ", ".join(f"{float(c / sigma(protocol, fa, fb)):.4f}"
                                                                         for c, (fa, fb) in zip(cov, PAIRS))
                        + (f", P(regular) = {float(regular):.3f}" if protocol == "ac" else ""))
        converging = all(a > b for a, b in zip(errors, errors[1:]))
        ok &= identity and converging
        summary.append(f"{protocol.upper()}: Sigma = {sigma(protocol, FA, FA)} (f_a), cross term "
                       f"{sigma(protocol, FA, FB)}; {'unbiased for the data mean on every data set' if protocol == 'ec' else 'kept mean = linear statistic on every regular data set'}: "
                       f"{'yes' if identity else 'NO'}; max relative error of k Cov at n = 10, 20, 40: "
                       + ", ".join(f"{float(e):.4f}" for e in errors) + (" (decreasing)" if converging else " (NOT decreasing)"))
    return bool(ok), {"summary": "; ".join(summary), "rows": "; ".join(rows),
                      "numeric_tests": "tests/theory/test_gap_law.py::test_simulated_gaps_follow_the_limit_law"}
