r"""High-precision helpers (mpmath) shared by the checks and by :mod:`proofs_check.make_golden`.

Precision is set per computation with ``mpmath.workdps`` — never by assigning the global
``mpmath.mp.dps`` — so nothing here changes state another module can see. Work is done at
``WORK_DPS`` = 60 digits and reported to ``DIGITS`` = 50 significant digits.
"""

from __future__ import annotations

import mpmath

__all__ = ["DIGITS", "WORK_DPS", "fmt", "phi", "sigma", "quad", "folded_normal_quantile", "el2n_threshold"]

DIGITS = 50  # digits reported and stored in the golden files
WORK_DPS = 60  # working precision: 10 guard digits above what is reported


def fmt(x, digits: int = DIGITS) -> str:
    """``x`` as a decimal string with ``digits`` significant digits (read at the working precision)."""
    with mpmath.workdps(WORK_DPS):
        return mpmath.nstr(mpmath.mpf(x), digits, min_fixed=-5, max_fixed=5, strip_zeros=False)


def phi(x):
    r"""Standard normal density φ(x) = e^{−x²/2}/√(2π)."""
    return mpmath.exp(-x * x / 2) / mpmath.sqrt(2 * mpmath.pi)


def sigma(t):
    r"""Logistic function σ(t) = 1/(1 + e^{−t})."""
    return 1 / (1 + mpmath.exp(-t))


def quad(f, points):
    """mpmath tanh–sinh quadrature with its error estimate: returns (value, error)."""
    value, error = mpmath.quad(f, points, error=True)
    return value, error


def folded_normal_quantile(p, mean, sd):
    r"""q with P(|u| ≤ q) = p for u ~ N(mean, sd²), at the working precision.

    .. math::  F(q) = \Phi\Big(\frac{q - m}{s}\Big) - \Phi\Big(\frac{-q - m}{s}\Big), \qquad F(q) = p,

    solved by the bracketed Illinois method on [0, |m| + 40 s] (F is strictly increasing
    there, from 0 to 1 − 1e-300), then returned with the residual |F(q) − p|.
    """
    p, mean, sd = mpmath.mpf(p), mpmath.mpf(mean), mpmath.mpf(sd)

    def cdf(q):
        return mpmath.ncdf((q - mean) / sd) - mpmath.ncdf((-q - mean) / sd)

    q = mpmath.findroot(lambda t: cdf(t) - p, (mpmath.mpf(0), abs(mean) + 40 * sd), solver="illinois",
                        tol=mpmath.mpf(10) ** (-2 * WORK_DPS + 10))
    return q, abs(cdf(q) - p)


def el2n_threshold(r, w, b):
    r"""The EL2N keep-highest acceptance region of ``gaussian-logistic`` in d = 1, at the working precision.

    x ~ N(0, 1), u* = w x + b (w > 0), P(y = 1 | x) = σ(u*). EL2N is |σ(u*) − y|; keeping the
    fraction r with the **highest** EL2N keeps the region

    .. math::

        A_r = \{y = 1,\ u^* \le a\} \cup \{y = 0,\ u^* \ge -a\}, \qquad
        G(a) = \int_{-\infty}^{(a - b)/w} \varphi\,\sigma(u^*)\,dx
             + \int_{(-a - b)/w}^{\infty} \varphi\,(1 - \sigma(u^*))\,dx = r,

    with EL2N threshold q = σ(−a) (y = 1: σ(−u*) ≥ q ⇔ u* ≤ a; y = 0: σ(u*) ≥ q ⇔ u* ≥ −a).
    G is strictly increasing with G'(a) = [φ((a − b)/w) σ(a) + φ((−a − b)/w) σ(a)]/w, so Newton's
    method from a = 0 converges to the unique root.

    Returns
    -------
    a, q, residual : mpf
        The root, the EL2N threshold σ(−a) and |G(a) − r|.
    """
    r, w, b = mpmath.mpf(r), mpmath.mpf(w), mpmath.mpf(b)

    def g_of(a):
        p1 = mpmath.quad(lambda x: phi(x) * sigma(w * x + b), [-mpmath.inf, (a - b) / w])
        p0 = mpmath.quad(lambda x: phi(x) * (1 - sigma(w * x + b)), [(-a - b) / w, mpmath.inf])
        return p1 + p0 - r

    def dg(a):  # 1 − σ(−a) = σ(a)
        return (phi((a - b) / w) * sigma(a) + phi((-a - b) / w) * sigma(a)) / w

    a = mpmath.findroot(g_of, mpmath.mpf(0), solver="newton", df=dg, tol=mpmath.mpf(10) ** (-2 * DIGITS))
    return a, sigma(-a), abs(g_of(a))
