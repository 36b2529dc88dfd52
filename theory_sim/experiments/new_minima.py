r"""New local minima of the pruned loss (claim C7): a certified local minimum of L_{ν_r} that L does not have.

On ``sine-regression`` with the label-free ``distance`` score, the population losses L (under
µ) and L_{ν_r} (under the SBPA limit ν_r) of a one-hidden-layer tanh network are computed by
quadrature (:mod:`theory_sim.models.network_population`). :func:`certify_new_minimum` finds a
local minimiser θ₀ of L_{ν_r} (multi-start BFGS, then Newton) and certifies from these
population quantities that it is a **new local minimum**: ‖∇L_{ν_r}(θ₀)‖ ≈ 0 to quadrature
precision, the Hessian of L_{ν_r} at θ₀ positive definite with a margin, and ‖∇L(θ₀)‖ bounded
away from 0 — so θ₀ is not even a critical point of L (docs/theory.md, "Claim register", C7;
the paper's Section on validity with rich models).

The registered experiment ``new_minima`` (:func:`run_landscape_slice`) adds both landscapes on
the (w, a) plane through θ₀ for the figure of the same name. Result file:
``landscape-slice-<hash>.json``, one unit of work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from theory_sim.core.processes import make_process
from theory_sim.experiments._framework import Experiment, ExperimentConfig, one_blas_thread, register, register_runner
from theory_sim.models.mlp import MLP
from theory_sim.models.network_population import (NODES_PER_PANEL, PANEL_WIDTH, QuadratureRule, check_arch,
                                                  hessian_fd, population_hessian, population_loss_grad,
                                                  quadrature_rule)
from theory_sim.store import Store
from theory_sim.validation import as_generator, check_array, check_choice, check_int, check_r, check_real

__all__ = [
    "LocalMinimum",
    "NewMinimumCertificate",
    "canonical",
    "local_minima",
    "certify_new_minimum",
    "LandscapeSliceConfig",
    "LandscapeSliceResult",
    "run_landscape_slice",
    "SIZES",
    "configs",
]

# Constants, each with its reason.
MAX_NORM = 50.0  # starts that run off beyond ‖θ‖ = 50 are saturated plateaus (units ±1), not minima
NEWTON_STEPS = 30  # Newton polish from BFGS's point: quadratic convergence needs ≤ 5; the rest is slack
# Certification thresholds (defaults of certify_new_minimum).
GRAD_TOL = 1e-10  # ‖∇L_ν(θ₀)‖: rounding of the quadrature sums is ~1e-16 · #nodes ≈ 1e-13
# λ_min(∇²L_ν(θ₀)) minus its error bound must exceed EIG_MARGIN: the Hessian's errors are ~1e-9,
# so the margin is 10^4 times them; the well is shallow along (b, c) on a narrow A_r (λ_min ~ 6e-4 at r = 0.3).
EIG_MARGIN = 1e-5
CANDIDATE_EIG_TOL = 1e-8  # local_minima keeps points with λ_min above this (then certified separately)
AWAY_TOL = 1e-2  # ‖∇L(θ₀)‖ must exceed this (10^8 times the quadrature error)


# ---------------------------------------------------------------------------------------
# Local minima by multi-start, and the certificate
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LocalMinimum:
    """A point where the gradient vanishes (to ``grad_norm``) and the Hessian is positive definite."""

    theta: np.ndarray
    loss: float
    grad_norm: float
    eigenvalues: np.ndarray
    count: int  # how many of the starts ended here


def canonical(arch: MLP, theta) -> np.ndarray:
    r"""The representative of θ's symmetry class: each unit with a_k ≥ 0, units sorted by w_k.

    v is invariant under (w_k, b_k, a_k) → (−w_k, −b_k, −a_k) (tanh is odd) and under permuting
    the hidden units, so minima come in classes of 2^h h! equivalent points.
    """
    arch = check_arch(arch)
    theta = np.array(arch._theta(theta), dtype=np.float64)
    h = arch.hidden[0]
    w, b, a = theta[:h].copy(), theta[h : 2 * h].copy(), theta[2 * h : 3 * h].copy()
    flip = a < 0.0
    w[flip], b[flip], a[flip] = -w[flip], -b[flip], -a[flip]
    order = np.lexsort((b, np.round(w, 6)))  # rounded: mirror-image units have w equal up to rounding
    theta[:h], theta[h : 2 * h], theta[2 * h : 3 * h] = w[order], b[order], a[order]
    return theta + 0.0  # −0.0 → 0.0


def _newton(arch, theta, rule):
    """Newton's method on the exact Hessian, from a BFGS point; stops when ‖∇L‖ stops falling."""
    _, g = population_loss_grad(arch, theta, rule)
    best = (float(np.linalg.norm(g)), theta)
    for _ in range(NEWTON_STEPS):
        H = population_hessian(arch, theta, rule)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        cand = theta - step
        _, g_new = population_loss_grad(arch, cand, rule)
        norm = float(np.linalg.norm(g_new))
        if not norm < best[0]:
            break
        theta, g, best = cand, g_new, (norm, cand)
    return best[1]


def local_minima(arch: MLP, rule: QuadratureRule, *, starts: int = 32, rng=None, scale: float = 3.0,
                 max_norm: float = MAX_NORM, eig_tol: float = CANDIDATE_EIG_TOL) -> tuple:
    r"""Distinct local minimisers of L_ρ found from ``starts`` random starts, lowest loss first.

    Each start θ ~ N(0, scale² I) runs BFGS (exact gradient, gtol 1e-10), then Newton's method
    on the exact Hessian. Kept: ‖θ‖ ≤ ``max_norm`` (runs to infinity are saturated plateaus),
    ‖∇L_ρ‖ ≤ 1e-8 and λ_min(∇²L_ρ) ≥ ``eig_tol``; points equal up to the network's symmetries
    (:func:`canonical`) are merged.

    Returns
    -------
    tuple of LocalMinimum
    """
    arch = check_arch(arch)
    starts = check_int("starts", starts, low=1)
    scale = check_real("scale", scale, low=0.0, low_open=True)
    rng = as_generator(rng)
    fun = lambda th: population_loss_grad(arch, th, rule)  # noqa: E731
    found: list = []
    for theta0 in rng.normal(0.0, scale, size=(starts, arch.n_params)):
        res = optimize.minimize(fun, theta0, jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 4000})
        if not np.all(np.isfinite(res.x)) or np.linalg.norm(res.x) > max_norm:
            continue
        theta = canonical(arch, _newton(arch, res.x, rule))
        loss, g = fun(theta)
        eig = np.linalg.eigvalsh(population_hessian(arch, theta, rule))
        if np.linalg.norm(theta) > max_norm or np.linalg.norm(g) > 1e-8 or eig[0] < eig_tol:
            continue
        for i, m in enumerate(found):
            if np.linalg.norm(m.theta - theta) <= 1e-6 * (1.0 + np.linalg.norm(theta)):
                found[i] = LocalMinimum(m.theta, m.loss, m.grad_norm, m.eigenvalues, m.count + 1)
                break
        else:
            found.append(LocalMinimum(_ro(theta), float(loss), float(np.linalg.norm(g)), _ro(eig), 1))
    return tuple(sorted(found, key=lambda m: m.loss))


@dataclass(frozen=True, eq=False)
class NewMinimumCertificate:
    r"""A certified new local minimum θ₀ of L_{ν_r} (claim C7), from population quantities.

    Attributes
    ----------
    arch : MLP
    process : dict
        The process's name and parameters (ω, s).
    r, keep, center, q : float, str, float, float
        ``ν_r = µ|A_r / r`` with ``A_r = {|x − c| ≤ q}`` (lowest) or ``{|x − c| ≥ q}`` (highest).
    theta0 : ndarray, shape (n_params,)
        θ₀, in the layout of :class:`theory_sim.models.mlp.MLP` (for h = 1: (w, b, a, c)).
    loss_nu, loss_mu : float
        L_{ν_r}(θ₀) and L(θ₀) (noise s²/2 included).
    grad_nu_norm, grad_mu_norm : float
        ‖∇L_{ν_r}(θ₀)‖₂ and ‖∇L(θ₀)‖₂.
    grad_mu : ndarray, shape (n_params,)
        ∇L(θ₀) itself (the direction in which L falls away from θ₀ is −∇L(θ₀)).
    hessian_nu_eigenvalues, hessian_mu_eigenvalues : ndarray, ascending
        Eigenvalues of the exact Hessians at θ₀.
    hessian_fd_error : float
        ‖exact − finite-difference Hessian of L_{ν_r}‖₂ (an independent check), plus the FD
        error estimate.
    quadrature_error : float
        max over (L_ν, L, both gradients) of the change when the nodes per panel are doubled.
    newton_radius : float
        ‖∇L_{ν_r}(θ₀)‖ / λ_min: first-order distance from θ₀ to the exact critical point.
    min_loss_mu, theta_mu : float, ndarray
        The lowest local minimum of L found by the same multi-start (not proven global).
    tolerances : dict
        grad_tol, eig_margin, away_tol.
    checks : dict of bool
        ``stationary_nu``, ``positive_definite_nu``, ``not_critical_mu``.
    certified : bool
        All three checks pass.
    method : str
    """

    arch: MLP
    process: dict
    r: float
    keep: str
    center: float
    q: float | None
    theta0: np.ndarray
    loss_nu: float
    loss_mu: float
    grad_nu_norm: float
    grad_mu_norm: float
    grad_mu: np.ndarray
    hessian_nu_eigenvalues: np.ndarray
    hessian_mu_eigenvalues: np.ndarray
    hessian_fd_error: float
    quadrature_error: float
    newton_radius: float
    min_loss_mu: float
    theta_mu: np.ndarray
    tolerances: dict
    checks: dict
    certified: bool
    method: str = field(default="")

    @property
    def validity_gap(self) -> float:
        """L(θ₀) − min L: what training on ν_r and landing at θ₀ costs on µ (min over the multi-start)."""
        return self.loss_mu - self.min_loss_mu

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "arch"}
        out["arch"] = {"d": self.arch.d, "hidden": list(self.arch.hidden), "activation": self.arch.activation,
                       "loss": self.arch.loss}
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in out.items()}


@one_blas_thread
def certify_new_minimum(theta0=None, *, process=None, r=0.3, keep: str = "lowest", center: float = 0.0,
                        hidden: int = 1, starts: int = 32, rng=0, polish: bool = True, grad_tol: float = GRAD_TOL,
                        eig_margin: float = EIG_MARGIN, away_tol: float = AWAY_TOL) -> NewMinimumCertificate:
    r"""Find and certify a local minimum of L_{ν_r} that L does not have.

    θ₀ is certified when, all from quadrature (no sample):

    .. math::

        ‖∇L_{ν_r}(θ_0)‖ ≤ \text{grad\_tol}, \qquad
        λ_{\min}(∇^2 L_{ν_r}(θ_0)) − ε_H ≥ \text{eig\_margin}, \qquad
        ‖∇L(θ_0)‖ − ε_Q ≥ \text{away\_tol},

    ε_H the disagreement of the exact Hessian with an independent finite-difference one (a
    bound on its error, by Weyl's inequality on the eigenvalues), ε_Q the quadrature error.
    The first two make θ₀ a strict local minimiser of L_{ν_r} (up to a displacement of
    ``newton_radius``); the third says L's gradient there is far from 0: θ₀ is not a critical
    point of L, and (to first order, with ∇²L near its value at θ₀) none lies within
    ‖∇L(θ₀)‖ / ‖∇²L(θ₀)‖ of θ₀.

    Parameters
    ----------
    theta0 : array_like, shape (3 h + 1,), optional
        The point to certify. Default: the lowest local minimiser of L_{ν_r} found by
        :func:`local_minima` from ``starts`` starts.
    process : SineRegression, optional
        Default ω = 5, s = 0.1.
    r : float in (0, 1]
        r = 1 gives ν = µ: nothing can be new (a negative control).
    keep : {'lowest', 'highest'}
    center : float
    hidden : int ≥ 1
        Width of the one-hidden-layer tanh network (h = 1: v = a tanh(w x + b) + c). With
        h ≥ 2 on the centre the minimisers of L_{ν_r} found are nearly flat (λ_min ≲ 1e-6: two
        units fit sin on a short interval in many ways) and fail the margin; h = 1 is the
        clean case.
    starts : int ≥ 1
    rng : Generator, SeedSequence, int or None
        Seeds the multi-starts (default 0, so the certificate is reproducible).
    polish : bool
        Run Newton's method on L_{ν_r} from ``theta0`` first (default). False certifies
        ``theta0`` exactly as given (then only its symmetry representative is taken).
    grad_tol, eig_margin, away_tol : float > 0

    Returns
    -------
    NewMinimumCertificate
    """
    process = make_process("sine-regression") if process is None else process
    hidden = check_int("hidden", hidden, low=1)
    grad_tol = check_real("grad_tol", grad_tol, low=0.0, low_open=True)
    eig_margin = check_real("eig_margin", eig_margin, low=0.0, low_open=True)
    away_tol = check_real("away_tol", away_tol, low=0.0, low_open=True)
    arch = MLP(1, (hidden,), "tanh", "mse")
    rule_nu = quadrature_rule(process, r, keep=keep, center=center)
    rule_mu = quadrature_rule(process, 1.0)
    rng = as_generator(rng)
    if theta0 is None:
        minima = local_minima(arch, rule_nu, starts=starts, rng=rng)
        if not minima:
            raise ValueError(f"no local minimum of L_nu found from {starts} starts; raise starts")
        theta = minima[0].theta
    else:
        theta = arch._theta(theta0, "theta0")
        theta = canonical(arch, _newton(arch, theta, rule_nu) if polish else theta)
    mu_minima = local_minima(arch, rule_mu, starts=starts, rng=rng)

    loss_nu, g_nu = population_loss_grad(arch, theta, rule_nu)
    loss_mu, g_mu = population_loss_grad(arch, theta, rule_mu)
    H_nu = population_hessian(arch, theta, rule_nu)
    H_mu = population_hessian(arch, theta, rule_mu)
    eig_nu, eig_mu = np.linalg.eigvalsh(H_nu), np.linalg.eigvalsh(H_mu)
    H_fd, fd_err = hessian_fd(lambda th: population_loss_grad(arch, th, rule_nu)[1], theta)
    eps_h = float(np.linalg.norm(H_nu - H_fd, 2)) + fd_err

    fine_nu = quadrature_rule(process, r, keep=keep, center=center, nodes=2 * NODES_PER_PANEL)
    fine_mu = quadrature_rule(process, 1.0, nodes=2 * NODES_PER_PANEL)
    lf_nu, gf_nu = population_loss_grad(arch, theta, fine_nu)
    lf_mu, gf_mu = population_loss_grad(arch, theta, fine_mu)
    eps_q = float(max(abs(lf_nu - loss_nu), abs(lf_mu - loss_mu), np.abs(gf_nu - g_nu).max(),
                      np.abs(gf_mu - g_mu).max()))

    gn_nu, gn_mu = float(np.linalg.norm(g_nu)), float(np.linalg.norm(g_mu))
    checks = {
        "stationary_nu": gn_nu <= grad_tol,
        "positive_definite_nu": float(eig_nu[0]) - eps_h >= eig_margin,
        "not_critical_mu": gn_mu - eps_q >= away_tol,
    }
    best_mu = mu_minima[0] if mu_minima else None
    method = (f"composite Gauss-Legendre, {NODES_PER_PANEL} nodes per panel of width <= {PANEL_WIDTH} "
              f"(error: nodes doubled); exact gradient (back-propagation) and exact Hessian (closed form), "
              f"Hessian checked against Richardson central differences; theta0 by "
              f"{'multi-start BFGS + Newton' if theta0 is None else 'the given point'}"
              f"{' + Newton' if theta0 is not None and polish else ''}; min L over {starts} starts")
    return NewMinimumCertificate(
        arch=arch, process={"name": process.name, "omega": process.omega, "noise": process.noise},
        r=rule_nu.r, keep=keep, center=float(center), q=rule_nu.q, theta0=_ro(theta), loss_nu=float(loss_nu),
        loss_mu=float(loss_mu), grad_nu_norm=gn_nu, grad_mu_norm=gn_mu, grad_mu=_ro(g_mu),
        hessian_nu_eigenvalues=_ro(eig_nu), hessian_mu_eigenvalues=_ro(eig_mu), hessian_fd_error=eps_h,
        quadrature_error=eps_q,
        newton_radius=gn_nu / float(eig_nu[0]) if eig_nu[0] > 0 else math.inf,
        min_loss_mu=best_mu.loss if best_mu else math.nan,
        theta_mu=best_mu.theta if best_mu else _ro(np.full(arch.n_params, np.nan)),
        tolerances={"grad_tol": grad_tol, "eig_margin": eig_margin, "away_tol": away_tol},
        checks=checks, certified=all(checks.values()), method=method,
    )


def _ro(arr):
    arr = np.array(arr, dtype=np.float64)
    arr.setflags(write=False)
    return arr


# ---------------------------------------------------------------------------------------
# The experiment behind the figure: the certificate and a 2-D slice of both landscapes
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LandscapeSliceConfig(ExperimentConfig):
    """Certify a new minimum (h = 1) and evaluate L and L_{ν_r} on the (w, a) plane through θ₀.

    The plane is θ = (w, b₀, a, c₀) with (b₀, c₀) those of θ₀ (both 0 at the defaults, by the
    odd symmetry of sin: the plane b = c = 0 is invariant under L and L_ν).

    Attributes
    ----------
    r, keep, center : the SBPA limit ν_r (``distance`` score)
    omega, noise : the ``sine-regression`` process (ω, s)
    starts, seed : the multi-start of :func:`certify_new_minimum`
    w_range, a_range : (float, float)
        The slice's extent.
    grid : int ≥ 3
        Points per axis.
    """

    r: float = 0.3
    keep: str = "lowest"
    center: float = 0.0
    omega: float = 5.0
    noise: float = 0.1
    starts: int = 32
    seed: int = 0
    w_range: tuple = (-10.0, 10.0)
    a_range: tuple = (-2.5, 2.5)
    grid: int = 121

    def __post_init__(self):
        check_r(self.r)
        check_choice("keep", self.keep, ("lowest", "highest"))
        check_real("center", self.center)
        check_real("omega", self.omega, low=0.0, low_open=True)
        check_real("noise", self.noise, low=0.0)
        check_int("starts", self.starts, low=1)
        check_int("seed", self.seed, low=0)
        check_int("grid", self.grid, low=3)
        for name in ("w_range", "a_range"):
            lo, hi = (check_real(name, v) for v in getattr(self, name))
            if not lo < hi:
                raise ValueError(f"{name} must be an increasing pair (lo, hi), got {getattr(self, name)!r}")
            object.__setattr__(self, name, (lo, hi))

    KIND = "landscape-slice"


@dataclass(frozen=True, eq=False)
class LandscapeSliceResult:
    """Result of :func:`run_landscape_slice`.

    Attributes
    ----------
    config : LandscapeSliceConfig
    certificate : NewMinimumCertificate
    w, a : ndarray, shape (grid,)
        The slice's axes.
    loss_mu, loss_nu : ndarray, shape (grid, grid)
        L and L_{ν_r} at (w[j], b₀, a[i], c₀): rows follow a, columns follow w.
    seconds : float
    path : Path or None
    """

    config: LandscapeSliceConfig
    certificate: NewMinimumCertificate
    w: np.ndarray
    a: np.ndarray
    loss_mu: np.ndarray
    loss_nu: np.ndarray
    seconds: float
    path: object = None




@one_blas_thread
def run_landscape_slice(config: LandscapeSliceConfig, results_dir=None) -> LandscapeSliceResult:
    """Certificate plus the two landscapes on the slice, through the store.

    One unit of work (``"all"``); the result file is ``results_dir/landscape-slice-<hash>.json``.
    """
    if not isinstance(config, LandscapeSliceConfig):
        raise TypeError(f"config must be a LandscapeSliceConfig, got {type(config).__name__}")

    def compute(unit, shared):
        process = make_process("sine-regression", omega=config.omega, noise=config.noise)
        cert = certify_new_minimum(process=process, r=config.r, keep=config.keep, center=config.center,
                                   starts=config.starts, rng=config.seed)
        arch = cert.arch
        rules = (quadrature_rule(process, 1.0),
                 quadrature_rule(process, config.r, keep=config.keep, center=config.center))
        w = np.linspace(*config.w_range, config.grid)
        a = np.linspace(*config.a_range, config.grid)
        theta = np.array(cert.theta0, dtype=np.float64)
        out = [np.empty((config.grid, config.grid)) for _ in rules]
        for i, ai in enumerate(a):
            for j, wj in enumerate(w):
                theta[0], theta[2] = wj, ai
                for grid_out, rule in zip(out, rules):
                    grid_out[i, j] = population_loss_grad(arch, theta, rule)[0]
        return {"certificate": cert.to_dict(), "w": w, "a": a, "loss_mu": out[0], "loss_nu": out[1]}

    def decode(raw):
        g = config.grid
        return {"certificate": _certificate_from(raw["certificate"]),
                "w": _stored("w", raw["w"], (g,)), "a": _stored("a", raw["a"], (g,)),
                "loss_mu": _stored("loss_mu", raw["loss_mu"], (g, g)),
                "loss_nu": _stored("loss_nu", raw["loss_nu"], (g, g))}

    record = Store(results_dir).run(config, units=("all",), compute=compute, decode_unit=decode,
                                    desc="landscape slice")
    done = record.units["all"]
    return LandscapeSliceResult(config, done["certificate"], done["w"], done["a"], done["loss_mu"], done["loss_nu"],
                                record.seconds, record.path)


register_runner(LandscapeSliceConfig, run_landscape_slice)

_CERTIFICATE_ARRAYS = ("theta0", "grad_mu", "hessian_nu_eigenvalues", "hessian_mu_eigenvalues", "theta_mu")


def _stored(name, value, shape, allow_nan=False):
    """A stored list as a read-only float array of ``shape`` (ValueError/TypeError otherwise)."""
    return _ro(check_array(name, value, shape=shape, allow_nan=allow_nan))


def _certificate_from(raw) -> NewMinimumCertificate:
    """A :class:`NewMinimumCertificate` from its :meth:`~NewMinimumCertificate.to_dict` form."""
    c = dict(raw)
    spec = c.pop("arch")
    arch = MLP(spec["d"], tuple(spec["hidden"]), spec["activation"], spec["loss"])
    fields = set(NewMinimumCertificate.__dataclass_fields__) - {"arch"}
    if set(c) != fields:
        raise KeyError(f"certificate has keys {sorted(c)}, expected {sorted(fields)}")
    for key in _CERTIFICATE_ARRAYS:
        c[key] = _stored(f"certificate.{key}", c[key], (arch.n_params,), allow_nan=key == "theta_mu")
    if not all(isinstance(c[k], dict) for k in ("process", "tolerances", "checks")):
        raise TypeError("certificate: process, tolerances and checks must be objects")
    if not isinstance(c["certified"], bool) or not all(isinstance(v, bool) for v in c["checks"].values()):
        raise TypeError("certificate: certified and checks must hold true or false")
    return NewMinimumCertificate(arch=arch, **c)


# Sizes of the experiment (the figure ``new_minima`` draws it); "tiny" exercises the one unit.
SIZES = {
    "tiny": dict(grid=3, starts=2),
    "small": dict(grid=41),
    "default": dict(grid=121),
    "full": dict(grid=201),
}


def configs(size: str) -> dict:
    return {"slice": LandscapeSliceConfig(**SIZES[size])}


register(Experiment("new_minima", "a certified new local minimum of L_nu_r that L does not have, and both "
                    "landscapes on a plane through it", ("C7",), configs, assemble=lambda results: results["slice"]))
