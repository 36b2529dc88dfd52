r"""Population losses by quadrature, independent of the Monte Carlo engine (docs/theory.md, "Population losses").

For the logistic model θ = (w, b), f(z; θ) = softplus(−(2y − 1) u), u = w·x + b, and a
measure ν with density ρ w.r.t. µ,

.. math::  L_\nu(\theta) = E_\mu[\rho(z) f(z; \theta)].

On ``gaussian-logistic`` and ``gaussian-mixture``, with a reference model equal to the truth
(the default of every score), everything depends on x through two Gaussian coordinates:
u* = w*·x + b* (the truth's logit, which also decides the acceptance region of ``margin``,
``entropy``, ``el2n`` and ``loss``) and u = w·x + b. Write u* = m* + s* z₁ and
u = m + c z₁ + t z₂ with z₁, z₂ independent N(0, 1); the acceptance region is a union of
intervals of u* for each label, so

.. math::

    E_\mu[f\,1_A] = \sum_y \int_{I_y} \varphi(z_1)\, P(y \mid z_1)\,
                    E_{z_2}\big[f_y(m + c z_1 + t z_2)\big]\, dz_1 .

The outer integral uses composite Gauss–Legendre (12 nodes per unit of z₁ on each interval,
clipped to |z₁| ≤ 12); the inner expectation uses the trapezoidal rule with step 0.1 on
|z₂| ≤ 12, which converges geometrically for integrands analytic in a strip (softplus is
analytic for |Im u| < π). Both are checked to 1e-10 against adaptive quadrature and by
doubling the nodes in ``tests/theory/test_population.py``.

Elsewhere (other scores, a probe reference, other processes) the functions fall back on
Monte Carlo with ≥ 10^7 draws and report the standard error.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from theory_sim.validation import as_generator, check_array, check_choice, check_int, check_r
from theory_sim.core.exactness import exact_owner
from theory_sim.core.laws import invert_entropy
from theory_sim.core.limits import Quantile, limit_density, score_quantile
from theory_sim.rng import child_streams
from theory_sim.core.policies import MU, get_policy
from theory_sim.core.processes import GaussianLogistic, GaussianMixture, Process
from theory_sim.core.scores import Score
from theory_sim.numerics.quadrature import gauss_legendre

__all__ = ["PopulationLoss", "population_loss", "logistic_loss_mc", "quadrature_gap"]

_Z_MAX = 12.0  # Gaussian mass beyond 12 sd is 3.6e-33: far below the 1e-10 target
_GL_NODES = 12  # Gauss–Legendre nodes per unit-length panel
# Trapezoid error ~ exp(−2π a/h) for an integrand analytic in |Im z₂| < a; softplus(m + t z₂)
# has a = π/t, so h = 0.1 gives < 1e-14 for t = ‖w‖ ≤ 6 (the default ball W).
_TRAPEZOID_STEP = 0.1
MIN_MC_DRAWS = 10_000_000  # the floor of n_mc for a Monte Carlo population loss (docs/theory.md, "Monte Carlo fallback")


@dataclass(frozen=True)
class PopulationLoss:
    """L_ν(θ) on a set of parameters.

    Attributes
    ----------
    values : ndarray, shape (m,)
    stderr : ndarray, shape (m,)
        0 for quadrature (error ≤ 1e-10), else the Monte Carlo standard error.
    method : {'quadrature', 'monte-carlo'}
    n_mc : int
    """

    values: np.ndarray
    stderr: np.ndarray
    method: str
    n_mc: int = 0


def _softplus(u):
    return np.logaddexp(0.0, u)


def _intervals(score: Score, keep: str, q: float):
    """For each label y, the region A as a list of u*-intervals (lo, hi); None if not of that form."""
    inf = math.inf
    if score.name == "margin":  # |u*| ≤ q
        inner = [(-q, q)]
        outer = [(-inf, -q), (q, inf)]
        region = inner if keep == "lowest" else outer
        return {1: region, 0: region}
    if score.name == "entropy":  # entropy ≤ q  ⇔  |u*| ≥ a with h(a) = q
        a = invert_entropy(q)
        inner = [(-a, a)]
        outer = [(-inf, -a), (a, inf)]
        region = outer if keep == "lowest" else inner
        return {1: region, 0: region}
    if score.name in ("el2n", "loss"):
        c = float(special.logit(q)) if score.name == "el2n" else float(np.log(np.expm1(q)))
        # y = 1: g ≤ q ⇔ u* ≥ −c;  y = 0: g ≤ q ⇔ u* ≤ c
        if keep == "lowest":
            return {1: [(-c, inf)], 0: [(-inf, c)]}
        return {1: [(-inf, -c)], 0: [(c, inf)]}
    return None


@functools.lru_cache(maxsize=128)
def _exact_quantile(process, score, level, keep) -> Quantile:
    """q at ``level``, cached: an optimiser evaluates L_ν hundreds of times with one region.

    Processes and scores hash by identity (frozen, eq=False), so the cache never confuses two
    of them."""
    return score_quantile(process, score, level, keep=keep, method="exact")


def _is_truth(score: Score, process: Process) -> bool:
    ref, truth = score.reference, process.truth()
    return ref is not None and np.array_equal(ref.w, truth.w) and ref.b == truth.b


def quadrature_gap(process: Process, score: Score | None, lim, protocol: str = "") -> str | None:
    """Why the logistic population loss of ``process`` under the limit ``lim`` (a RegionLimit, or None
    when the policy has none) has no quadrature here; None when it has one."""
    if exact_owner(process, "population-quadrature") not in (GaussianLogistic, GaussianMixture):
        return f"process {process.name!r} declares no population-loss quadrature"
    if lim is None:
        return f"policy {protocol!r} has no limit of the region form (only a density)"
    if lim.level is None:
        return None
    # The region must be a set of u*-intervals: a score of the truth's logit, computing its name's formula.
    if not (score.name in ("margin", "entropy", "el2n", "loss") and score.decimals is None
            and exact_owner(score, "builtin-law") is not None and _is_truth(score, process)):
        return f"score {score.name!r} has no exact law under {process.name!r}"
    return None


def _components(process: Process):
    """Gaussian components of the law of x: (prob, mean of x, sd of x, label: None or y)."""
    if exact_owner(process, "population-quadrature") is GaussianLogistic:
        return [(1.0, np.zeros(process.d), 1.0, None)]
    return [(process.pi, np.asarray(process.m), process.sigma, 1), (1 - process.pi, -np.asarray(process.m),
                                                                    process.sigma, 0)]


def _panels(lo, hi):
    """Composite Gauss–Legendre nodes and weights on [lo, hi] (finite), 12 nodes per unit."""
    return gauss_legendre(((lo, hi),), _GL_NODES, panel_width=1.0)


_Z2 = np.arange(-_Z_MAX, _Z_MAX + 1e-12, _TRAPEZOID_STEP)
_Z2_W = _TRAPEZOID_STEP * np.exp(-0.5 * _Z2**2) / math.sqrt(2 * math.pi)


@np.errstate(over="ignore", invalid="ignore")  # a θ too large for float64 gives NaN: population_loss raises
def _region_expectation(process, thetas, intervals, weight=None):
    """E_µ[f(z; θ) 1{z ∈ A}] for every θ (rows of thetas), A given by u*-intervals per label; with
    ``weight`` (a callable of (u*, y), smooth on each interval), E_µ[f(z; θ) ρ(u*, y) 1{z ∈ A}]."""
    truth = process.truth()
    out = np.zeros(thetas.shape[0])
    w, b = thetas[:, :-1], thetas[:, -1]
    for prob, mean, sd, label in _components(process):
        s_star = sd * float(np.linalg.norm(truth.w))
        m_star = float(truth.w @ mean) + truth.b
        m = w @ mean + b  # (M,)
        c = sd * sd * (w @ truth.w) / s_star  # Cov(u, u*) / s*
        t = np.sqrt(np.maximum(sd * sd * np.einsum("ij,ij->i", w, w) - c * c, 0.0))
        for y in (1, 0):
            if label is not None and label != y:
                continue
            for lo, hi in intervals[y]:
                z_lo = max((lo - m_star) / s_star, -_Z_MAX)
                z_hi = min((hi - m_star) / s_star, _Z_MAX)
                if z_hi <= z_lo:
                    continue
                z1, wz1 = _panels(z_lo, z_hi)
                u_star = m_star + s_star * z1
                p_y = 1.0 if label is not None else (special.expit(u_star) if y == 1 else special.expit(-u_star))
                outer = wz1 * np.exp(-0.5 * z1**2) / math.sqrt(2 * math.pi) * p_y  # (n1,)
                if weight is not None:
                    outer = outer * weight(u_star, y)
                sign = -1.0 if y == 1 else 1.0
                for j in range(thetas.shape[0]):  # (n1, n2) grid per θ: ~0.5M evaluations
                    u = m[j] + c[j] * z1[:, None] + t[j] * _Z2[None, :]
                    inner = _softplus(sign * u) @ _Z2_W
                    out[j] += prob * (outer @ inner)
    return out


def logistic_loss_mc(process, thetas, *, density=None, n_mc=10_000_000, rng=None, chunk=1_000_000):
    """Monte Carlo E_µ[ρ(z) f(z; θ)] for each θ, with standard errors (``density`` ρ: a callable of (x, y))."""
    weights = None if density is None else (lambda x, y: density(x, y)[None, :])
    (mean,), second = _mc_sums(process, thetas, weights, n_mc, as_generator(rng), chunk)
    var = np.maximum(second - mean**2, 0.0)
    return PopulationLoss(mean, np.sqrt(var / n_mc), "monte-carlo", n_mc)


def _mc_sums(process, thetas, weights, n_mc, rng, chunk):
    """Means over n_mc draws of w_j(z) f(z; θ) for each row w_j of ``weights(x, y)`` (shape (J, size);
    None: one row of ones), and the mean of (w_0 f)²."""
    m = thetas.shape[0]
    s1, s2, done = None, np.zeros(m), 0
    while done < n_mc:
        size = min(chunk, n_mc - done)
        data = process.sample(size, rng)
        w = np.ones((1, size)) if weights is None else weights(data.x, data.y)
        u = data.x @ thetas[:, :-1].T + thetas[:, -1]
        loss = _softplus(-(2 * data.y - 1)[:, None] * u)
        f = w[0][:, None] * loss
        s1 = (0.0 if s1 is None else s1) + np.stack([f.sum(axis=0)] + [(row[:, None] * loss).sum(axis=0)
                                                                       for row in w[1:]])
        s2 += (f * f).sum(axis=0)
        done += size
    return s1 / n_mc, s2 / n_mc


def _region_mc(process, thetas, score, lim, keep, n_mc, n_threshold, streams):
    r"""L_ν by Monte Carlo for a region-form limit with a Monte Carlo threshold, and its standard error with the
    threshold's uncertainty (docs/theory.md, "Monte Carlo fallback"): Var = σ̂²/n_mc + (∂L/∂q)² se(q̂)², the
    derivative estimated on the same draws over the band |g − q̂| ≤ h, h = 2 se(q̂)."""
    q = score_quantile(process, score, lim.level, keep=keep, n_mc=n_threshold, rng=streams[0])
    inside, outside = 1.0 / lim.scale, lim.outside
    h = 2.0 * q.stderr

    def weights(x, y):
        g = score(x, y)
        kept = g <= q.value if keep == "lowest" else g >= q.value
        rows = [np.where(kept, inside, outside)]
        if h > 0:
            rows.append(abs(inside - outside) * (np.abs(g - q.value) <= h) / (2.0 * h))
        return np.stack(rows)

    sums, second = _mc_sums(process, thetas, weights, n_mc, as_generator(streams[1]), 1_000_000)
    mean = sums[0]
    var = np.maximum(second - mean**2, 0.0) / n_mc
    if h > 0:
        var = var + (sums[1] * q.stderr) ** 2
    return PopulationLoss(mean, np.sqrt(var), "monte-carlo", n_mc)


def population_loss(process: Process, thetas, *, score: Score | None = None, r=None, protocol: str = "random",
                    alpha=None, keep: str = "lowest", method: str = "auto", n_mc: int = 10_000_000,
                    n_threshold: int = 1_000_000, rng=None) -> PopulationLoss:
    r"""Logistic population loss L_ν(θ) under a protocol's limit ν.

    .. math::

        \nu = \mu \ (\text{random, EC}), \qquad \frac{d\nu_r}{d\mu} = \frac{1_{A_r}}{r} \ (\text{SBPA}),
        \qquad \frac{d\nu^{AC}}{d\mu} = \frac{1_{A_{\alpha r}}}{r} + \frac{1-\alpha}{1-\alpha r} 1_{A_{\alpha r}^c}.

    Parameters
    ----------
    process : Process
        ``gaussian-logistic`` or ``gaussian-mixture`` for quadrature; any classification process
        for Monte Carlo.
    thetas : ndarray, shape (m, d + 1)
        Parameters (w, b), intercept last.
    score : Score, optional
        Required unless ``protocol`` is 'random' or 'ec'.
    r : float in (0, 1], optional
        Required with a score.
    protocol : {'random', 'ec', 'sbpa', 'ac'} or a registered policy (quadrature for a region-form limit,
        :class:`theory_sim.RegionLimit`; Monte Carlo with its ``limit_density`` otherwise)
    alpha : float, for 'ac' in [0, 1] (and accepted, unused, for 'ec' in [0, 1)); a policy's own rule
    keep : {'lowest', 'highest'}
    method : {'auto', 'quadrature', 'monte-carlo'}
    n_mc : int ≥ 10^7 for Monte Carlo (docs/theory.md, "Population losses")
    n_threshold : int ≥ 100
        Draws for a Monte Carlo threshold q (:func:`theory_sim.score_quantile`), when the score's law is not known.
    rng : Generator, SeedSequence, int or None
        For Monte Carlo only: the threshold and the losses use two child streams of it
        (:func:`theory_sim.rng.child_streams`), so the same seed gives the same bits. The reported
        standard error includes the threshold's uncertainty (delta method, docs/theory.md, "Monte Carlo fallback").
    """
    policy = get_policy(protocol)
    method = check_choice("method", method, ("auto", "quadrature", "monte-carlo"))
    keep = check_choice("keep", keep, ("lowest", "highest"))
    if not isinstance(process, Process) or process.task != "classification":
        raise ValueError(f"process must be a classification Process, got {process!r}")
    thetas = check_array("thetas", thetas, shape=(None, process.d + 1))
    if thetas.shape[0] == 0:
        raise ValueError("thetas must hold at least one parameter, got an empty array")
    if not np.isfinite(thetas).all():
        row = int(np.flatnonzero(~np.isfinite(thetas).all(axis=1))[0])
        raise ValueError(f"thetas must be finite, got {thetas[row].tolist()} at row {row}")
    n_mc = check_int("n_mc", n_mc, low=MIN_MC_DRAWS if method != "quadrature" else 1)
    n_threshold = check_int("n_threshold", n_threshold, low=100)
    if alpha is not None or protocol not in ("random", "ec"):  # their limit is µ whatever α: optional there
        alpha = policy.check_alpha(alpha)
    if r is None:
        if not (protocol in ("random", "ec") or (protocol == "ac" and alpha == 0.0)):
            raise ValueError(f"protocol {protocol!r} needs a score and r")
        lim = MU
    else:
        r = check_r(r)
        lim = policy.limit(r, alpha)
    full = lim is not None and lim.level is None
    if not full and score is None:
        raise ValueError(f"protocol {protocol!r} needs a score and r")

    quad_ok = quadrature_gap(process, score, lim, protocol) is None
    q = _exact_quantile(process, score, lim.level, keep) if quad_ok and not full else None
    if method == "quadrature" and not quad_ok:
        raise ValueError(f"method='quadrature' is not available here (process {process.name!r}"
                         + (f", score {score.name!r}" if score is not None else "") + "); use 'auto' or 'monte-carlo'")
    if method == "monte-carlo" or not quad_ok:
        streams = child_streams(rng, 2)  # the threshold's draws, then the losses' (docs/theory.md, "Monte Carlo fallback")
        if lim is not None and not full:
            return _finite(_region_mc(process, thetas, score, lim, keep, n_mc, n_threshold, streams), thetas)
        density = None if full else limit_density(process, score, r, protocol=protocol, alpha=alpha, keep=keep,
                                                  rng=streams[0])
        return _finite(logistic_loss_mc(process, thetas, density=density, n_mc=n_mc, rng=streams[1]), thetas)

    everything = {1: [(-math.inf, math.inf)], 0: [(-math.inf, math.inf)]}
    total = _region_expectation(process, thetas, everything)
    if full:
        values = total
    else:
        inside = _region_expectation(process, thetas, _intervals(score, keep, q.value))
        if lim.outside == 0.0:
            values = inside / lim.scale
        else:
            values = inside / lim.scale + lim.outside * (total - inside)
    return _finite(PopulationLoss(values, np.zeros_like(values), "quadrature"), thetas)


def _finite(result: PopulationLoss, thetas) -> PopulationLoss:
    """The result, or an error when a loss is not finite (a finite θ too large for float64)."""
    bad = np.flatnonzero(~np.isfinite(result.values))
    if bad.size:
        raise ValueError(f"thetas at row {int(bad[0])} ({thetas[bad[0]].tolist()}) gives a non-finite loss: its norm "
                         "is too large for float64 arithmetic")
    return result
