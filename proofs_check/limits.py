r"""Exact checks of the limits of pruning (docs/theory.md, "Limits"): claims C1 and C11.

C1 — ν_r = µ|_{A_r}/r is a probability measure and q_r is known in closed form:

* the teaching process ``exponential`` (x ~ Exp(λ)) with the ``distance`` score centred at
  0, g(x) = x: F_g(t) = 1 − e^{−λt}, so

  .. math::  q_r = -\frac{\log(1 - r)}{\lambda}, \qquad
             \int_0^{q_r} \frac{\lambda e^{-\lambda x}}{r}\,dx = 1

  (sympy, symbolically in λ and r; keep="highest" mirrors it: q = −log(r)/λ);
* ``margin`` g = |u*|, u* = w*·x + b* ~ N(b*, ‖w*‖²) on ``gaussian-logistic``: |u*| is folded
  normal, F(q) = Φ((q − b*)/s) − Φ((−q − b*)/s), s = ‖w*‖, solved for F(q) = r at 50 digits;
  µ(A_r)/r = 1 is then recomputed as a 2-D integral over x ~ N(0, I₂) (inner integral in
  closed form, outer by tanh–sinh quadrature at 50 digits), independently of F.

C11 — the AC limit (docs/theory.md, "Limits") has density ρ = 1/r on A_{αr} (µ-mass αr) and
(1 − α)/(1 − αr) on its complement, so, symbolically in α and r,

.. math::

    \int \rho\,d\mu = \alpha r \cdot \frac{1}{r} + (1 - \alpha r)\frac{1 - \alpha}{1 - \alpha r} = 1,
    \qquad
    \mathrm{TV}(\nu^{AC}, \mu) = \frac12 \int |\rho - 1|\,d\mu = \alpha (1 - r),

increasing in α (∂/∂α = 1 − r > 0 for r < 1) and 0 at α = 0. For a loss with values in
[0, M], |L_{ν^AC}(w) − L(w)| = |∫(ρ − 1) f dµ| ≤ M · TV: the bias vanishes as α → 0.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ._mp import DIGITS, WORK_DPS, fmt, folded_normal_quantile, phi

__all__ = [
    "C1_RS",
    "EXP_RATES",
    "MARGIN_PROCESS",
    "exponential_quantile_symbolic",
    "margin_quantiles_mp",
    "check_c1",
    "ac_density_symbolic",
    "check_c11",
]

C1_RS = ("0.01", "0.1", "0.3", "0.5", "0.9")  # compression levels, as decimal strings (exact rationals)
EXP_RATES = ("0.5", "1", "3")  # λ of the exponential teaching process
MARGIN_PROCESS = {"d": 2, "w_star": ("2", "1"), "b_star": "0.5"}  # gaussian-logistic defaults (processes.py)
EXP_TOL = 1e-12  # relative: score_quantile uses −log1p(−p)/λ, correct to a few ulp
MARGIN_TOL = 1e-10  # relative: score_quantile inverts the folded-normal CDF by Brent to ~1e-15


# --------------------------------------------------------------------------------------- C1 (a)


def exponential_quantile_symbolic():
    r"""Derive q_r and ∫ dν_r for x ~ Exp(λ), g(x) = x, with sympy.

    Returns
    -------
    dict
        ``q_lowest`` (sympy expr, q with F(q) = r), ``q_highest`` (F(q) = 1 − r),
        ``mass_lowest``, ``mass_highest`` (∫ over A of the density 1/r · λe^{−λx}, simplified),
        and booleans ``q_lowest_ok``, ``q_highest_ok``, ``mass_ok`` comparing them with
        −log(1 − r)/λ, −log(r)/λ and 1.
    """
    import sympy as sp

    lam, r, t, x = sp.symbols("lambda r t x", positive=True)
    density = lam * sp.exp(-lam * x)
    cdf = sp.integrate(density, (x, 0, t))  # 1 − e^{−λt}
    q_low = sp.solve(sp.Eq(cdf, r), t)
    q_high = sp.solve(sp.Eq(cdf, 1 - r), t)
    if len(q_low) != 1 or len(q_high) != 1:
        raise ArithmeticError(f"expected one root, got {q_low} and {q_high}")
    q_low, q_high = q_low[0], q_high[0]
    mass_low = sp.simplify(sp.integrate(density / r, (x, 0, q_low)))
    mass_high = sp.simplify(sp.integrate(density / r, (x, q_high, sp.oo)))
    return {
        "cdf": cdf,
        "q_lowest": q_low,
        "q_highest": q_high,
        "mass_lowest": mass_low,
        "mass_highest": mass_high,
        # e^{−λq} = 1 − r  ⇔  q = −log(1 − r)/λ (sympy writes it log(−1/(r − 1))/λ)
        "q_lowest_ok": sp.simplify(sp.exp(-lam * q_low) - (1 - r)) == 0,
        "q_highest_ok": sp.simplify(sp.exp(-lam * q_high) - r) == 0,
        "mass_ok": mass_low == 1 and mass_high == 1,
    }


# --------------------------------------------------------------------------------------- C1 (b)


def margin_quantiles_mp(rs=C1_RS, *, w_star=MARGIN_PROCESS["w_star"], b_star=MARGIN_PROCESS["b_star"]):
    r"""q_r of ``margin`` on ``gaussian-logistic`` (d = 2) at 50 digits, with the mass of A_r by 2-D quadrature.

    For each r: q_low (F(q) = r, keep="lowest"), q_high (F(q) = 1 − r, keep="highest"), the
    residuals |F(q) − p|, and

    .. math::  \frac{\mu(A_r)}{r} = \frac1r \int \varphi(x_1)
               \Big[\Phi\Big(\frac{q - b - w_1 x_1}{w_2}\Big) - \Phi\Big(\frac{-q - b - w_1 x_1}{w_2}\Big)\Big] dx_1

    (A_r = {|w_1 x_1 + w_2 x_2 + b| ≤ q}, x₂ integrated in closed form), which must be 1.

    Returns
    -------
    list of dict, one per r, values as mpf at the working precision.
    """
    import mpmath

    out = []
    with mpmath.workdps(WORK_DPS):
        w1, w2 = (mpmath.mpf(v) for v in w_star)
        b = mpmath.mpf(b_star)
        s = mpmath.sqrt(w1 * w1 + w2 * w2)
        for r_text in rs:
            r = mpmath.mpf(r_text)
            q_low, res_low = folded_normal_quantile(r, b, s)
            q_high, res_high = folded_normal_quantile(1 - r, b, s)

            def slab(x1, q=q_low):  # P(|w1 x1 + w2 x2 + b| ≤ q | x1), x2 ~ N(0, 1), w2 > 0
                return phi(x1) * (mpmath.ncdf((q - b - w1 * x1) / w2) - mpmath.ncdf((-q - b - w1 * x1) / w2))

            centre = [(-q_low - b) / w1, (q_low - b) / w1]  # where the slab is widest: split there
            mass, err = mpmath.quad(slab, [-mpmath.inf, centre[0], centre[1], mpmath.inf], error=True)
            out.append({"r": r_text, "q_lowest": q_low, "q_highest": q_high, "residual_lowest": res_low,
                        "residual_highest": res_high, "mass_over_r": mass / r, "mass_quad_error": err / r})
    return out


def check_c1():
    """C1: closed-form q_r and ∫ dν_r = 1 (see the module docstring), compared with theory_sim."""
    import mpmath

    import theory_sim as ts

    ev = {"numeric_tests": "tests/theory/test_c1_limit.py::test_gap_to_nu_r_shrinks_like_root_n, "
                           "tests/theory/test_c1_limit.py::test_threshold_converges_to_q_r, "
                           "tests/theory/test_quantiles.py::test_margin_gaussian_logistic_is_folded_normal"}
    ok = True
    sym = exponential_quantile_symbolic()
    ev["exp_q_r_sympy"] = str(sym["q_lowest"])
    ev["exp_q_r_highest_sympy"] = str(sym["q_highest"])
    ev["exp_nu_r_mass_sympy"] = f"{sym['mass_lowest']} (lowest), {sym['mass_highest']} (highest)"
    ok &= bool(sym["q_lowest_ok"] and sym["q_highest_ok"] and sym["mass_ok"])

    worst_exp = 0.0
    for lam in EXP_RATES:
        mu = ts.make_process("exponential", rate=float(lam))
        score = ts.make_score("distance", mu)
        for r_text in C1_RS:
            r = float(r_text)
            with mpmath.workdps(WORK_DPS):  # the sympy closed form, evaluated at 60 digits
                exact_low = -mpmath.log(1 - mpmath.mpf(r_text)) / mpmath.mpf(lam)
                exact_high = -mpmath.log(mpmath.mpf(r_text)) / mpmath.mpf(lam)
            for keep, exact in (("lowest", exact_low), ("highest", exact_high)):
                got = ts.score_quantile(mu, score, r, keep=keep).value
                with mpmath.workdps(WORK_DPS):
                    worst_exp = max(worst_exp, float(abs(mpmath.mpf(got) - exact) / exact))
    ev["exp_max_rel_err_vs_theory_sim"] = worst_exp
    ev["exp_tolerance"] = EXP_TOL
    ok &= worst_exp <= EXP_TOL

    mu = ts.make_process("gaussian-logistic", d=2, w_star=np.array([float(v) for v in MARGIN_PROCESS["w_star"]]),
                         b_star=float(MARGIN_PROCESS["b_star"]))
    score = ts.make_score("margin", mu)
    worst_margin, worst_mass, worst_res = 0.0, 0.0, 0.0
    for row in margin_quantiles_mp():
        r = float(row["r"])
        for keep in ("lowest", "highest"):
            exact = row[f"q_{keep}"]
            got = ts.score_quantile(mu, score, r, keep=keep).value
            with mpmath.workdps(WORK_DPS):
                worst_margin = max(worst_margin, float(abs(mpmath.mpf(got) - exact) / exact))
            worst_res = max(worst_res, float(row[f"residual_{keep}"]))
        with mpmath.workdps(WORK_DPS):
            worst_mass = max(worst_mass, float(abs(row["mass_over_r"] - 1)))
        ev[f"margin_q_{row['r']}"] = fmt(row["q_lowest"])
    ev["margin_max_rel_err_vs_theory_sim"] = worst_margin
    ev["margin_tolerance"] = MARGIN_TOL
    ev["margin_max_cdf_residual"] = worst_res
    ev["margin_max_abs(mu(A_r)/r - 1)"] = worst_mass  # 0.0: below the 60-digit working precision
    ok &= worst_margin <= MARGIN_TOL and worst_res <= 10.0 ** (-DIGITS) and worst_mass <= 10.0 ** (-DIGITS)
    ev["summary"] = (f"q_r=-log(1-r)/lam, mass 1 (sympy); exp rel err {worst_exp:.1e}; margin: rel err "
                     f"{worst_margin:.1e}, |mu(A_r)/r-1| " + (f"{worst_mass:.0e}" if worst_mass else "< 1e-60"))
    return ok, ev


# --------------------------------------------------------------------------------------- C11


def ac_density_symbolic():
    r"""The AC limit density, its total mass and its TV distance to µ, symbolically in α and r.

    The two values of ρ − 1 have known signs for 0 < r < 1, 0 ≤ α ≤ 1:
    1/r − 1 = (1 − r)/r ≥ 0 and (1 − α)/(1 − αr) − 1 = −α(1 − r)/(1 − αr) ≤ 0 (both factored by
    sympy and their factors' signs read off), so |ρ − 1| is removed without case analysis.

    Returns
    -------
    dict with sympy expressions ``mass`` (must be 1), ``tv`` (must be α(1 − r)),
    ``dtv_dalpha``, ``tv_at_0``, ``inside_minus_1``, ``outside_minus_1``, and the booleans.
    """
    import sympy as sp

    alpha, r = sp.symbols("alpha r", positive=True)  # r in (0, 1), alpha in (0, 1]; α = 0 by substitution
    rho_in = 1 / r
    rho_out = (1 - alpha) / (1 - alpha * r)
    mass_in, mass_out = alpha * r, 1 - alpha * r  # µ(A_{αr}) = αr for an adapted score
    mass = sp.simplify(mass_in * rho_in + mass_out * rho_out)
    inside = sp.factor(rho_in - 1)  # (1 − r)/r
    outside = sp.factor(rho_out - 1)  # −α(1 − r)/(1 − αr)
    inside_ok = sp.simplify(inside - (1 - r) / r) == 0
    outside_ok = sp.simplify(outside + alpha * (1 - r) / (1 - alpha * r)) == 0
    # with 0 < r < 1 and 0 ≤ α ≤ 1: inside ≥ 0, outside ≤ 0
    tv = sp.simplify(sp.Rational(1, 2) * (mass_in * inside - mass_out * outside))
    dtv = sp.diff(tv, alpha)
    return {
        "mass": mass,
        "tv": tv,
        "dtv_dalpha": sp.simplify(dtv),
        "tv_at_0": tv.subs(alpha, 0),
        "inside_minus_1": inside,
        "outside_minus_1": outside,
        "mass_ok": mass == 1,
        "tv_ok": sp.simplify(tv - alpha * (1 - r)) == 0,
        "signs_ok": bool(inside_ok and outside_ok),
        "increasing_ok": sp.simplify(dtv - (1 - r)) == 0,
    }


AC_CASES = (("0.1", "0.5"), ("0.3", "0.1"), ("0.3", "0.9"), ("0.5", "1"))  # (r, α) for the theory_sim comparison


def check_c11():
    """C11: AC density mass 1 and TV = α(1 − r) (sympy); theory_sim.limit_density takes exactly these values."""
    import theory_sim as ts

    sym = ac_density_symbolic()
    ev = {"mass_sympy": str(sym["mass"]), "tv_sympy": str(sym["tv"]), "dtv_dalpha_sympy": str(sym["dtv_dalpha"]),
          "tv_at_alpha_0": str(sym["tv_at_0"]), "rho_in_minus_1": str(sym["inside_minus_1"]),
          "rho_out_minus_1": str(sym["outside_minus_1"]),
          "numeric_tests": "tests/theory/test_montecarlo_claims.py::"
                           "test_ac_converges_to_its_own_limit_with_bias_shrinking_as_alpha_to_zero"}
    ok = bool(sym["mass_ok"] and sym["tv_ok"] and sym["signs_ok"] and sym["increasing_ok"] and sym["tv_at_0"] == 0)

    # theory_sim: the density's two values (to 2 ulp of the rationals) and the µ-mass of A_{αr}
    # through the exact CDF of the margin score, which gives TV = α(1 − r) to 1e-12.
    mu = ts.make_process("gaussian-logistic", d=2)
    score = ts.make_score("margin", mu)
    cdf = ts.score_cdf(mu, score)
    x = mu.sample(2000, rng=np.random.default_rng(11)).x
    worst_ulps, worst_tv = 0.0, 0.0
    for r_text, a_text in AC_CASES:
        r, alpha = Fraction(r_text), Fraction(a_text)
        rho = ts.limit_density(mu, score, float(r), protocol="ac", alpha=float(alpha))(x)
        q = ts.score_quantile(mu, score, float(alpha * r)).value
        inside = score(x) <= q
        exact_in, exact_out = 1 / r, (1 - alpha) / (1 - alpha * r)
        for mask, exact in ((inside, exact_in), (~inside, exact_out)):
            if mask.any():
                vals = np.unique(rho[mask])
                if exact == 0:  # α = 1: the density is exactly 0 off A_r
                    ulps = np.where(vals == 0.0, 0.0, np.inf)
                else:
                    ulps = np.abs(vals - float(exact)) / np.spacing(float(exact))
                worst_ulps = max(worst_ulps, float(ulps.max()))
        m_in = cdf(q)  # µ(A_{αr}) from theory_sim's exact law
        tv = 0.5 * (m_in * abs(float(exact_in) - 1) + (1 - m_in) * abs(float(exact_out) - 1))
        worst_tv = max(worst_tv, abs(tv - float(alpha * (1 - r))))
    ev["theory_sim_density_max_ulps"] = worst_ulps
    ev["theory_sim_tv_max_abs_err"] = worst_tv
    ok &= worst_ulps <= 2 and worst_tv <= 1e-12
    ev["summary"] = (f"int rho dmu = {sym['mass']}, TV = {sym['tv']}, dTV/dalpha = {sym['dtv_dalpha']}; "
                     f"theory_sim density within {worst_ulps:.0f} ulp, TV err {worst_tv:.0e}")
    return ok, ev
