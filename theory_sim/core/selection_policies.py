r"""Selection policies that practitioners run, with their limit laws (docs/theory.md, "Selection policies").

Each policy selects from scores g_1..g_n (``hard``: which end of g is hard, as ``Score.hard``) and
returns a :class:`~theory_sim.core.pruning.Selection`; :func:`policy_limit` gives its limit as a
*profile* on the **hardness levels** u = F_g(g) (hard = highest) or 1 − F_g(g) (hard = lowest),
so that dν/dµ(z) = h(u(z)) (P1–P4 of the theory document; the propositions are ours). On data,
hardness levels are estimated by ranks, û_i = rank_i / n.

==============  =====================================================================  ======
name            rule                                                                   law
==============  =====================================================================  ======
``ccs``         drop the hardest β, cut the rest into equal-width score strata, fill   P4
                them evenly, smallest first (water-filling)
``moderate``    the k points with score nearest the median                             SBPA
``soft``        keep with probability π_i = min(1, c λ(û_i)), λ(u) = floor + u,         P1/P2
                Σ π_i = k; unweighted or with inverse-probability (Hájek) weights
``soft-wor``    k draws without replacement with probabilities ∝ λ(û_i)                 P3
``infobatch``   points on the easy side of the mean score kept with probability 1 − p,  P1/P2
                those up-weighted by 1/(1 − p) (or not)
``prototype``   SBPA on the distance of x to its nearest k-means centroid (label-free)  SBPA
==============  =====================================================================  ======
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize
from scipy.cluster.vq import kmeans2

from theory_sim.core.limits import score_cdf, score_quantile
from theory_sim.core import policies as _policies
from theory_sim.core.policies import Policy, Selection
from theory_sim.core.pruning import prune
from theory_sim.core.selection_laws import Profile, levels, poisson_profile, stratified_profile
from theory_sim.validation import as_generator, budget, check_array, check_choice, check_int, check_r, check_real

__all__ = ["POLICIES", "PolicyLimit", "ccs", "hardness_levels", "infobatch", "moderate", "policy_limit",
           "prototype", "prototype_scores", "soft"]

ENDS = ("lowest", "highest")


def hardness_levels(g, hard: str) -> np.ndarray:
    """û_i = rank of the hardness of point i / n, in (0, 1] (1: the hardest); ties by position."""
    g = check_array("g", g, ndim=1)
    hard = check_choice("hard", hard, ENDS)
    order = np.argsort(g if hard == "highest" else -g, kind="stable")
    u = np.empty(g.shape[0])
    u[order] = np.arange(1, g.shape[0] + 1) / g.shape[0]
    return u


def _selection(kept, weights, name, n, r, hard) -> Selection:
    kept = np.flatnonzero(kept) if kept.dtype == bool else np.sort(kept)
    if kept.shape[0] == 0:
        raise ValueError(f"policy {name!r} kept no point (n = {n}, r = {r}); use a larger n or r")
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    for arr in (kept, w):
        arr.setflags(write=False)
    signal = np.zeros(kept.shape[0], dtype=bool)
    return Selection(kept.astype(np.int64), w, name, n, r, int(kept.shape[0]), 0.0, 0, hard, float("nan"), signal)


def ccs(g, r, *, hard: str, beta: float = 0.1, strata: int = 50, rng=None) -> Selection:
    r"""Coverage-centric coreset selection (Zheng, Liu, Lin & Prakash, "Coverage-centric coreset
    selection for high pruning rates", ICLR 2023): drop the ⌊βn⌋ hardest points, cut the range of
    the remaining scores into ``strata`` equal-width strata, and fill them with the budget
    k = ⌊rn⌋ smallest stratum first, each taking min(its size, ⌊budget left / strata left⌋) points
    uniformly at random. Weights 1/|kept|. The floors may leave up to ``strata`` points of the
    budget unused, as in the paper's algorithm."""
    g = check_array("g", g, ndim=1)
    hard = check_choice("hard", hard, ENDS)
    beta = check_real("beta", beta, low=0.0, high=1.0, high_open=True)
    strata = check_int("strata", strata, low=1)
    r = check_r(r)
    rng = as_generator(rng)
    n = g.shape[0]
    k, dropped = budget(r, n), budget(beta, n)
    if k > n - dropped:
        raise ValueError(f"r must be at most 1 - beta = {1 - beta} for ccs (budget {k} > {n - dropped} points left)")
    u = hardness_levels(g, hard)
    rest = np.flatnonzero(u <= (n - dropped) / n)
    lo, hi = g[rest].min(), g[rest].max()
    width = (hi - lo) / strata if hi > lo else 1.0
    label = np.minimum(((g[rest] - lo) / width).astype(np.int64), strata - 1)
    members = [rest[label == b] for b in range(strata)]
    kept, left = [], k
    for i, b in enumerate(sorted(range(strata), key=lambda s: (members[s].shape[0], s))):
        take = min(members[b].shape[0], left // (strata - i))
        if take:
            kept.append(rng.choice(members[b], size=take, replace=False))
        left -= take
    kept = np.concatenate(kept) if kept else np.empty(0, dtype=np.int64)
    return _selection(kept, np.ones(kept.shape[0]), "ccs", n, r, hard)


def moderate(g, r, *, hard: str = "highest", rng=None) -> Selection:
    r"""Moderate coreset (Xia, Liu, Yu, Shen, Han & Liu, "Moderate coreset: a universal method of
    data selection for real-world data-efficient deep learning", ICLR 2023): the k = ⌊rn⌋ points
    whose score is nearest the median score (SBPA on |g − median(g)|, ties at random), weights 1/k."""
    g = check_array("g", g, ndim=1)
    sel = prune(np.abs(g - np.median(g)), r, "sbpa", keep="lowest", rng=rng)
    return _selection(np.asarray(sel.indices), np.ones(sel.k), "moderate", g.shape[0], sel.r,
                      check_choice("hard", hard, ENDS))


def _solve_c(lam, target):
    """c with Σ min(1, c λ_i) = target (λ_i > 0, target ≤ len(λ))."""
    f = lambda c: float(np.minimum(1.0, c * lam).sum()) - target  # noqa: E731
    hi = 1.0 / lam.min()
    return optimize.brentq(f, 0.0, hi, xtol=1e-14 * hi, rtol=1e-14) if f(hi) > 0 else hi


def soft(g, r, *, hard: str, floor: float = 0.1, weighted: bool = False, design: str = "poisson",
         rng=None) -> Selection:
    r"""Soft (importance) sampling by score: λ(u) = floor + u on the hardness levels û (harder points
    more likely), as in loss- or gradient-norm-proportional importance sampling (Katharopoulos &
    Fleuret, "Not all samples are created equal: deep learning with importance sampling",
    ICML 2018).

    ``design="poisson"``: keep point i independently with π_i = min(1, c λ(û_i)), c such that
    Σ π_i = ⌊rn⌋ (P1); ``weighted=True`` gives the kept points the Hájek weights ∝ 1/π_i (P2).
    ``design="successive"``: ⌊rn⌋ draws without replacement with probabilities ∝ λ(û_i) (P3);
    with ``weighted=True`` the weights are ∝ 1/π(û_i), π = 1 − e^{−τλ} the limit inclusion
    probability (τ solved on the data).
    """
    g = check_array("g", g, ndim=1)
    hard = check_choice("hard", hard, ENDS)
    floor = check_real("floor", floor, low=0.0)
    design = check_choice("design", design, ("poisson", "successive"))
    r = check_r(r)
    rng = as_generator(rng)
    n = g.shape[0]
    k = budget(r, n)
    lam = floor + hardness_levels(g, hard)
    if design == "poisson":
        pi = np.minimum(1.0, _solve_c(lam, k) * lam)
        kept = np.flatnonzero(rng.random(n) < pi)
    else:
        kept = np.sort(rng.choice(n, size=k, replace=False, p=lam / lam.sum()))
        tau = optimize.brentq(lambda t: float((-np.expm1(-t * lam)).sum()) - k, 1e-12, 1e3 * n / lam.sum())
        pi = -np.expm1(-tau * lam)
    weights = 1.0 / pi[kept] if weighted else np.ones(kept.shape[0])
    return _selection(kept, weights, "soft" if design == "poisson" else "soft-wor", n, r, hard)


def infobatch(g, *, hard: str, prune_prob: float = 0.5, weighted: bool = True, rng=None) -> Selection:
    r"""InfoBatch-style static pruning (Qin et al., "InfoBatch: lossless training acceleration by
    unbiased dynamic data pruning", ICLR 2024): the points on the easy side of the mean score
    (well-learned) are each pruned with probability p = ``prune_prob``; the kept ones carry weight
    1/(1 − p) (``weighted=True``, normalised to sum 1), the others 1. The kept fraction is not a
    parameter: it tends to 1 − p µ(easy side of the mean). One pass, not InfoBatch's per-epoch
    schedule."""
    g = check_array("g", g, ndim=1)
    hard = check_choice("hard", hard, ENDS)
    p = check_real("prune_prob", prune_prob, low=0.0, high=1.0, high_open=True)
    rng = as_generator(rng)
    n = g.shape[0]
    easy = g < g.mean() if hard == "highest" else g > g.mean()
    kept = ~easy | (rng.random(n) >= p)
    idx = np.flatnonzero(kept)
    weights = np.where(easy[idx], 1.0 / (1.0 - p), 1.0) if weighted else np.ones(idx.shape[0])
    return _selection(idx, weights, "infobatch", n, idx.shape[0] / n, hard)


def prototype_scores(x, clusters: int = 1, *, rng=None) -> np.ndarray:
    r"""The self-supervised prototype metric of Sorscher, Geirhos, Shekhar, Ganguli & Morcos,
    "Beyond neural scaling laws: beating power law scaling via data pruning" (NeurIPS 2022): the
    distance of each x to its nearest k-means centroid (k = ``clusters``; k-means++ start, seeded),
    label-free. Far from the prototypes is hard."""
    x = check_array("x", x, ndim=2)
    clusters = check_int("clusters", clusters, low=1, high=x.shape[0])
    if clusters == 1:
        centroids = x.mean(axis=0, keepdims=True)
    else:
        centroids, _ = kmeans2(x, clusters, minit="++", seed=as_generator(rng))
    d2 = ((x[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    return np.sqrt(d2.min(axis=1))


def prototype(x, r, *, end: str = "hard", clusters: int = 1, rng=None) -> Selection:
    r"""SBPA on :func:`prototype_scores` (Sorscher et al. 2022): keep the ⌊rn⌋ points farthest from
    their prototype (``end="hard"``) or nearest (``"easy"``), weights 1/k."""
    end = check_choice("end", end, ("hard", "easy"))
    rng = as_generator(rng)
    d = prototype_scores(x, clusters, rng=rng)
    sel = prune(d, r, "sbpa", keep="highest" if end == "hard" else "lowest", rng=rng)
    return _selection(np.asarray(sel.indices), np.ones(sel.k), "prototype", d.shape[0], sel.r, "highest")


# ----------------------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class PolicyLimit:
    r"""The limit of a policy: dν/dµ = ``profile``(u) on the hardness levels u of ``score``
    (dν/dµ = 1 when ``to_mu``: the weighted policies of P2), and the limit kept fraction."""

    profile: Profile
    to_mu: bool
    kept_fraction: float


def _cdf(process, score):
    cdf = score_cdf(process, score)
    if cdf is None:
        raise ValueError(f"score {score.name!r} has no exact law under {process.name!r}: the limit is unknown")
    return cdf


def _hardness_of_score(process, score, c, hard):
    """Hardness level u of the score value c (``hard``: the score's hard end)."""
    f = _cdf(process, score)(float(c))
    return f if hard == "highest" else 1.0 - f


def _ccs_profile(process, score, r, beta, strata, hard):
    tail = 1e-12  # the range's ends: the quantiles at 1e-12 (the essential bounds for a bounded score)
    if hard == "highest":
        lo = score_quantile(process, score, tail, keep="lowest").value
        hi = score_quantile(process, score, beta, keep="highest").value if beta > 0 else \
            score_quantile(process, score, tail, keep="highest").value
    else:
        lo = score_quantile(process, score, beta, keep="lowest").value if beta > 0 else \
            score_quantile(process, score, tail, keep="lowest").value
        hi = score_quantile(process, score, tail, keep="highest").value
    cuts = np.linspace(lo, hi, strata + 1)
    u = sorted(min(max(_hardness_of_score(process, score, c, hard), 0.0), 1.0 - beta) for c in cuts[1:-1])
    edges = np.unique(np.r_[0.0, u, 1.0 - beta])
    masses = np.diff(edges)
    level = optimize.brentq(lambda lam: float(np.minimum(masses, lam).sum()) - r, 0.0, 1.0, xtol=1e-15)
    shares = np.minimum(masses, level)
    shares *= r / shares.sum()
    if beta > 0:
        edges, shares = np.r_[edges, 1.0], np.r_[shares, 0.0]
    return stratified_profile(edges, shares, r, name="ccs")


def _moderate_profile(process, score, r, hard):
    cdf = _cdf(process, score)
    m = score_quantile(process, score, 0.5, keep="lowest").value
    width = lambda c: cdf(m + c) - cdf(m - c) - r  # noqa: E731
    hi = 1.0
    while width(hi) < 0:
        hi *= 2
    c = optimize.brentq(width, 0.0, hi, xtol=1e-14)
    a, b = sorted(_hardness_of_score(process, score, v, hard) for v in (m - c, m + c))
    return stratified_profile([0.0, a, b, 1.0], [0.0, r, 0.0], r, name="moderate") if a > 0 else \
        stratified_profile([0.0, b, 1.0], [r, 0.0], r, name="moderate")


def _soft_profile(r, floor, design):
    lam = lambda u: floor + u  # noqa: E731
    if design == "poisson":
        mass = lambda c: integrate.quad(lambda u: min(1.0, c * lam(u)), 0, 1)[0] - r  # noqa: E731
        c = optimize.brentq(mass, 0.0, 1.0 / floor if floor > 0 else 1e6, xtol=1e-14) if mass(
            1.0 / max(floor, 1e-6)) > 0 else 1.0 / max(floor, 1e-6)
        return poisson_profile(lambda u: np.minimum(1.0, c * lam(u)), name="soft")
    mass = lambda t: integrate.quad(lambda u: -math.expm1(-t * lam(u)), 0, 1)[0] - r  # noqa: E731
    tau = optimize.brentq(mass, 1e-12, 1e4, xtol=1e-14)
    return poisson_profile(lambda u: -np.expm1(-tau * lam(u)), name="soft-wor")


def _score_mean(process, score):
    cdf = _cdf(process, score)
    lo = score_quantile(process, score, 1e-12, keep="lowest").value
    hi = score_quantile(process, score, 1e-12, keep="highest").value
    if lo < 0:
        raise ValueError("the mean of a score with negative values is not implemented")
    return float(integrate.quad(lambda t: 1.0 - cdf(t), 0.0, hi, limit=200)[0])


def policy_limit(name: str, process, score, r=None, *, hard=None, **params) -> PolicyLimit:
    r"""The limit of policy ``name`` on ``process`` with ``score`` (for ``prototype``: the
    ``distance`` score, the k = 1 prototype of a centred process), parameters as the policy's;
    ``hard``: the score's hard end (default ``score.hard``)."""
    name = check_choice("policy", name, POLICIES)
    hard = score.hard if hard is None else check_choice("hard", hard, ENDS)
    if name == "infobatch":
        p = params.get("prune_prob", 0.5)
        # u_mean: hardness level of the mean score; the easy side is u < u_mean for either orientation
        easy_mass = _hardness_of_score(process, score, _score_mean(process, score), hard)
        kept = 1.0 - p * easy_mass
        u_edge = easy_mass  # the easy side is u < easy_mass on hardness levels
        prof = stratified_profile([0.0, u_edge, 1.0], [(1 - p) * u_edge, 1.0 - u_edge], kept, name="infobatch")
        return PolicyLimit(prof, bool(params.get("weighted", True)), kept)
    r = check_r(r)
    if name == "ccs":
        prof = _ccs_profile(process, score, r, params.get("beta", 0.1), params.get("strata", 50), hard)
    elif name == "moderate":
        prof = _moderate_profile(process, score, r, hard)
    elif name in ("soft", "soft-wor"):
        prof = _soft_profile(r, params.get("floor", 0.1), "poisson" if name == "soft" else "successive")
        return PolicyLimit(prof, bool(params.get("weighted", False)), r)
    else:  # prototype: SBPA on the distance score, hard = far
        end = params.get("end", "hard")
        prof = stratified_profile([0.0, 1.0 - r, 1.0], [0.0, r], r, name="prototype") if end == "hard" else \
            stratified_profile([0.0, r, 1.0], [r, 0.0], r, name="prototype")
    return PolicyLimit(prof, False, r)


POLICIES = ("ccs", "moderate", "soft", "soft-wor", "infobatch", "prototype")


# ------------------------------------------------------------------- registered as policies (issue 8's interface)


class _ScorePolicy(Policy):
    r"""One of the policies above as a :class:`theory_sim.core.policies.Policy`: ``keep`` names the
    score's **hard end** (the end these policies favour: CCS drops the hardest β, soft sampling
    favours it, InfoBatch prunes the other side); ``prune(g, r, name, keep=score.hard)``."""

    def __init__(self, kind, **params):
        self.kind, self.params = kind, dict(params)

    def select(self, g, r, *, alpha, keep, rng):
        if self.kind == "infobatch":
            return infobatch(g, hard=keep, rng=rng, **self.params)
        if self.kind == "soft-wor":
            return soft(g, r, hard=keep, design="successive", rng=rng, **self.params)
        return {"ccs": ccs, "moderate": moderate, "soft": soft}[self.kind](g, r, hard=keep, rng=rng, **self.params)

    def limit_density(self, process, score, r, *, alpha, keep, **quantile_options):
        lim = policy_limit(self.kind, process, score, r, hard=keep, **self.params)
        if lim.to_mu:
            return lambda x, y=None: np.ones(np.asarray(x).shape[0])
        other = "lowest" if keep == "highest" else "highest"
        return lambda x, y=None: lim.profile(levels(process, score, x, y, keep=other))


# name -> (kind, parameters): the policies of the ``policies`` experiment
REGISTERED = {
    "ccs": ("ccs", {}),
    "moderate": ("moderate", {}),
    "soft": ("soft", {}),
    "soft-ht": ("soft", {"weighted": True}),
    "soft-wor": ("soft-wor", {}),
    "infobatch": ("infobatch", {"weighted": True}),
    "infobatch-unweighted": ("infobatch", {"weighted": False}),
}
for _name, (_kind, _params) in REGISTERED.items():
    _policy = _policies.POLICIES.add_builtin(_name, _ScorePolicy(_kind, **_params))
    _policy.name = _name
