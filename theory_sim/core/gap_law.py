r"""The limit law of the scaled function gap √k · gap (docs/theory.md, "Limits": "The law of the gaps"; ours).

For the J = 64 cosine test functions f_j of :func:`theory_sim.core.distances.cosine_functions`, the kept
(weighted) mean m̂ of a protocol at budget k = r n satisfies, jointly,

.. math::  \sqrt k\,(\hat m - E_{\text{target}} f) \to N(0, \Sigma), \qquad
           \Sigma = \frac{1}{r}\,\mathrm{Cov}_\mu(\psi) + \frac{(1 - \alpha)(1 - r)}{1 - \alpha r}\,
                    \mathrm{Cov}_{\mu \mid A^c}(f)\ \ (\text{AC}; \text{SBPA: } \alpha = 1;
                    \text{random: } \alpha = 0),

with A = A_{αr} the score-based part's region, q = q_{αr}, f_q = E[f | g = q],
h = 1_A (f − f_q), λ = (1 − α) r / (1 − α r) and ψ = (1 − λ) h + λ f. So

* **SBPA**: Σ = Cov_µ(h)/r = Cov_ν(f) + (1 − r)(E_ν f − f_q)(E_ν f − f_q)ᵀ (the second term: the threshold);
* **random** (k of n without replacement): Σ = Cov_µ(f);
* **EC** (weights 1/n on S, (n − k_s)/(n (k − k_s)) on E; target µ): Σ = r Cov_µ(f) +
  (1 − α r)(1 − r)/(1 − α) · Cov_{µ|A^c}(f): the threshold does not enter (first order);
* **AC** (weights 1/k; target its limit ν^AC): the formula above; the threshold enters through h.

Measured against a target *sample* of size m drawn independently, the gap's vector is N(0, Σ + (k/m) Cov_target),
and the law of √k · gap is the law of max_j |Z_j| for that Gaussian vector (:func:`max_abs_draws`).

The moments are computed by Gauss–Legendre quadrature (:func:`theory_sim.numerics.quadrature.gauss_legendre`)
where the law is tractable: ``gaussian-logistic`` (any d) with the ``margin`` score whose reference is the
process's truth — the limit experiment's setting. There x = t ŵ + x_⊥ with t ~ N(0, 1), the score |s t + b|
and the label depend on t only, and a cosine's dependence on x_⊥ integrates in closed form
(E cos(θ + p·x_⊥) = e^{−|p|²/2} cos θ), so every moment is a 1-D integral over t. Other settings are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from theory_sim.core.distances import cosine_functions
from theory_sim.core.limits import score_quantile
from theory_sim.core.processes import GaussianLogistic
from theory_sim.numerics.quadrature import gauss_legendre
from theory_sim.validation import as_generator, check_alpha, check_array, check_choice, check_int, check_r

__all__ = ["GapLaw", "gap_law", "max_abs_draws"]

T_RANGE = 12.0  # the integrals over t ~ N(0, 1) are truncated to |t| ≤ 12 (mass lost < 1e-32)
PANEL = 0.25  # Gauss–Legendre panel width in t
NODES = 16  # nodes per panel


@dataclass(frozen=True, eq=False)
class GapLaw:
    r"""The limit law of a protocol's kept means of the test functions (module docstring).

    Attributes
    ----------
    protocol, r, alpha, keep : as given
    sigma : ndarray (J, J)
        Σ: the covariance of √k (m̂ − E_target f) as n → ∞.
    target_mean : ndarray (J,)
        E_target f (ν_r for SBPA, ν^AC for AC, µ for random and EC).
    target_cov : ndarray (J, J)
        Cov_target f: a target sample of size m adds (k/m) target_cov (:meth:`covariance`).
    threshold : float or None
        q at the level of the score-based part (r for SBPA, α r for EC and AC); None for random.
    threshold_term : ndarray (J, J)
        The part of Σ due to the threshold's fluctuation (zero for random and EC; for SBPA
        (1 − r)(E_ν f − f_q)(E_ν f − f_q)ᵀ), so that a wrong law without it can be built.
    """

    protocol: str
    r: float
    alpha: float | None
    keep: str
    sigma: np.ndarray
    target_mean: np.ndarray
    target_cov: np.ndarray
    threshold: float | None
    threshold_term: np.ndarray

    def covariance(self, k_over_m: float = 0.0, *, threshold_term: bool = True) -> np.ndarray:
        """Σ + (k/m) Cov_target: the covariance of √k (m̂ − target sample's mean), a target of size m
        (``k_over_m`` = 0: the exact target mean). ``threshold_term=False``: without the threshold's part
        (a wrong law, for negative controls)."""
        k_over_m = float(k_over_m)
        if not (k_over_m >= 0 and np.isfinite(k_over_m)):
            raise ValueError(f"k_over_m must be finite and >= 0, got {k_over_m!r}")
        sigma = self.sigma if threshold_term else self.sigma - self.threshold_term
        return sigma + k_over_m * self.target_cov


def _check_setting(process, score):
    if not isinstance(process, GaussianLogistic) or getattr(score, "name", None) != "margin" \
            or type(score).__name__ != "Score" or score.decimals is not None or score.reference is None:
        raise ValueError("gap_law computes the law by quadrature for process 'gaussian-logistic' with the 'margin' "
                         f"score only; got process {getattr(process, 'name', process)!r} and score "
                         f"{getattr(score, 'name', score)!r}")
    truth = process.truth()
    if not (np.array_equal(score.reference.w, truth.w) and score.reference.b == truth.b):
        raise ValueError("gap_law needs the margin score's reference to be the process's truth (the default of "
                         "make_score('margin', process)); got another reference")
    w = np.asarray(truth.w, float)
    s = float(np.linalg.norm(w))
    return w / s, s, float(truth.b)


class _Moments:
    """E[φ 1_T] and E[φ φᵀ 1_T] over a set T of t-intervals, and E[φ | t] at given t (module docstring)."""

    def __init__(self, functions, w_hat, s, b):
        omega, c = functions
        omega_x, self.wy, self.c = omega[:, :-1], omega[:, -1], c
        self.a = omega_x @ w_hat  # the frequency along t
        self.perp = omega_x - np.outer(self.a, w_hat)  # the frequency along x_⊥
        self.s, self.b = s, b

    def _phases(self, t):
        """e^{i(a t + c)} (label 0) and e^{i(a t + c + ω_y)} (label 1), shape (J, len(t))."""
        u = np.exp(1j * (self.a[:, None] * t[None, :] + self.c[:, None]))
        return u, u * np.exp(1j * self.wy)[:, None]

    def first(self, t, wt):
        pi = expit(self.s * t + self.b)
        u, v = self._phases(t)
        return np.exp(-0.5 * (self.perp ** 2).sum(axis=1)) * (v @ (wt * pi) + u @ (wt * (1 - pi))).real

    def second(self, t, wt):
        """cos A cos B = ½ cos(A + B) + ½ cos(A − B): each a cosine of the same form, whose sums over the nodes
        are matrix products of the per-function phases."""
        pi = expit(self.s * t + self.b)
        u, v = self._phases(t)
        w1, w0 = wt * pi, wt * (1 - pi)
        # Re(P W Pᵀ) = Re P W Re Pᵀ − Im P W Im Pᵀ and Re(P W P^H) = Re P W Re Pᵀ + Im P W Im Pᵀ, in real products
        rr = (v.real * w1) @ v.real.T + (u.real * w0) @ u.real.T
        ii = (v.imag * w1) @ v.imag.T + (u.imag * w0) @ u.imag.T
        plus, minus = rr - ii, rr + ii
        damp = {sign: np.exp(-0.5 * ((self.perp[:, None, :] + sign * self.perp[None, :, :]) ** 2).sum(axis=2))
                for sign in (1.0, -1.0)}
        return 0.5 * (damp[1.0] * plus + damp[-1.0] * minus)

    def at(self, t):
        """E[φ | t] for each t (shape (len(t), J))."""
        t = np.asarray(t, float)
        pi = expit(self.s * t + self.b)[:, None]
        phase = t[:, None] * self.a[None, :] + self.c[None, :]
        damp = np.exp(-0.5 * (self.perp ** 2).sum(axis=1))
        return damp * (pi * np.cos(phase + self.wy) + (1.0 - pi) * np.cos(phase))


def _rule(intervals):
    t, w = gauss_legendre(intervals, NODES, PANEL)
    return t, w * np.exp(-0.5 * t * t) / np.sqrt(2.0 * np.pi)


def gap_law(process, score, r, protocol: str = "sbpa", *, alpha=None, keep: str = "lowest",
            functions=None) -> GapLaw:
    r"""The limit law of √k (m̂ − E_target f) for the cosine test functions, by quadrature.

    .. math::  \Sigma = \frac{1}{r}\mathrm{Cov}_\mu\big((1 - \lambda) h + \lambda f\big)
               + \frac{(1 - \alpha)(1 - r)}{1 - \alpha r}\,\mathrm{Cov}_{\mu \mid A^c}(f)

    for AC (α ∈ [0, 1]; SBPA is α = 1, random α = 0), with A = A_{αr}, h = 1_A (f − E[f | g = q_{αr}]),
    λ = (1 − α) r/(1 − α r); and for EC, Σ = r Cov_µ f + (1 − α r)(1 − r)/(1 − α) Cov_{µ|A^c} f. SBPA's
    Σ = Cov_ν f + (1 − r)(E_ν f − f_q)(E_ν f − f_q)ᵀ. Derivation: docs/theory.md, "The law of the gaps".

    Parameters
    ----------
    process : GaussianLogistic
    score : the ``margin`` score with the process's truth as reference
    r : float in (0, 1)
    protocol : {'sbpa', 'random', 'ec', 'ac'}
    alpha : float, for 'ec' ([0, 1)) and 'ac' ([0, 1])
    keep : {'lowest', 'highest'}
    functions : (omega, c), optional
        The test functions (default: :func:`cosine_functions` of dimension d + 1, the function gap's).
    """
    protocol = check_choice("protocol", protocol, ("sbpa", "random", "ec", "ac"))
    r = check_r(r)
    if r >= 1.0:
        raise ValueError(f"r must be < 1 for the law of the gaps (r = 1 keeps everything), got r={r!r}")
    keep = check_choice("keep", keep, ("lowest", "highest"))
    if protocol in ("ec", "ac"):
        alpha = check_alpha(alpha, allow_one=protocol == "ac")
    elif alpha is not None:
        raise ValueError(f"alpha does not apply to protocol {protocol!r}; got alpha={alpha!r}")
    w_hat, s, b = _check_setting(process, score)
    dim = process.d + 1
    if functions is None:
        functions = cosine_functions(dim)
    omega = check_array("functions[0]", functions[0], shape=(None, dim))
    c = check_array("functions[1]", functions[1], shape=(omega.shape[0],))
    mom = _Moments((omega, c), w_hat, s, b)
    a_eff = {"sbpa": 1.0, "random": 0.0}.get(protocol, alpha)
    rho = a_eff * r  # µ(A): the level of the score-based part

    all_t, all_w = _rule([(-T_RANGE, T_RANGE)])
    m1, m2 = mom.first(all_t, all_w), mom.second(all_t, all_w)
    cov_mu = m2 - np.outer(m1, m1)
    zero = np.zeros_like(cov_mu)
    if rho == 0.0:  # random, or EC / AC at α = 0: random pruning
        return GapLaw(protocol, r, alpha, keep, cov_mu, m1, cov_mu, None, zero)
    q = score_quantile(process, score, rho, keep=keep)
    if q.stderr != 0.0:
        raise ValueError(f"gap_law needs an exact threshold, got {q.method!r}")
    lo, hi = (-q.value - b) / s, (q.value - b) / s  # A = {|s t + b| ≤ q} for keep='lowest'
    inside = [(lo, hi)]
    outside = [(-T_RANGE, lo), (hi, T_RANGE)]
    if keep == "highest":
        inside, outside = outside, inside
    in_t, in_w = _rule(inside)
    m1a, m2a = mom.first(in_t, in_w), mom.second(in_t, in_w)
    m1c, m2c = m1 - m1a, m2 - m2a
    edge = np.array([lo, hi])
    dens = np.exp(-0.5 * edge ** 2)
    fq = dens @ mom.at(edge) / dens.sum()  # E[f | g = q]: the two points of the boundary, by density
    mean_c = m1c / (1.0 - rho)
    cov_c = m2c / (1.0 - rho) - np.outer(mean_c, mean_c)  # Cov_{µ|A^c} f
    if protocol == "ec":
        sigma = r * cov_mu + (1.0 - rho) * (1.0 - r) / (1.0 - alpha) * cov_c
        return GapLaw(protocol, r, alpha, keep, sigma, m1, cov_mu, float(q.value), zero)
    lam = (1.0 - a_eff) * r / (1.0 - rho)

    def sigma_with(fq):  # Cov_µ(ψ)/r + the exploration's sampling term, ψ = (1 − λ) h + λ f, h = 1_A (f − fq)
        eh = m1a - rho * fq
        ehh = m2a - np.outer(m1a, fq) - np.outer(fq, m1a) + rho * np.outer(fq, fq)
        cov_h = ehh - np.outer(eh, eh)
        cov_hf = (m2a - np.outer(fq, m1a)) - np.outer(eh, m1)  # Cov(h_a, f_b)
        cov_psi = (1 - lam) ** 2 * cov_h + lam ** 2 * cov_mu + lam * (1 - lam) * (cov_hf + cov_hf.T)
        out = cov_psi / r + (1.0 - a_eff) * (1.0 - r) / (1.0 - rho) * cov_c
        return 0.5 * (out + out.T)

    sigma = sigma_with(fq)
    # the threshold's part: Σ minus the same formula with E[f | g = q] replaced by E_{ν_{αr}} f, which is the
    # law of the kept mean if the kept region were exactly A (for SBPA: (1 − r)(E_ν f − f_q)(E_ν f − f_q)ᵀ)
    threshold_term = sigma - sigma_with(m1a / rho)
    # the target ν^AC (ν_r for SBPA): density 1/r on A, (1 − α)/(1 − α r) off it
    off = (1.0 - a_eff) / (1.0 - rho)
    mean_t = m1a / r + off * m1c
    cov_t = m2a / r + off * m2c - np.outer(mean_t, mean_t)
    return GapLaw(protocol, r, alpha, keep, sigma, mean_t, 0.5 * (cov_t + cov_t.T), float(q.value), threshold_term)


def max_abs_draws(cov, draws: int, rng=None) -> np.ndarray:
    """``draws`` independent values of max_j |Z_j|, Z ~ N(0, cov) (the law of √k · gap), seeded by ``rng``.

    Z = V diag(√λ) ε from the eigendecomposition of ``cov`` (negative rounding-level eigenvalues set to 0).
    """
    cov = check_array("cov", cov, ndim=2)
    if cov.shape[0] != cov.shape[1] or not np.allclose(cov, cov.T, rtol=0, atol=1e-12 * max(1.0, np.abs(cov).max())):
        raise ValueError(f"cov must be a symmetric square matrix, got shape {cov.shape}")
    draws = check_int("draws", draws, low=1)
    vals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
    if vals.min() < -1e-9 * max(vals.max(), 1e-300):
        raise ValueError(f"cov must be positive semi-definite, got eigenvalue {vals.min():.3g}")
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    rng = as_generator(rng)
    out = np.empty(draws)
    chunk = 20_000
    for start in range(0, draws, chunk):
        z = rng.standard_normal((min(chunk, draws - start), cov.shape[0])) @ root.T
        out[start:start + z.shape[0]] = np.abs(z).max(axis=1)
    return out
