r"""Exact checks of the general limit law of selection policies, P1–P4 (docs/theory.md,
"Selection policies: a general limit law (ours)"). The propositions are the project's own.

All cases are discrete: a law µ on a few points z_1..z_m with rational masses, and rational
selection probabilities, so every expectation is an exact finite sum (``Fraction``) or a sympy
identity.

P1 — keep z_i iff U_i ≤ π(g_i): enumerating every data set of size n and every keep pattern,
E[#kept with z_i = z_j]/n = π_j µ_j and E[#kept]/n = π̄ (the two strong-law limits whose ratio is
ν_π = πµ/π̄), and n · Var[#kept at z_j / n] = π_j µ_j (1 − π_j µ_j) for n = 1, 2, 3 (the 1/n rate).
``theory_sim``'s :func:`poisson_profile` gives the same density π/π̄.

P2 — E[L^HT | D_n] = L_n as a sympy identity in symbolic losses f_i and probabilities π_i (every
keep pattern of n = 3 points); the per-point variance E_µ[f²/π] − (E_µ f)², exactly, against the
enumerated variance; π = 0 on a set B gives the limit E_µ[f 1_{B^c}] ≠ E_µ f.

P3 — the exponential race: P(T_1 < T_2 < T_3) for T_i ~ Exp(λ_i) equals successive sampling's
λ_1/(λ_1+λ_2+λ_3) · λ_2/(λ_2+λ_3) (sympy), and the marginal of SBPA on the augmented data,
∫_0^1 1{−log(u)/λ ≤ q} du = 1 − e^{−λq} (sympy).

P4 — stratified: for counts N_b = m_b n and budgets k_b = s_b n, each point of bin b is kept with
probability k_b/N_b (enumerated over every k_b-subset of a small bin, Fraction), so the kept
law is s_b/(r m_b) times µ on J_b (sympy, symbolic shares); the stratum weights N_b/(n k_b) make
the pruned loss conditionally unbiased (enumeration, symbolic losses). Special cases (sympy):
SBPA, AC and random have the densities of docs/theory.md "Limits", EC's weights are the stratum
weights, and ``theory_sim``'s :func:`protocol_profile`, :func:`limit_density` and ``prune``'s EC
weights take these values.
"""

from __future__ import annotations

import itertools
from fractions import Fraction

__all__ = ["check_p1", "check_p2", "check_p3", "check_p4"]

# a discrete law: masses µ_j and selection probabilities π_j (Fractions)
MU = (Fraction(1, 2), Fraction(1, 3), Fraction(1, 6))
PI = (Fraction(1, 4), Fraction(2, 3), Fraction(1, 1))
F = (Fraction(3), Fraction(-1), Fraction(5, 2))  # a loss at each point


def _datasets(n):
    """Every data set of size n (tuples of point indices) with its probability under µ^n."""
    for ds in itertools.product(range(len(MU)), repeat=n):
        p = Fraction(1)
        for j in ds:
            p *= MU[j]
        yield ds, p


def _patterns(ds, pi):
    """Every keep pattern of a data set with its probability (independent selection with π)."""
    for keep in itertools.product((0, 1), repeat=len(ds)):
        p = Fraction(1)
        for j, k in zip(ds, keep):
            p *= pi[j] if k else 1 - pi[j]
        yield keep, p


def check_p1():
    m = len(MU)
    pibar = sum(p * u for p, u in zip(PI, MU))
    ok, rows = True, []
    for n in (1, 2, 3):
        first = [Fraction(0)] * m
        second = [Fraction(0)] * m
        kept = Fraction(0)
        for ds, pd in _datasets(n):
            for keep, pk in _patterns(ds, PI):
                w = pd * pk
                kept += w * sum(keep)
                for j in range(m):
                    c = Fraction(sum(1 for i, k in zip(ds, keep) if k and i == j), n)
                    first[j] += w * c
                    second[j] += w * c * c
        mean_ok = all(first[j] == PI[j] * MU[j] for j in range(m)) and kept / n == pibar
        var_ok = all(n * (second[j] - first[j] ** 2) == PI[j] * MU[j] * (1 - PI[j] * MU[j]) for j in range(m))
        ok &= mean_ok and var_ok
        rows.append(f"n={n}: means {'ok' if mean_ok else 'WRONG'}, n*var {'ok' if var_ok else 'WRONG'}")
    limit = [PI[j] * MU[j] / pibar for j in range(m)]
    # theory_sim: poisson_profile on levels. Put the three points on level bins of mass µ_j.
    import numpy as np

    from theory_sim.core.selection_laws import poisson_profile

    edges = np.cumsum([0.0] + [float(u) for u in MU])
    pi_of_t = lambda t: np.asarray([float(PI[j]) for j in range(m)])[  # noqa: E731
        np.clip(np.searchsorted(edges, t, side="left") - 1, 0, m - 1)]
    prof = poisson_profile(pi_of_t, edges=tuple(edges))
    mids = (edges[:-1] + edges[1:]) / 2
    ts_density = prof(mids)  # density w.r.t. µ on each point's bin
    ts_ok = bool(np.allclose(ts_density, [float(v / MU[j]) for j, v in enumerate(limit)], rtol=1e-9, atol=0))
    ok &= ts_ok
    return ok, {"summary": f"E[kept at z_j]/n = pi_j mu_j, E[kept]/n = pibar = {pibar}, n Var = pi mu (1 - pi mu) "
                           f"for n = 1..3; limit pi mu/pibar = {[str(v) for v in limit]}; poisson_profile "
                           f"{'agrees' if ts_ok else 'DISAGREES'}",
                "rows": "; ".join(rows), "pibar": str(pibar), "limit": " ".join(map(str, limit)),
                "numeric_tests": "tests/theory/test_selection_laws.py::test_poisson_policy_kept_levels_follow_p1"}


def check_p2():
    import sympy as sp

    n = 3
    f = sp.symbols("f1:4")
    p = sp.symbols("p1:4", positive=True)
    expected = 0
    for keep in itertools.product((0, 1), repeat=n):
        prob = sp.Integer(1)
        for i, k in enumerate(keep):
            prob *= p[i] if k else 1 - p[i]
        expected += prob * sum(f[i] / (n * p[i]) for i in range(n) if keep[i])
    unbiased = sp.simplify(expected - sum(f) / n) == 0
    # per-point variance of 1{U <= pi} f / pi under mu (n = 1), exactly, against the formula
    ef = sum(u * v for u, v in zip(MU, F))
    ef2pi = sum(u * v * v / q for u, v, q in zip(MU, F, PI))
    second = sum(u * q * (v / q) ** 2 for u, v, q in zip(MU, F, PI))
    var_ok = second - ef**2 == ef2pi - ef**2
    # pi = 0 on B = {z_1}: the HT limit is E[f 1_{B^c}], not E f
    pi_b = (Fraction(0),) + PI[1:]
    ht_b = sum(u * q * (v / q) for u, v, q in zip(MU, F, pi_b) if q > 0)
    missing = ht_b == ef - MU[0] * F[0] and ht_b != ef
    ok = bool(unbiased) and var_ok and missing
    return ok, {"summary": f"E[L^HT | D_n] = L_n (sympy, n = 3): {bool(unbiased)}; per-point variance "
                           f"E f^2/pi - (E f)^2 = {ef2pi - ef**2}: {var_ok}; pi = 0 on B: limit {ht_b} != E f = {ef}",
                "variance": str(ef2pi - ef**2), "ht_limit_pi0": str(ht_b), "Ef": str(ef),
                "numeric_tests": "tests/theory/test_selection_laws.py::test_inverse_probability_weights_recover_mu"}


def check_p3():
    import sympy as sp

    l1, l2, l3, t1, t2, q = sp.symbols("lambda1 lambda2 lambda3 t1 t2 q", positive=True)
    u = sp.symbols("u", positive=True)
    inner = sp.integrate(l2 * sp.exp(-l2 * t2) * sp.exp(-l3 * t2), (t2, t1, sp.oo))
    race = sp.integrate(l1 * sp.exp(-l1 * t1) * inner, (t1, 0, sp.oo))
    successive = l1 / (l1 + l2 + l3) * l2 / (l2 + l3)
    race_ok = sp.simplify(race - successive) == 0
    # marginal of the augmented SBPA: P_U(-log(U)/lambda <= q) = P(U >= exp(-lambda q))
    marginal = sp.integrate(sp.Integer(1), (u, sp.exp(-l1 * q), 1))
    marginal_ok = sp.simplify(marginal - (1 - sp.exp(-l1 * q))) == 0
    ok = bool(race_ok) and bool(marginal_ok)
    return ok, {"summary": f"exponential race = successive sampling (sympy): {bool(race_ok)}; "
                           f"pi_A(g) = 1 - exp(-lambda(g) q): {bool(marginal_ok)}",
                "race": str(sp.simplify(race)),
                "numeric_tests": "tests/theory/test_selection_laws.py::test_soft_sampling_without_replacement_follows_p3"}


def _subset_keep_probability(big_n, k):
    """Probability that a given point of a bin of N points is in a uniform k-subset (enumerated)."""
    subsets = list(itertools.combinations(range(big_n), k))
    return Fraction(sum(1 for s in subsets if 0 in s), len(subsets))


def check_p4():
    import numpy as np
    import sympy as sp

    # (a) within a bin, each point is kept with probability k_b / N_b; weighted loss unbiased
    incl_ok = all(_subset_keep_probability(nb, kb) == Fraction(kb, nb) for nb in range(1, 7) for kb in range(nb + 1))
    f = sp.symbols("f1:6")
    bins = (0, 0, 1, 1, 1)  # N = (2, 3), budgets k = (1, 2)
    kb = {0: 1, 1: 2}
    nb = {0: 2, 1: 3}
    members = {b: [i for i, c in enumerate(bins) if c == b] for b in nb}
    total, count = 0, 0
    for s0 in itertools.combinations(members[0], kb[0]):
        for s1 in itertools.combinations(members[1], kb[1]):
            total += sum(sp.Rational(nb[bins[i]], len(bins) * kb[bins[i]]) * f[i] for i in s0 + s1)
            count += 1
    unbiased = sp.simplify(total / count - sum(f) / len(bins)) == 0
    # (b) the density: point mass (k_b / N_b) / k per point, with N_b = m_b n, k_b = s_b n, k = r n
    s, m, r, nn = sp.symbols("s m r n", positive=True)
    density = sp.simplify(((s * nn) / (m * nn)) / (r * nn) * nn)  # (kept prob / k) / (1/n)
    density_ok = sp.simplify(density - s / (r * m)) == 0
    # (c) special cases
    a = sp.symbols("alpha", positive=True)
    sbpa = s / (r * m)
    sbpa_ok = sp.simplify(sbpa.subs({s: r, m: r}) - 1 / r) == 0
    ac_in = sp.simplify(sbpa.subs({s: a * r, m: a * r}) - 1 / r) == 0
    ac_out = sp.simplify(sbpa.subs({s: (1 - a) * r, m: 1 - a * r}) - (1 - a) / (1 - a * r)) == 0
    random_ok = sp.simplify(sbpa.subs({s: r, m: 1}) - 1) == 0
    n_, k_, ks = sp.symbols("n k k_s", positive=True)
    big_n, small_k = sp.symbols("N_b k_b", positive=True)
    stratum = big_n / (n_ * small_k)  # P4's stratum weight
    ec_s = sp.simplify(stratum.subs({big_n: ks, small_k: ks}) - 1 / n_) == 0  # S: take-all stratum
    ec_e = sp.simplify(stratum.subs({big_n: n_ - ks, small_k: k_ - ks}) - (n_ - ks) / (n_ * (k_ - ks))) == 0
    # (d) theory_sim agrees: protocol_profile = limit_density's values; prune's EC weights = N_b/(n k_b)
    from theory_sim.core.pruning import prune
    from theory_sim.core.selection_laws import protocol_profile, stratum_weights

    ts_ok = True
    for r_, a_ in (("0.1", "0.5"), ("0.3", "0.25")):
        rq, aq = Fraction(r_), Fraction(a_)
        ac = protocol_profile("ac", float(rq), float(aq))
        ts_ok &= abs(float(ac(np.array([float(aq * rq) / 2]))[0]) - float(1 / rq)) < 1e-12
        ts_ok &= abs(float(ac(np.array([0.9]))[0]) - float((1 - aq) / (1 - aq * rq))) < 1e-12
        sb = protocol_profile("sbpa", float(rq))
        ts_ok &= abs(float(sb(np.array([float(rq) / 2]))[0]) - float(1 / rq)) < 1e-12 and sb(np.array([0.9]))[0] == 0
    g = np.random.default_rng(0).permutation(1000).astype(float)
    sel = prune(g, 0.1, "ec", alpha=0.5, rng=1)
    strata = (g >= np.sort(g)[sel.k_signal]).astype(int)  # 0: the k_s lowest (S), 1: the rest
    w = stratum_weights(strata, strata[sel.indices], g.shape[0])
    ts_ok &= bool(np.allclose(w, sel.weights, rtol=2**-52, atol=0))
    ok = incl_ok and bool(unbiased) and bool(density_ok) and all(map(bool, (sbpa_ok, ac_in, ac_out, random_ok,
                                                                             ec_s, ec_e))) and bool(ts_ok)
    return ok, {"summary": f"kept prob k_b/N_b (enumerated): {incl_ok}; stratum weights unbiased: {bool(unbiased)}; "
                           f"density s_b/(r m_b): {bool(density_ok)}; SBPA/AC/random/EC special cases: "
                           f"{all(map(bool, (sbpa_ok, ac_in, ac_out, random_ok, ec_s, ec_e)))}; theory_sim agrees: "
                           f"{bool(ts_ok)}",
                "numeric_tests": "tests/theory/test_selection_laws.py::test_special_cases_sbpa_ec_ac"}
