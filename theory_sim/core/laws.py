r"""Exact laws of a score g(Z), Z ~ µ, where they are known and *declared* (docs/theory.md, "Limits" and
"Extending the toolkit").

Each law is a CDF on an interval plus, where one exists, a closed-form quantile function. A law
is used only when the process declares the capability it rests on (:mod:`theory_sim.core.exactness`:
``logit-law``, ``label-law``, ``distance-law`` or its own ``score-law``) and the score computes the
built-in formula of its name (``builtin-law``); the declaring class, not ``isinstance``, selects
the formula, so a subclass that samples differently gets no closed form. :func:`law` returns None
otherwise and the callers use Monte Carlo.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import integrate, optimize, special, stats

from theory_sim.core.exactness import exact_owner
from theory_sim.core.processes import Exponential, GaussianLogistic, GaussianMixture, LinearModel, Process, SineRegression
from theory_sim.core.scores import Score

__all__ = ["Law", "law", "entropy_of_margin", "invert_entropy"]

# ---------------------------------------------------------------------------------------
# Exact laws of g(Z). Each law is a CDF on an interval plus, where one exists, a closed-form
# quantile function; the quantile is otherwise found by Brent's method on the CDF.
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Law:
    cdf: Callable[[float], float]
    lo: float
    hi: float
    method: str
    ppf: Callable[[float], float] | None = None

    def quantile(self, p: float) -> float:
        if p <= 0.0:
            return self.lo
        if p >= 1.0:
            return self.hi
        if self.ppf is not None:
            return float(self.ppf(p))
        return _invert(self.cdf, p, self.lo, self.hi)


def _invert(cdf, p, lo, hi):
    """inf{t : cdf(t) >= p} for a continuous increasing cdf, by bracketing then Brent."""
    a = lo if math.isfinite(lo) else -1.0
    while not math.isfinite(lo) and cdf(a) > p:
        a *= 2.0
    b = hi if math.isfinite(hi) else max(1.0, 2.0 * abs(a))
    while not math.isfinite(hi) and cdf(b) < p:
        b *= 2.0
    return float(optimize.brentq(lambda t: cdf(t) - p, a, b, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500))


def _u_cdf(process: Process, model: LinearModel):
    """CDF of u = w·x + b under the x-marginal of ``process``; None if not tractable."""
    s = float(np.linalg.norm(model.w))
    if s == 0.0:
        return None  # a constant logit: g(Z) is an atom
    owner = exact_owner(process, "logit-law")
    if owner is GaussianLogistic:
        return lambda t: special.ndtr((t - model.b) / s)
    if owner is GaussianMixture:
        mu1 = float(model.w @ process.m) + model.b
        mu0 = -float(model.w @ process.m) + model.b
        tau = process.sigma * s
        pi = process.pi
        return lambda t: pi * special.ndtr((t - mu1) / tau) + (1 - pi) * special.ndtr((t - mu0) / tau)
    if owner is Exponential:
        w, b, lam = float(model.w[0]), model.b, process.rate
        if w > 0:
            return lambda t: -math.expm1(-lam * max(0.0, (t - b) / w))
        return lambda t: math.exp(-lam * max(0.0, (t - b) / w))
    return None


def _label_joint(process: Process, model: LinearModel):
    r"""G(c) = P(y = 1, u ≥ −c) + P(y = 0, u ≤ c), u the reference logit; None if not tractable.

    el2n ≤ σ(c) and loss ≤ softplus(c) are both the event {y=1, u ≥ −c} ∪ {y=0, u ≤ c}, so one
    increasing function of c gives the law of both scores.
    """
    s = float(np.linalg.norm(model.w))
    if s == 0.0:
        return None
    owner = exact_owner(process, "label-law")
    if owner is GaussianMixture:
        mu1 = float(model.w @ process.m) + model.b
        mu0 = -float(model.w @ process.m) + model.b
        tau, pi = process.sigma * s, process.pi
        return lambda c: pi * special.ndtr((c + mu1) / tau) + (1 - pi) * special.ndtr((c - mu0) / tau)
    if owner is GaussianLogistic:
        return _gaussian_logistic_joint(process, model, s)
    if owner is Exponential:
        truth, lam = process.truth(), process.rate
        w, b = float(model.w[0]), model.b

        def part(c, positive):
            # x-interval where the event holds: u(x) ≥ −c (y = 1) or u(x) ≤ c (y = 0)
            edge = ((-c if positive else c) - b) / w
            upper_side = (w > 0) == positive
            lo, hi = (max(edge, 0.0), math.inf) if upper_side else (0.0, edge)
            if hi <= lo:
                return 0.0

            def f(x):
                p1 = special.expit(truth.w[0] * x + truth.b)
                return lam * math.exp(-lam * x) * (p1 if positive else 1.0 - p1)

            return integrate.quad(f, lo, hi, epsabs=1e-14, epsrel=1e-13, limit=200)[0]

        return lambda c: part(c, True) + part(c, False)
    return None


# Gauss–Hermite rule for E[σ(m + τ Z)], Z ~ N(0, 1). σ is analytic in the strip |Im| < π,
# so the rule converges geometrically; 96 nodes are exact to ~1e-15 for τ ≤ 5.
_GH_T, _GH_W = np.polynomial.hermite_e.hermegauss(96)
_GH_W = _GH_W / _GH_W.sum()


def _gaussian_logistic_joint(process: GaussianLogistic, model: LinearModel, s_ref: float):
    truth = process.truth()
    s_t2 = float(truth.w @ truth.w)
    cov = float(truth.w @ model.w)
    beta = cov / s_ref**2
    tau = math.sqrt(max(s_t2 - cov * cov / s_ref**2, 0.0))

    def p1_given(v):  # E[σ(u_true) | u_ref = v]: u_true | u_ref is normal
        m = truth.b + beta * (v - model.b)
        if tau == 0.0:
            return special.expit(m)
        return float(_GH_W @ special.expit(m + tau * _GH_T))

    def density(v):
        return math.exp(-0.5 * ((v - model.b) / s_ref) ** 2) / (s_ref * math.sqrt(2 * math.pi))

    def integral(f, lo, hi):
        # integrate in the standardised variable so that quad sees the bulk at O(1)
        z_lo, z_hi = (lo - model.b) / s_ref, (hi - model.b) / s_ref
        z_lo, z_hi = max(z_lo, -40.0), min(z_hi, 40.0)
        if z_hi <= z_lo:
            return 0.0
        g = lambda z: f(model.b + s_ref * z) * density(model.b + s_ref * z) * s_ref  # noqa: E731
        return integrate.quad(g, z_lo, z_hi, epsabs=1e-14, epsrel=1e-13, limit=200)[0]

    return lambda c: integral(p1_given, -c, math.inf) + integral(lambda v: 1.0 - p1_given(v), -math.inf, c)


def law(process: Process, score: Score) -> Law | None:
    """The exact law of g(Z) where it is known and declared; None otherwise (Monte Carlo is used).

    First the process's own ``score_law(score)`` (capability ``score-law``: returns a :class:`Law`
    or None), then the built-in laws, for a score that computes its name's built-in formula.
    """
    if exact_owner(process, "score-law") is not None:
        own = process.score_law(score)
        if own is not None:
            if not isinstance(own, Law):
                raise TypeError(f"score_law of process {process.name!r} must return a theory_sim Law or None, "
                                f"got {type(own).__name__}")
            return own
    if score.decimals is not None or exact_owner(score, "builtin-law") is None:
        return None
    if score.name in ("margin", "entropy"):
        u_cdf = _u_cdf(process, score.reference)
        if u_cdf is None:
            return None
        margin_cdf = lambda t: 0.0 if t < 0 else u_cdf(t) - u_cdf(-t)  # noqa: E731
        margin = Law(margin_cdf, 0.0, math.inf, "closed-form cdf + root")
        if score.name == "margin":
            return margin
        # entropy = h(|u|), h(a) = H(σ(a)) strictly decreasing from log 2 to 0:
        # H ≤ h(a) ⇔ |u| ≥ a, so F_H(h(a)) = 1 − F_|u|(a) and q_p(H) = h(q_{1−p}(|u|)).
        h = entropy_of_margin
        return Law(
            lambda t: 1.0 - margin_cdf(invert_entropy(t)),
            0.0,
            math.log(2.0),
            margin.method,
            ppf=lambda p: h(margin.quantile(1.0 - p)),
        )
    if score.name in ("el2n", "loss"):
        joint = _label_joint(process, score.reference)
        if joint is None:
            return None
        quadrature = exact_owner(process, "label-law") in (GaussianLogistic, Exponential)
        method = "quadrature + root" if quadrature else "closed-form cdf + root"
        c_law = Law(joint, -math.inf, math.inf, method)
        if score.name == "el2n":  # el2n ≤ σ(c)
            return Law(lambda t: joint(special.logit(t)) if 0 < t < 1 else float(t >= 1), 0.0, 1.0, method,
                        ppf=lambda p: special.expit(c_law.quantile(p)))
        # loss ≤ softplus(c);  softplus^{-1}(t) = log(expm1(t))
        return Law(lambda t: joint(math.log(math.expm1(t))) if t > 0 else 0.0, 0.0, math.inf, method,
                    ppf=lambda p: float(np.logaddexp(0.0, c_law.quantile(p))))
    if score.name == "distance":
        return _distance_law(process, np.asarray(score.center))
    return None  # grand: no tractable law


def entropy_of_margin(a: float) -> float:
    if not math.isfinite(a):
        return 0.0
    # 1 − σ(a) as σ(−a), without cancellation (the entropy of large margins keeps its digits)
    return float(special.expit(a) * np.logaddexp(0.0, -a) + special.expit(-a) * np.logaddexp(0.0, a))


def invert_entropy(t: float) -> float:
    """a ≥ 0 with h(a) = t (t in (0, log 2])."""
    if t >= math.log(2.0):
        return 0.0
    if t <= 0.0:
        return math.inf
    hi = 1.0
    while entropy_of_margin(hi) > t:
        hi *= 2.0
    return float(optimize.brentq(lambda a: entropy_of_margin(a) - t, 0.0, hi, xtol=1e-15))


def _distance_law(process: Process, c: np.ndarray) -> Law | None:
    owner = exact_owner(process, "distance-law")
    if owner is GaussianLogistic:
        nc, d = float(c @ c), process.d
        if nc == 0.0:  # ‖x‖² ~ χ²_d
            return Law(lambda t: stats.chi2.cdf(t * t, d), 0.0, math.inf, "closed-form",
                        ppf=lambda p: math.sqrt(stats.chi2.ppf(p, d)))
        return Law(lambda t: stats.ncx2.cdf(t * t, d, nc), 0.0, math.inf, "closed-form cdf + root")
    if owner is GaussianMixture:
        s2, d, pi = process.sigma**2, process.d, process.pi
        nc1 = float((process.m - c) @ (process.m - c)) / s2
        nc0 = float((process.m + c) @ (process.m + c)) / s2

        def cdf(t):
            def part(nc):
                return stats.ncx2.cdf(t * t / s2, d, nc) if nc > 0 else stats.chi2.cdf(t * t / s2, d)

            return pi * part(nc1) + (1 - pi) * part(nc0)

        return Law(cdf, 0.0, math.inf, "closed-form cdf + root")
    if owner is SineRegression:  # x ~ U[−1, 1]
        c0 = float(c[0])
        cdf = lambda t: max(0.0, min(1.0, c0 + t) - max(-1.0, c0 - t)) / 2.0  # noqa: E731
        return Law(cdf, 0.0, 1.0 + abs(c0), "closed-form cdf + root")
    if owner is Exponential:
        c0, lam = float(c[0]), process.rate
        F = lambda x: -math.expm1(-lam * max(x, 0.0))  # noqa: E731
        if c0 == 0.0:
            return Law(F, 0.0, math.inf, "closed-form", ppf=lambda p: -math.log1p(-p) / lam)
        return Law(lambda t: max(0.0, F(c0 + t) - F(c0 - t)) if t >= 0 else 0.0, 0.0, math.inf,
                    "closed-form cdf + root")
    return None


