r"""Claims with no exact check (C2, C3, C4, C7, C8): where their numeric tests live, and a quick number.

Each check returns ``passed = None`` (verdict ``'numeric-only'``) with evidence naming the
Monte Carlo test of ``theory_sim`` that checks the claim and, where it is cheap, a
number from ``theory_sim.population_limits`` (quadrature, independent of the Monte Carlo
engine) that the claim predicts. If that quick number contradicts the claim — e.g. Δ_∞ = 0 for
SBPA — the check returns ``False`` (``'fail'``): "numeric-only" means "no proof here", not "no
check at all".

* C2: Δ_∞ = max over the net W of |L_{ν_r} − L| > 0 for SBPA (default config: margin,
  gaussian-logistic d = 2, r = 0.1).
* C3: Δ_∞ = 0 for random pruning (ν = µ), exactly by construction.
* C4: SBPA with margin keeps the minimiser (θ_ν = θ*, V_∞ = 0); EL2N keep-highest in d = 1,
  r = 0.3 moves it (θ_ν ≠ θ*, V_∞ = L(θ_ν) − min L > 0); see also C5/C6.
* C7: the certificate of a new local minimum of L_{ν_r} (``theory_sim.experiments.new_minima``, issue #4):
  ∇L_{ν_r}(θ₀) ≈ 0 with a positive definite Hessian, while ‖∇L(θ₀)‖ is bounded away from 0.
* C8: the SBPA plateau V_∞ and the crossover n*(r) of the scaling-law experiment, predicted by
  quadrature (``theory_sim.experiments.scaling_laws``); the numeric tests compare them with simulation.
"""

from __future__ import annotations

import numpy as np

from theory_sim.experiments.new_minima import certify_new_minimum

__all__ = ["check_c2", "check_c3", "check_c4", "check_c7", "check_c8"]

TEST_FILE = "tests/theory/test_montecarlo_claims.py"


def _limits(**kw):
    import theory_sim as ts

    return ts.population_limits(ts.MonteCarloConfig(**kw))


def check_c2():
    """C2: Δ_∞ of SBPA (margin, default config) by quadrature; numeric test named."""
    lim = _limits(protocol="sbpa", score="margin", r=0.1, d=2)
    ev = {
        "numeric_tests": f"{TEST_FILE}::test_sbpa_margin_is_valid_but_not_consistent, "
                         f"{TEST_FILE}::test_sbpa_label_dependent_is_not_valid",
        "config": "gaussian-logistic d=2, margin, sbpa, r=0.1, net 256 points, |theta| <= 6",
        "delta_inf_quadrature": float(lim.delta_inf),
        "summary": f"Delta_inf = {lim.delta_inf:.6f} > 0 (quadrature, default config); MC test named",
    }
    return (None if lim.delta_inf > 0 else False), ev


def check_c3():
    """C3: Δ_∞ = 0 for random pruning (ν = µ); numeric test named."""
    lim = _limits(protocol="random", r=0.1, d=2)
    ev = {
        "numeric_tests": f"{TEST_FILE}::test_random_and_ec_are_consistent_at_rate_root_n",
        "delta_inf_random": float(lim.delta_inf),
        "summary": f"Delta_inf = {lim.delta_inf:g} for random (nu = mu); slope -1/2 checked by the MC test",
    }
    return (None if lim.delta_inf == 0.0 else False), ev


def check_c4():
    """C4: θ_ν = θ* and V_∞ = 0 for margin; θ_ν ≠ θ* and V_∞ > 0 for EL2N keep-highest (quadrature)."""
    valid = _limits(protocol="sbpa", score="margin", r=0.1, d=2)
    invalid = _limits(protocol="sbpa", score="el2n", keep="highest", r=0.3, d=1)
    moved = float(np.linalg.norm(invalid.theta_nu - invalid.theta_star))
    kept = float(np.linalg.norm(valid.theta_nu - valid.theta_star))
    ev = {
        "numeric_tests": f"{TEST_FILE}::test_sbpa_margin_is_valid_but_not_consistent, "
                         f"{TEST_FILE}::test_sbpa_label_dependent_is_not_valid",
        "margin_d2_r0.1_|theta_nu-theta_star|": kept,
        "margin_d2_r0.1_v_inf": float(valid.v_inf),
        "el2n_highest_d1_r0.3_theta_nu": str(np.round(invalid.theta_nu, 6).tolist()),
        "el2n_highest_d1_r0.3_|theta_nu-theta_star|": moved,
        "el2n_highest_d1_r0.3_v_inf": float(invalid.v_inf),
        "summary": f"margin: theta_nu = theta* (|diff| {kept:.0e}), V_inf = {valid.v_inf:.0e}; el2n keep-highest: "
                   f"|theta_nu - theta*| = {moved:.3f}, V_inf = {invalid.v_inf:.4f}",
    }
    consistent = kept < 1e-4 and valid.v_inf < 1e-8 and moved > 0.1 and invalid.v_inf > 0
    return (None if consistent else False), ev


def check_c7():
    """C7: the certified new local minimum of ``theory_sim.experiments.new_minima`` (quadrature), and its tests."""
    cert = certify_new_minimum()
    ev = {
        "numeric_tests": "tests/theory/test_new_minimum.py::test_certificate_of_a_new_local_minimum, "
                         "tests/theory/test_new_minimum.py::test_c7a_sbpa_stays_invalid_as_width_grows",
        "setting": "sine-regression, distance score keeping the centre, r=0.3, v(x) = a tanh(w x + b) + c",
        "certified": bool(cert.certified),
        "grad_L_nu_norm": float(cert.grad_nu_norm),
        "hessian_L_nu_min_eig": float(cert.hessian_nu_eigenvalues[0]),
        "grad_L_norm": float(cert.grad_mu_norm),
        "validity_gap": float(cert.validity_gap),
        "summary": f"certified new minimum of L_nu: |grad L_nu| {cert.grad_nu_norm:.0e}, min eig "
                   f"{cert.hessian_nu_eigenvalues[0]:.2e} > 0, |grad L| {cert.grad_mu_norm:.3f}, "
                   f"gap {cert.validity_gap:.3f} (theory_sim.experiments.new_minima)",
    }
    ok = cert.certified and cert.grad_mu_norm > 0.1 and cert.validity_gap > 0
    return (None if ok else False), ev


def check_c8():
    """C8: no exact check; the scaling-law prediction by quadrature and the tests that compare it with simulation."""
    from theory_sim.experiments.scaling_laws import ScalingLawConfig, predicted_crossover
    from theory_sim.models.polynomial import predicted_plateau

    cfg = ScalingLawConfig()
    plateaus = {f"V_inf r={r:g}": predicted_plateau("sbpa-hard", r, omega=cfg.omega, noise=cfg.noise,
                                                    degree=cfg.degree) for r in cfg.rs}
    crossings = {f"predicted n* r={r:g}": predicted_crossover(cfg, r)[1] for r in cfg.rs}
    tests = ("test_limit_minimisers_and_plateaus_match_closed_forms", "test_random_and_ec_decay_like_one_over_n",
             "test_sbpa_plateaus_at_the_predicted_value", "test_crossover_is_measured_near_its_prediction")
    ev = {"numeric_tests": ", ".join(f"tests/theory/test_scaling_laws.py::{name}" for name in tests),
          "setting": f"least-squares line on sine-regression (omega={cfg.omega:g}, s={cfg.noise:g}), distance score, "
                     "SBPA keep-hard = the boundary",
          **plateaus, **crossings,
          "summary": "no symbolic check: the plateau V_inf and n*(r) are predicted by quadrature "
                     "(theory_sim.models.polynomial) and compared with simulation in the numeric tests"}
    ok = all(v > 0 for v in plateaus.values())
    return (None if ok else False), ev
