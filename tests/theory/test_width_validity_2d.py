"""Claim C7a on a 2-D classification process: width does not rescue label-free SBPA.

The population loss L(θ) = E_x[softplus(v) − P(y=1|x) v] and the Bayes risk E[H(P(y=1|x))] are
computed by a tensor Gauss–Legendre rule (:func:`theory_sim.models.network_population_2d.gaussian_rule_2d`), checked
here against scipy's adaptive quadrature (an independent computation) and by doubling its nodes.
"""

import numpy as np
import pytest
from scipy import integrate
from scipy.special import expit

from theory_sim.core.processes import make_process
from theory_sim.experiments.width_validity import ClassificationWidthConfig, WidthValidityConfig, run_width_validity_2d
from theory_sim.models.mlp import MLP
from theory_sim.models.network_population_2d import bayes_risk_2d, gaussian_rule_2d, population_ce_loss

_cache = {}


def _run(**kw):
    cfg = ClassificationWidthConfig(**kw)
    if cfg not in _cache:
        _cache[cfg] = run_width_validity_2d(cfg)
    return _cache[cfg]


def _entropy(p):
    return -(p * np.log(p) + (1 - p) * np.log1p(-p))


# ---------------------------------------------------------------------------------------
# The 2-D rule against independent computations
# ---------------------------------------------------------------------------------------
def test_bayes_risk_against_one_dimensional_scipy_quad():
    """gaussian-logistic: u = w*·x + b* ~ N(b*, ‖w*‖²) = N(0.5, 5), so E[H(σ(u))] is a 1-D integral
    (scipy.integrate.quad, adaptive, error ~1e-12): the 2-D rule must agree to 1e-9."""
    rule = gaussian_rule_2d(make_process("gaussian-logistic", d=2))
    mean, sd = 0.5, np.sqrt(5.0)
    want = integrate.quad(lambda z: _entropy(expit(mean + sd * z)) * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi),
                          -12, 12, epsabs=1e-13, epsrel=1e-13)[0]
    assert bayes_risk_2d(rule) == pytest.approx(want, abs=1e-9)
    assert rule.tail_mass < 1e-9  # e^{-6.5²/2} ≈ 7e-10 plus the box's outside, in closed form


def test_network_loss_against_scipy_dblquad():
    """A one-unit tanh net, v = a tanh(w·x + b) + c, on gaussian-logistic: the rule's L(θ) against
    scipy.integrate.dblquad of E[softplus(v) − σ(u) v] over the standard normal density on [−9, 9]²
    (tail mass < 1e-18; dblquad tolerance 1e-11)."""
    process = make_process("gaussian-logistic", d=2)
    arch = MLP(2, (1,), "tanh", "cross-entropy")
    theta = np.array([1.5, -0.7, 0.3, 2.0, -0.4])  # W1 = (1.5, −0.7), b1, a, c
    rule = gaussian_rule_2d(process)

    def f(x2, x1):
        v = 2.0 * np.tanh(1.5 * x1 - 0.7 * x2 + 0.3) - 0.4
        return (np.logaddexp(0.0, v) - expit(2 * x1 + x2 + 0.5) * v) * np.exp(-0.5 * (x1 * x1 + x2 * x2)) / (2 * np.pi)

    want = integrate.dblquad(f, -9, 9, -9, 9, epsabs=1e-11, epsrel=1e-11)[0]
    assert population_ce_loss(arch, theta, rule) == pytest.approx(want, abs=1e-8)


def test_mixture_rule_against_a_closed_form():
    """gaussian-mixture: E[x] = (2π − 1) m and E[x₁²] = m₁² + σ² in closed form; the rule's weights
    integrate them to 1e-8 (the box has 6.5 σ beyond each mean: the x² tail left out is ~1e-9) and
    sum to 1 − tail_mass."""
    process = make_process("gaussian-mixture", d=2)  # π = 0.5, m = (1, 0.5), σ = 1
    rule = gaussian_rule_2d(process)
    assert rule.weights.sum() + rule.tail_mass == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(rule.weights @ rule.x, [0.0, 0.0], atol=1e-10)
    assert rule.weights @ rule.x[:, 0] ** 2 == pytest.approx(1.0 + 1.0, abs=1e-8)
    assert rule.tail_mass < 1e-9
    np.testing.assert_allclose(rule.prob, expit(rule.x @ np.array([2.0, 1.0])), rtol=1e-15)


def test_tail_mass_in_closed_form():
    """On a small box [−2, 2]² no node is dropped, so tail_mass = µ(outside the box) =
    1 − (1 − 2Φ(−2))² (closed form), and the rule's weights integrate 1 over the box."""
    from scipy.stats import norm

    rule = gaussian_rule_2d(make_process("gaussian-logistic", d=2), radius=2.0)
    want = 1.0 - (1.0 - 2.0 * norm.cdf(-2.0)) ** 2
    assert rule.tail_mass == pytest.approx(want, rel=1e-12)
    assert rule.weights.sum() + rule.tail_mass == pytest.approx(1.0, abs=1e-12)


def test_doubling_the_nodes_changes_little():
    """The rule's error is measured by doubling the nodes per panel: the Bayes risk moves by < 1e-10."""
    process = make_process("gaussian-logistic", d=2)
    coarse, fine = gaussian_rule_2d(process), gaussian_rule_2d(process, nodes=16)
    assert abs(bayes_risk_2d(coarse) - bayes_risk_2d(fine)) < 1e-10


# ---------------------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------------------
SMALL = dict(n=1000, widths=(8, 128), restarts=2, max_iter=300, protocols=("random", "sbpa-centre", "sbpa-margin"))


def test_sbpa_excess_stays_above_random_at_the_largest_width():
    """Max over 2 restarts of L(θ̂) − min L at width 128: both SBPA variants ≥ 1.25 × random's.

    Measured (this config, seed 0): random 0.0525, centre 0.210 (ratio 4.0), margin 0.928
    (ratio 17.7). Over seeds 1–3 the ratios were 4.6/17.1, 4.5/2.2, 7.2/1.37: the 1.25 threshold
    held for every seed tried (the margin variant is the more variable one). The run itself is
    deterministic; the rule's error (≤ 1e-7) is far below the gaps.
    """
    res = _run(**SMALL)
    ex = res.excess().max(axis=2)
    p = {name: i for i, name in enumerate(res.config.protocols)}
    for sbpa in ("sbpa-centre", "sbpa-margin"):
        assert ex[p[sbpa], -1] >= 1.25 * ex[p["random"], -1], (sbpa, ex)
    assert res.quadrature_error < 1e-6 and res.tail_bound < 1e-6
    assert np.all(res.excess() > -1e-9)  # L ≥ min L: the Bayes risk is a lower bound


def test_negative_control_nothing_pruned():
    """r = 1: SBPA keeps every point (in another order), so it trains to random's network up to
    the rounding of the sums' order: the excesses agree to 1e-6 (no SBPA effect to see)."""
    res = _run(n=300, r=1.0, widths=(8,), restarts=1, max_iter=100,
               protocols=("random", "sbpa-centre", "sbpa-margin"))
    ex = res.excess()
    np.testing.assert_allclose(ex[1:], np.broadcast_to(ex[0], ex[1:].shape), atol=1e-6)


def test_sine_regression_defaults_unchanged():
    """The sine-regression config's defaults (and so its result files' hash) are untouched."""
    cfg = WidthValidityConfig()
    assert (cfg.n, cfg.widths, cfg.restarts, cfg.max_iter, cfg.protocols) == (
        2000, (4, 16, 64, 256, 512), 3, 2000, ("random", "ec", "sbpa-centre", "sbpa-boundary"))


@pytest.mark.parametrize("kw, match", [
    (dict(process="sine-regression"), r"process must be one of 'gaussian-logistic', 'gaussian-mixture'"),
    (dict(protocols=("random", "sbpa-hard")), r"protocol must be one of .*; got 'sbpa-hard'"),
    (dict(protocols=()), r"protocols must list at least one protocol"),
    (dict(widths=(4, 0)), r"width must be an integer in \[1, inf\], got 0"),
    (dict(n=3, r=0.3), r"n=3 is too small for r=0.3"),
    (dict(alpha=1.0), r"alpha must be in \[0.0, 1.0\), got 1.0"),
    (dict(check_restarts=-1), r"check_restarts must be an integer in \[0, inf\], got -1"),
])
def test_config_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        ClassificationWidthConfig(**kw)


def test_rule_validation():
    with pytest.raises(ValueError, match="process must be one of .* with d = 2"):
        gaussian_rule_2d(make_process("sine-regression"))
    with pytest.raises(ValueError, match="process must be one of .* with d = 2"):
        gaussian_rule_2d(make_process("gaussian-logistic", d=3))
    with pytest.raises(ValueError, match=r"nodes must be an integer in \[2, inf\], got 1"):
        gaussian_rule_2d(nodes=1)
    with pytest.raises(ValueError, match="arch must be an MLP with d = 2 and loss 'cross-entropy'"):
        population_ce_loss(MLP(2, (3,)), np.zeros(13), gaussian_rule_2d())
    with pytest.raises(TypeError, match="config must be a ClassificationWidthConfig"):
        run_width_validity_2d(None)
