r"""Well-specified logistic regression under SBPA: claims C5 (label-free: valid) and C6 (label-dependent: not).

Setting (docs/theory.md, "Definitions" and "Limits"). θ = (w, b), x̃ = (x, 1), u_θ = θ·x̃, f(z; θ) = −y log σ(u_θ) −
(1 − y) log(1 − σ(u_θ)), and P(y = 1 | x) = σ(u*), u* = u_{θ*} (well specified). The SBPA limit
loss is L_{ν_r}(θ) = (1/r) E_µ[f(z; θ) 1_A(z)] with A = A_r the acceptance region, so

.. math::

    \nabla L_{\nu_r}(\theta) = \frac1r E_\mu\big[\tilde x\,(\sigma(u_\theta) - y)\,1_A(x, y)\big].

**C5.** ∂f/∂u = σ(u) − y (sympy), and for y ~ Bernoulli(σ(u*)) given x,

.. math::  E[\sigma(u^*) - y \mid x] = \sigma(u^*)(\sigma(u^*) - 1) + (1 - \sigma(u^*))\,\sigma(u^*) = 0

identically (sympy). If A depends on x only (a label-free score), 1_A(x) x̃ is a function of
x and the tower property gives ∇L_{ν_r}(θ*) = 0 for **every** label-free score and every r.
L_{ν_r} is convex with Hessian (1/r) E[σ(1 − σ) x̃ x̃ᵀ 1_A] ≻ 0 when A has positive mass and
x̃ is not degenerate on it, so θ* is the unique minimiser of L_{ν_r}: SBPA is valid (C4).
Worked case at 50 digits: ``margin`` (keep lowest), d = 1, w* = 2, b* = 0.5, r = 0.3. The
gradient written as two label integrals vanishes by the identity itself (their integrands are
exact negatives; each integral is of order 0.06); the independent number is the derivative of
the loss integral θ ↦ L_{ν_r}(θ), taken numerically by ``mpmath.diff`` at raised precision
without using ∂f/∂u = σ(u) − y, which vanishes below 10^-50 at θ* (and is ≈ 2.5e-3 at
θ* + (0.1, 0), so the method sees gradients of that size).

**C6.** With a label-dependent region A = {y = 1, x ∈ A₁} ∪ {y = 0, x ∈ A₀} the same
computation gives (sympy)

.. math::  E[\tilde x (\sigma(u^*) - y) 1_A \mid x] = \tilde x\,\sigma(u^*)(1 - \sigma(u^*))\,(1_{A_0}(x) - 1_{A_1}(x)),

non-zero wherever A₀ and A₁ differ. Worked case: EL2N = |σ(u*) − y| keeping the **highest**,
d = 1, w* = 2, b* = 0.5, r = 0.3: A₁ = {u* ≤ a}, A₀ = {u* ≥ −a} with a solving
:func:`proofs_check._mp.el2n_threshold`; ∇L_{ν_r}(θ*) is computed at 50 digits directly from
the definition (two label integrals), checked against the simplified form above, and its norm
is ≫ 0 with quadrature error estimates ≪ its size. By strict convexity argmin L_{ν_r} ≠ θ* =
argmin L, so SBPA is not valid (C4).

Both worked cases are compared with ``theory_sim.population_loss`` (quadrature): the limit loss
at θ* to 1e-10 (the stated accuracy of population.py) and a 5-point finite-difference gradient
(h = 1e-3, truncation error O(h⁴) ≈ 1e-12) to 1e-6.
"""

from __future__ import annotations

import numpy as np

from ._mp import DIGITS, WORK_DPS, el2n_threshold, fmt, folded_normal_quantile, phi, sigma

__all__ = ["W_STAR", "B_STAR", "symbolic_gradient_identity", "worked_case", "theory_sim_gradient", "check_c5",
           "check_c6"]

W_STAR, B_STAR = "2", "0.5"  # the 1-D gaussian-logistic of the worked cases
C5_R = "0.3"
C6_RS = ("0.3", "0.1")  # the worked case first; r = 0.1 shows the gradient grow as r -> 0
FD_STEP = 1e-3
FD_TOL = 1e-6  # |finite-difference gradient of theory_sim - exact|: quadrature 1e-10 / h plus O(h^4)
LOSS_TOL = 1e-10  # |theory_sim L_nu(theta*) - exact|: the accuracy population.py states


def symbolic_gradient_identity() -> dict:
    r"""The C5/C6 identities with sympy.

    Returns
    -------
    dict of booleans and printable expressions:
    ``dfdu_ok`` (∂f/∂u = σ(u) − y for y ∈ {0, 1}), ``label_free_zero`` (a(x)·E[σ(u*) − y | x]
    = 0 for an arbitrary function a), ``label_dependent`` (the factored form for weights
    a₁(x), a₀(x) by label) and ``label_dependent_ok``.
    """
    import sympy as sp

    u, us, x = sp.symbols("u u_star x", real=True)
    s = 1 / (1 + sp.exp(-u))
    s_star = 1 / (1 + sp.exp(-us))
    f1, f0 = -sp.log(s), -sp.log(1 - s)  # the loss for y = 1 and y = 0
    d1, d0 = sp.diff(f1, u), sp.diff(f0, u)
    dfdu_ok = sp.simplify(d1 - (s - 1)) == 0 and sp.simplify(d0 - s) == 0
    a = sp.Function("a")(x)  # any label-free weight: x̃_j 1_A(x), times a density, ...
    label_free = sp.simplify((a * (s_star * d1 + (1 - s_star) * d0)).subs(u, us))
    a1, a0 = sp.Function("a_1")(x), sp.Function("a_0")(x)
    dependent = (a1 * s_star * d1 + a0 * (1 - s_star) * d0).subs(u, us)
    target = s_star * (1 - s_star) * (a0 - a1)
    return {
        "dfdu": f"d f/du = {sp.simplify(d1)} (y=1), {sp.simplify(d0)} (y=0)",
        "dfdu_ok": bool(dfdu_ok),
        "label_free": str(label_free),
        "label_free_zero": label_free == 0,
        "label_dependent": str(sp.factor(sp.simplify(dependent))),
        "label_dependent_ok": sp.simplify(dependent - target) == 0,
    }


def _softplus(t):
    import mpmath

    return mpmath.log1p(mpmath.exp(t)) if t < 0 else t + mpmath.log1p(mpmath.exp(-t))


def worked_case(score: str, r: str, *, w_star: str = W_STAR, b_star: str = B_STAR, from_loss: bool = True) -> dict:
    r"""∇L_{ν_r}(θ*), the label terms, the Hessian and L_{ν_r}(θ*) at 50 digits, 1-D gaussian-logistic.

    Parameters
    ----------
    score : {'margin', 'el2n'}
        ``margin`` keeps the lowest |u*| (A = {|u*| ≤ q}, both labels); ``el2n`` keeps the
        highest |σ(u*) − y| (A₁ = {u* ≤ a}, A₀ = {u* ≥ −a}).
    r : str
        Compression level as a decimal string (read exactly).
    w_star, b_star : str
        The process: x ~ N(0, 1), P(y = 1 | x) = σ(w* x + b*), w* > 0.
    from_loss : bool
        Also differentiate L_ν numerically (``grad_from_loss``; a few seconds).

    Returns
    -------
    dict of mpf (working precision): ``threshold`` (q of the score), ``a`` (el2n only),
    ``residual`` (of the threshold equation), ``grad`` (w, b components), ``grad_simplified``,
    ``grad_norm``, ``grad_from_loss`` (mpmath.diff of L_ν), ``term_y1``/``term_y0`` (the label
    integrals, divided by r), ``quad_error``
    (sum of the error estimates), ``hessian`` (2×2, at θ*), ``hessian_min_eig``, ``loss`` (L_{ν_r}(θ*)).
    """
    import mpmath

    from theory_sim.validation import check_choice, check_r

    check_choice("score", score, ("margin", "el2n"))
    check_r(float(r))
    out = {"score": score, "r": r}
    with mpmath.workdps(WORK_DPS):
        w, b, rr = mpmath.mpf(w_star), mpmath.mpf(b_star), mpmath.mpf(r)
        inf = mpmath.inf
        if score == "margin":
            q, res = folded_normal_quantile(rr, b, w)  # |u*|, u* ~ N(b, w²)
            lo, hi = (-q - b) / w, (q - b) / w
            region1 = region0 = [lo, hi]  # label-free: the same x-interval for both labels
            out["threshold"] = q
        else:
            a, q, res = el2n_threshold(rr, w, b)
            region1 = [-inf, (a - b) / w]  # y = 1: u* ≤ a
            region0 = [(-a - b) / w, inf]  # y = 0: u* ≥ −a
            out["threshold"], out["a"] = q, a
        out["residual"] = res

        def p1(x):
            return sigma(w * x + b)

        err_total = mpmath.mpf(0)
        t1, t0, grad = [], [], []
        for xt in (lambda x: x, lambda x: 1):  # x̃ = (x, 1): the w- and b-components
            i1, e1 = mpmath.quad(lambda x: phi(x) * xt(x) * (p1(x) - 1) * p1(x), region1, error=True)  # y = 1
            i0, e0 = mpmath.quad(lambda x: phi(x) * xt(x) * p1(x) * (1 - p1(x)), region0, error=True)  # y = 0
            t1.append(i1 / rr)
            t0.append(i0 / rr)
            grad.append((i1 + i0) / rr)
            err_total += (e1 + e0) / rr
        out["term_y1"], out["term_y0"], out["grad"] = t1, t0, grad
        out["grad_norm"] = mpmath.sqrt(grad[0] ** 2 + grad[1] ** 2)

        # the simplified C6 form: σ(1 − σ) x̃ (1_{A0} − 1_{A1}); for margin A0 = A1 and it is 0
        if score == "el2n":
            c = abs(out["a"])  # 1_{u* ≥ −a} − 1_{u* ≤ a} = 1_{u* > |a|} − 1_{u* < −|a|}
            simp = []
            for xt in (lambda x: x, lambda x: 1):
                def h(x, xt=xt):
                    return phi(x) * xt(x) * p1(x) * (1 - p1(x))
                up = mpmath.quad(h, [(c - b) / w, inf])
                down = mpmath.quad(h, [-inf, (-c - b) / w])
                simp.append((up - down) / rr)
            out["grad_simplified"] = simp
        else:
            out["grad_simplified"] = [mpmath.mpf(0), mpmath.mpf(0)]

        # Hessian (1/r) E[σ(1 − σ) x̃ x̃ᵀ 1_A] and L_ν(θ*) = (1/r) E[f(z; θ*) 1_A]
        def both(fun1, fun0):
            return (mpmath.quad(lambda x: phi(x) * p1(x) * fun1(x), region1)
                    + mpmath.quad(lambda x: phi(x) * (1 - p1(x)) * fun0(x), region0)) / rr

        def curv(x, k):
            return x**k * p1(x) * (1 - p1(x))

        h = [[both(lambda x, k=i + j: curv(x, k), lambda x, k=i + j: curv(x, k)) for j in range(2)] for i in range(2)]
        # for a 2×2 symmetric matrix: λ_min = tr/2 − sqrt((tr/2)² − det)
        tr, det = h[0][0] + h[1][1], h[0][0] * h[1][1] - h[0][1] * h[1][0]
        out["hessian"] = h
        out["hessian_min_eig"] = tr / 2 - mpmath.sqrt((tr / 2) ** 2 - det)
        out["loss"] = both(lambda x: _softplus(-(w * x + b)), lambda x: _softplus(w * x + b))

        # The gradient once more, from the loss itself: mpmath.diff of θ ↦ L_ν(θ) (a central
        # difference at raised precision), independent of the identity ∂f/∂u = σ(u) − y.
        def loss_at(tw, tb):
            return both(lambda x: _softplus(-(tw * x + tb)), lambda x: _softplus(tw * x + tb))

        if from_loss:
            out["grad_from_loss"] = [mpmath.diff(loss_at, (w, b), (1, 0)), mpmath.diff(loss_at, (w, b), (0, 1))]
        out["quad_error"] = err_total
    return out


def theory_sim_gradient(score: str, r: float, keep: str, *, w_star=float(W_STAR), b_star=float(B_STAR)):
    r"""L_{ν_r}(θ*) and a 5-point finite-difference gradient of it from ``theory_sim.population_loss``.

    .. math::  \partial_j L(\theta^*) \approx \frac{L(-2h) - 8L(-h) + 8L(h) - L(2h)}{12h}, \quad h = 10^{-3}.

    Returns ``(loss, grad)`` with grad of shape (2,) (w, b).
    """
    import theory_sim as ts
    from theory_sim.validation import check_choice

    check_choice("score", score, ("margin", "el2n"))
    mu = ts.make_process("gaussian-logistic", d=1, w_star=np.array([w_star]), b_star=b_star)
    sc = ts.make_score(score, mu)
    theta = np.array([w_star, b_star])
    steps = (-2, -1, 1, 2)
    coef = np.array([1.0, -8.0, 8.0, -1.0]) / (12 * FD_STEP)
    thetas = [theta]
    for j in range(2):
        for s in steps:
            t = theta.copy()
            t[j] += s * FD_STEP
            thetas.append(t)
    vals = ts.population_loss(mu, np.array(thetas), score=sc, r=r, protocol="sbpa", keep=keep,
                              method="quadrature").values
    grad = np.array([coef @ vals[1 + 4 * j: 5 + 4 * j] for j in range(2)])
    return float(vals[0]), grad


def _compare(case, score, keep, ev, prefix):
    """theory_sim vs the 50-digit case: loss to LOSS_TOL, FD gradient to FD_TOL; returns ok."""
    import mpmath

    loss, grad = theory_sim_gradient(score, float(case["r"]), keep)
    with mpmath.workdps(WORK_DPS):
        loss_err = float(abs(mpmath.mpf(loss) - case["loss"]))
        grad_err = max(float(abs(mpmath.mpf(g) - e)) for g, e in zip(grad, case["grad"]))
    ev[f"{prefix}theory_sim_loss_abs_err"] = loss_err
    ev[f"{prefix}theory_sim_fd_grad"] = f"({grad[0]:.3e}, {grad[1]:.3e})"
    ev[f"{prefix}theory_sim_fd_grad_abs_err"] = grad_err
    return loss_err <= LOSS_TOL and grad_err <= FD_TOL


def check_c5():
    """C5: the label-free identity (sympy) and the margin worked case at 50 digits; theory_sim agrees."""
    import mpmath

    sym = symbolic_gradient_identity()
    ev = {"sympy_dfdu": sym["dfdu"], "sympy_a(x)*E[dfdu|x]": sym["label_free"],
          "numeric_tests": "tests/theory/test_montecarlo_claims.py::test_sbpa_margin_is_valid_but_not_consistent"}
    ok = bool(sym["dfdu_ok"] and sym["label_free_zero"])
    case = worked_case("margin", C5_R)
    with mpmath.workdps(WORK_DPS):
        ev["margin_q_r"] = fmt(case["threshold"])
        ev["term_y1_w"], ev["term_y0_w"] = fmt(case["term_y1"][0], 20), fmt(case["term_y0"][0], 20)
        ev["grad_norm_at_theta_star"] = fmt(case["grad_norm"], 5)
        from_loss = max(abs(g) for g in case["grad_from_loss"])
        ev["grad_from_loss_max_abs"] = fmt(from_loss, 5)  # 0 means below 10^-60
        ev["hessian_min_eig"] = fmt(case["hessian_min_eig"], 20)
        ev["loss_nu_at_theta_star"] = fmt(case["loss"])
        ok &= case["grad_norm"] <= mpmath.mpf(10) ** (-DIGITS) and case["hessian_min_eig"] > 0
        ok &= from_loss <= mpmath.mpf(10) ** (-DIGITS)
        ok &= case["residual"] <= mpmath.mpf(10) ** (-DIGITS)
        ok &= abs(case["term_y1"][0]) > mpmath.mpf("0.01")  # the cancellation is between terms of size O(0.1)
    ok &= _compare(case, "margin", "lowest", ev, "")
    ev["summary"] = (f"E[sigma(u*)-y|x]=0 (sympy); margin r=0.3: |dL_nu/dtheta(theta*)| <= "
                     f"{max(float(from_loss), 1e-60):.0e} (label terms +-{abs(float(case['term_y1'][0])):.3f}), "
                     f"Hessian > 0; theory_sim FD grad err "
                     f"{ev['theory_sim_fd_grad_abs_err']:.0e}")
    return bool(ok), ev


def check_c6():
    """C6: the label-dependent identity (sympy) and the EL2N keep-highest worked case at 50 digits."""
    import mpmath

    import theory_sim as ts

    sym = symbolic_gradient_identity()
    ev = {"sympy_E[dfdu*a_y(x)|x]": sym["label_dependent"],
          "numeric_tests": "tests/theory/test_montecarlo_claims.py::test_sbpa_label_dependent_is_not_valid"}
    ok = bool(sym["label_dependent_ok"])
    norms = {}
    for r in C6_RS:
        case = worked_case("el2n", r, from_loss=(r == C6_RS[0]))
        with mpmath.workdps(WORK_DPS):
            p = f"r{r}_"
            ev[p + "a"] = fmt(case["a"])
            ev[p + "el2n_threshold"] = fmt(case["threshold"])
            ev[p + "grad_w"], ev[p + "grad_b"] = fmt(case["grad"][0]), fmt(case["grad"][1])
            ev[p + "grad_norm"] = fmt(case["grad_norm"], 20)
            ev[p + "quad_error_estimate"] = fmt(case["quad_error"], 3)
            simp_err = max(abs(g - s) for g, s in zip(case["grad"], case["grad_simplified"]))
            ev[p + "simplified_form_abs_err"] = fmt(simp_err, 3)
            if "grad_from_loss" in case:
                diff_err = max(abs(g - s) for g, s in zip(case["grad"], case["grad_from_loss"]))
                ev[p + "grad_from_loss_abs_err"] = fmt(diff_err, 3)
                ok &= diff_err <= mpmath.mpf(10) ** (-DIGITS)
            ok &= case["residual"] <= mpmath.mpf(10) ** (-DIGITS)
            ok &= simp_err <= mpmath.mpf(10) ** (-DIGITS)
            ok &= case["grad_norm"] > 10**6 * case["quad_error"] and case["grad_norm"] > mpmath.mpf("0.01")
            ok &= case["hessian_min_eig"] > 0
            norms[r] = case["grad_norm"]
        # the EL2N threshold of theory_sim (quadrature + root) agrees with the 50-digit one
        mu = ts.make_process("gaussian-logistic", d=1, w_star=np.array([float(W_STAR)]), b_star=float(B_STAR))
        q_ts = ts.score_quantile(mu, ts.make_score("el2n", mu), float(r), keep="highest").value
        with mpmath.workdps(WORK_DPS):
            q_err = float(abs(mpmath.mpf(q_ts) - case["threshold"]))
        ev[p + "theory_sim_threshold_abs_err"] = q_err
        ok &= q_err <= 1e-10
        if r == C6_RS[0]:
            ok &= _compare(case, "el2n", "highest", ev, p)
    ev["grad_norm_grows_as_r_decreases"] = bool(norms[C6_RS[1]] > norms[C6_RS[0]])
    ev["summary"] = (f"E[..|x]=s(1-s)(a0-a1) (sympy); el2n keep-highest r=0.3: |grad L_nu(theta*)|="
                     f"{float(norms[C6_RS[0]]):.6f} (quad err {float(mpmath.mpf(ev['r0.3_quad_error_estimate'])):.0e})"
                     f"; theory_sim FD grad err {ev['r0.3_theory_sim_fd_grad_abs_err']:.0e}")
    return bool(ok), ev
