"""Claim C1 through the experiment that the CLI and the figure use (``run_limit``).

SBPA's kept sample approaches ν_r at rate n^{-1/2} and stays away from µ; g_(k) → q_r.
Statistical tests with fixed seeds; each criterion is stated with its design false-failure
rate (the probability of failing on a correct implementation for a random seed).
"""

import numpy as np
import pytest
from scipy import stats

import theory_sim as ts


@pytest.fixture(scope="module")
def sbpa():
    cfg = ts.LimitConfig(process="gaussian-logistic", score="margin", r=0.1, ns=(1_000, 10_000, 100_000), reps=6,
                         seed=11)
    return ts.run_limit(cfg, progress=False)


def _slope_se(fit, dof):
    return (fit.ci_high - fit.slope) / stats.t.ppf(0.975, dof)


def test_gap_to_nu_r_shrinks_like_root_n(sbpa):
    """|slope + 1/2| ≤ t_{0.9995} · se: false-failure rate 0.1% at the design level."""
    fit = sbpa.fit_limit
    dof = len(sbpa.config.ns) * sbpa.config.reps - 2
    se = _slope_se(fit, dof)
    assert abs(fit.slope + 0.5) <= stats.t.ppf(0.9995, dof) * se, fit


def test_gap_to_mu_is_flat_and_large(sbpa):
    """Negative control: the same kept points measured against µ do not converge.

    Level: the population gap D = max_j |E_ν φ_j − E_µ φ_j| of this case (gaussian-logistic d = 2,
    margin, keep lowest, r = 0.1) is ≈ 0.63 (tests/theory/test_limit_sampler.py: 10^6-draw samples
    of each law, Hoeffding error ≤ 2·√(2 log(2·64/1e-6)/10^6) = 0.012). At n = 10^5 (k = 10^4,
    target m = 2·10^5) the kept sample's noise is ≤ √(2 log(2·64/δ)/k) + √(2 log(2·64/δ)/m) =
    0.075 and its law differs from ν_r by 2 TV ≤ 2 · 4.5 √(r(1 − r)/n)/r = 0.085 (the derivation
    of test_limit_sampler's C1 test, δ = 1e-6 per function), so gap_mu ≥ 0.63 − 0.012 − 0.075 −
    0.085 > 0.45 except with probability ~1e-5.

    Slope: a consistent protocol has slope −1/2 (test_gap_to_nu_r_shrinks_like_root_n). Here the
    fitted slope must exceed −1/2 by t_{0.9995}·se: this fails only if the slope estimate comes
    within ~3.7 se of −1/2, while its value is ≈ 0 with se ≈ 0.002 (seed 11), ~270 se away.
    """
    last = sbpa.rows[-1]
    assert last.n == 100_000 and last.gap_mu >= 0.45, last
    fit = sbpa.fit_mu
    dof = len(sbpa.config.ns) * sbpa.config.reps - 2
    assert fit.slope + 0.5 > stats.t.ppf(0.9995, dof) * _slope_se(fit, dof), fit


def test_threshold_converges_to_q_r(sbpa):
    """|g_(k) − q_r| ≤ 4.5 · sd(g_(k))/√reps at every n (false failure ≈ 7e-6 per n under normality).

    sd(g_(k)) ≈ √(r(1 − r)/n) / f(q_r) (the asymptotic law of an order statistic): ts.threshold_sd, with f the
    density of the margin at q_r from the exact CDF, by central differences.
    """
    mu = ts.make_process("gaussian-logistic", d=2)
    score = ts.make_score("margin", mu)
    q = sbpa.quantile.value
    r = sbpa.config.r
    for row in sbpa.rows:
        sd = ts.threshold_sd(mu, score, r, row.n)
        assert abs(row.threshold - q) <= 4.5 * sd / np.sqrt(sbpa.config.reps), row


def test_threshold_sd_is_the_order_statistics_law():
    """threshold_sd against the folded normal's density in closed form: margin = |w·x + b| with w·x + b ~
    N(b, |w|²) on gaussian-logistic, so f(q) = (φ((q − b)/s) + φ((q + b)/s))/s. Central differences of step
    1e-5 are exact to ~1e-10 relative; 1e-7 is asserted."""
    mu = ts.make_process("gaussian-logistic", d=2)
    score = ts.make_score("margin", mu)
    s, b = float(np.linalg.norm(mu.w_star)), float(mu.b_star)  # the margin is |w*·x + b*| (reference: the truth)
    for r, keep in ((0.1, "lowest"), (0.3, "highest")):
        q = ts.score_quantile(mu, score, r, keep=keep).value
        f = (stats.norm.pdf((q - b) / s) + stats.norm.pdf((q + b) / s)) / s
        np.testing.assert_allclose(ts.threshold_sd(mu, score, r, 1000, keep=keep), np.sqrt(r * (1 - r) / 1000) / f,
                                   rtol=1e-7)
    assert ts.threshold_sd(mu, ts.make_score("grand", mu), 0.1, 1000) is None  # no exact law: no density
    with pytest.raises(ValueError, match="n must be"):
        ts.threshold_sd(mu, score, 0.1, 0)


def test_c1_threshold_verdict_and_its_control():
    """C1's threshold test (theory_sim.claims, docs/theory.md): the mean over n of (g_(k) − q_r)/sd_n within
    ±0.5 (TOST, 90% interval). With 30 replications at 3 sizes its standard error is ≈ √(3/30)/3 = 0.105 and
    t_{87, 0.95}·se ≈ 0.175, so the right world is 'supported' unless |estimate| > 0.325 (≈ 3.1 se: false
    failure ≈ 0.2%), and q_r shifted by one sd_n (estimate − 1) is 'not supported' unless estimate > 0.325
    (≈ 0.1% false failure). The targets are small (the gaps are not read here)."""
    from theory_sim.claims import THRESHOLD_MARGIN, _evidence_limit
    from theory_sim.experiments.limit import threshold_error

    cfg = ts.LimitConfig(r=0.1, ns=(1_000, 3_000, 10_000), reps=30, n_target=1_000, seed=13)
    res = ts.run_limit(cfg, progress=False)
    z = threshold_error(res)
    assert z.dof == 3 * 29 and abs(z.estimate) < 0.325 and z.stderr < 0.13, z
    assert threshold_error(res, shift=1.0).estimate == pytest.approx(z.estimate - 1.0)
    c1 = _evidence_limit((None, {"sbpa": res}))["C1"]
    test = next(t for t in c1["tests"] if t["name"].startswith("g_(k)"))
    assert test["verdict"] == "supported" and test["margin"] == THRESHOLD_MARGIN, test
    control = next(c for c in c1["controls"] if c["world"].startswith("q_r shifted"))
    assert control["verdict"] == "not supported", control
    # random pruning has no threshold to test
    assert threshold_error(ts.run_limit(ts.LimitConfig(r=0.1, protocol="random", ns=(1_000,), reps=2,
                                                       n_target=1_000), progress=False)) is None


def test_random_pruning_reaches_mu():
    """Random pruning: its limit is µ, so the gap to µ shrinks like n^{-1/2} (0.1% false failure)."""
    res = ts.run_limit(ts.LimitConfig(r=0.1, protocol="random", ns=(1_000, 10_000, 100_000), reps=6, seed=12),
                       progress=False)
    dof = 3 * 6 - 2
    assert abs(res.fit_mu.slope + 0.5) <= stats.t.ppf(0.9995, dof) * _slope_se(res.fit_mu, dof)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="ns must list at least one"):
        ts.LimitConfig(ns=())
    with pytest.raises(ValueError, match="strictly increasing"):
        ts.LimitConfig(ns=(1000, 100))
    with pytest.raises(ValueError, match="too small"):
        ts.LimitConfig(r=0.1, ns=(5,))
    with pytest.raises(ValueError, match="alpha is required"):
        ts.LimitConfig(protocol="ac")
    with pytest.raises(ValueError, match="alpha must be in"):
        ts.LimitConfig(protocol="ec", alpha=1.0)
    with pytest.raises(TypeError, match="config must be a LimitConfig"):
        ts.run_limit({"r": 0.1})
