r"""Population losses under a selection policy's limit, by quadrature (docs/theory.md, "Selection
policies" and "Population losses").

A policy's limit is dν/dµ = h(u(z)), u the hardness level (:mod:`theory_sim.core.selection_policies`).
For the scores that are functions of the truth's logit u* and of y (``margin``, ``entropy``,
``el2n``, ``loss`` with the truth as reference), u is a function of (u*, y), and

.. math::  L_\nu(\theta) = \sum_y \int \varphi(z_1) P(y \mid z_1)\, h(u(u^\ast, y))\,
           E_{z_2}[f_y(m + c z_1 + t z_2)]\, dz_1,

the quadrature of :mod:`theory_sim.models.population` with the weight h(u) in the outer integral,
whose panels are cut at every u* where h may jump (the profile's edges mapped to u*), so that the
integrand is smooth on each panel.
"""

from __future__ import annotations

import math

import numpy as np

from theory_sim.core.limits import score_cdf, score_quantile
from theory_sim.core.selection_laws import Profile
from theory_sim.models.population import _intervals, _is_truth, _region_expectation

__all__ = ["ProfileWeight", "profile_population_loss"]

QUADRATURE_SCORES = ("margin", "entropy", "el2n", "loss")


class ProfileWeight:
    """h(u(u*, y)) at quadrature nodes, cached per node set (an optimiser reuses the same nodes)."""

    def __init__(self, process, score, profile: Profile, hard: str):
        self.process, self.score, self.profile, self.hard = process, score, profile, hard
        self.cdf = score_cdf(process, score)
        truth = process.truth()
        self._dir = truth.w / float(truth.w @ truth.w)
        self._b = truth.b
        self._cache = {}
        self.intervals = None  # the u*-intervals cut at the profile's edges (profile_population_loss)

    def level(self, u_star, y):
        """Hardness levels of the points with truth logit u* and label y."""
        x = (np.asarray(u_star)[:, None] - self._b) * self._dir[None, :]  # w*·x + b* = u*
        g = self.score(x, np.full(x.shape[0], y))
        f = np.array([self.cdf(float(v)) for v in g])
        return f if self.hard == "highest" else 1.0 - f

    def __call__(self, u_star, y):
        key = (int(y), u_star.shape[0], float(u_star[0]), float(u_star[-1]))
        if key not in self._cache:
            self._cache[key] = self.profile(np.clip(self.level(u_star, y), 0.0, 1.0))
        return self._cache[key]


def _split_intervals(process, score, profile: Profile, hard: str) -> dict:
    """The whole u*-line for each label, cut where the hardness level crosses a profile edge."""
    cuts = {0: set(), 1: set()}
    for e in profile.edges:
        if not 0.0 < e < 1.0:
            continue
        q = score_quantile(process, score, e, keep="lowest" if hard == "highest" else "highest",
                           method="exact").value
        for y, region in _intervals(score, "lowest", q).items():
            for lo, hi in region:
                cuts[y].update(v for v in (lo, hi) if math.isfinite(v))
    out = {}
    for y in (0, 1):
        points = [-math.inf] + sorted(cuts[y]) + [math.inf]
        out[y] = [(a, b) for a, b in zip(points[:-1], points[1:]) if b > a]
    return out


def profile_population_loss(process, thetas, score, profile: Profile, *, hard: str,
                            weight: ProfileWeight | None = None) -> np.ndarray:
    r"""L_ν(θ) for dν/dµ = h(u(z)) on ``gaussian-logistic`` / ``gaussian-mixture``, for a score of
    :data:`QUADRATURE_SCORES` whose reference is the truth (else ValueError). ``weight``: a
    :class:`ProfileWeight` to reuse (its cache) across calls."""
    if score.name not in QUADRATURE_SCORES or score.decimals is not None or not _is_truth(score, process):
        raise ValueError(f"score {score.name!r}: the policy quadrature needs one of {', '.join(QUADRATURE_SCORES)} "
                         "with the truth as reference")
    thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
    weight = weight or ProfileWeight(process, score, profile, hard)
    if weight.intervals is None:  # the cuts need a quantile per edge: once per weight
        weight.intervals = _split_intervals(process, score, profile, hard)
    return _region_expectation(process, thetas, weight.intervals, weight=weight)
