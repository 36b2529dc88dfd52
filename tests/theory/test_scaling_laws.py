"""Claim C8 (scaling laws): SBPA plateaus, random pruning decays like n^{-1}, and they cross at n*(r).

Model: a least-squares line on sine-regression (ω = 1, s = 0.5), label-free ``distance`` score.
Numbers asserted come from closed forms (the elementary integrals of x sin ωx and x²), from an
independent scipy.integrate.quad computation, or from statistical tests whose design
false-failure rate (seed-free) is stated at each assertion.
"""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from theory_sim.experiments import scaling_laws as scaling
from theory_sim.experiments.scaling_laws import ScalingLawConfig, default_ns, run_scaling_laws, summary
from theory_sim.models.polynomial import limit_minimiser, population_minimiser, predicted_excess, predicted_plateau
from theory_sim.stats import fit_power_law

OMEGA, NOISE = 1.0, 0.5
RS = (0.1, 0.2, 0.3)


# ---------------------------------------------------------------------------------------
# Closed forms for the line f_w(x) = w_0 + w_1 x (Legendre P_0 = 1, P_1 = x)
# ---------------------------------------------------------------------------------------
def _int_x_sin(a, b, w=OMEGA):
    """∫_a^b t sin(ωt) dt = [sin(ωt)/ω² − t cos(ωt)/ω]_a^b."""
    def prim(t):
        return math.sin(w * t) / w**2 - t * math.cos(w * t) / w
    return prim(b) - prim(a)


def _int_x2(a, b):
    return (b**3 - a**3) / 3.0


def _slope_closed(regions):
    """Slope of the limit line for a law of |x| that is a mixture of uniform laws on intervals of [0, 1].

    ``regions``: list of (weight, a, b) — probability ``weight`` spread uniformly on a ≤ |x| ≤ b.
    The law is symmetric in x, so E[x] = E[sin ωx] = 0: the intercept is 0 and the slope is
    E[x sin ωx] / E[x²].
    """
    num = sum(wt / (b - a) * _int_x_sin(a, b) for wt, a, b in regions)
    den = sum(wt / (b - a) * _int_x2(a, b) for wt, a, b in regions)
    return num / den


B_MU = 3.0 * (math.sin(OMEGA) - OMEGA * math.cos(OMEGA)) / OMEGA**2  # E[x sin ωx]/E[x²] under U[-1, 1]


def test_population_minimiser_and_min_loss_match_closed_forms():
    w_mu, min_loss, h_mu = population_minimiser(OMEGA, NOISE, 1)
    # E sin²(ωx) = 1/2 − sin(2ω)/(4ω); min L = ½ (E sin² − b_µ² E x²) + s²/2, E x² = 1/3.
    e_sin2 = 0.5 - math.sin(2 * OMEGA) / (4 * OMEGA)
    np.testing.assert_allclose(w_mu, [0.0, B_MU], rtol=0, atol=1e-14)
    np.testing.assert_allclose(min_loss, 0.5 * (e_sin2 - B_MU**2 / 3) + 0.5 * NOISE**2, rtol=1e-13)
    np.testing.assert_allclose(h_mu, np.diag([1.0, 1.0 / 3.0]), rtol=0, atol=1e-14)


@pytest.mark.parametrize("r", RS)
def test_limit_minimisers_and_plateaus_match_closed_forms(r):
    alpha = 0.5
    cases = {
        "sbpa-hard": [(1.0, 1.0 - r, 1.0)],  # ν_r: |x| uniform on [1 − r, 1]
        "sbpa-easy": [(1.0, 0.0, r)],  # ν_r: |x| uniform on [0, r]
        # AC: mass α on A_{αr} = {|x| ≥ 1 − αr}, 1 − α on the rest (density 1/r and (1−α)/(1−αr))
        "ac": [(alpha, 1.0 - alpha * r, 1.0), (1.0 - alpha, 0.0, 1.0 - alpha * r)],
        "random": [(1.0, 0.0, 1.0)],
        "ec": [(1.0, 0.0, 1.0)],
    }
    for protocol, regions in cases.items():
        slope = _slope_closed(regions)
        w = limit_minimiser(protocol, r, omega=OMEGA, noise=NOISE, degree=1, alpha=alpha)
        np.testing.assert_allclose(w, [0.0, slope], rtol=0, atol=1e-13, err_msg=protocol)
        # L(w) − min L = ½ (w − w_µ)ᵀ diag(1, 1/3) (w − w_µ) = (slope − b_µ)²/6 for an intercept 0
        v = predicted_plateau(protocol, r, omega=OMEGA, noise=NOISE, degree=1, alpha=alpha)
        np.testing.assert_allclose(v, (slope - B_MU) ** 2 / 6.0, rtol=1e-10, atol=1e-17, err_msg=protocol)
    assert predicted_plateau("sbpa-hard", r, omega=OMEGA, noise=NOISE) > 1e-5  # SBPA is not valid here (C4)


def test_random_variance_constant_matches_independent_quadrature():
    # E[L(ŵ)] − min L ≈ ½ tr(H_µ⁻¹ S_µ)/k for k i.i.d. points; with u = sin ωx − b_µ x,
    # S_µ = E[φφᵀ (u² + s²)], H_µ = diag(1, 1/3): ½ (E[u² + s²] + 3 E[x² (u² + s²)]).
    # Computed here independently with scipy.integrate.quad.
    def u2(x):
        return (math.sin(OMEGA * x) - B_MU * x) ** 2 + NOISE**2
    e0 = integrate.quad(lambda x: 0.5 * u2(x), -1, 1, epsabs=1e-14)[0]
    e2 = integrate.quad(lambda x: 0.5 * x * x * u2(x), -1, 1, epsabs=1e-14)[0]
    pred = predicted_excess("random", 0.1, 10_000, omega=OMEGA, noise=NOISE)
    assert pred.k == 1000 and pred.plateau == 0.0
    np.testing.assert_allclose(pred.variance * pred.k, 0.5 * (e0 + 3 * e2), rtol=1e-10)


def test_quadrature_is_exact_to_rounding():
    cfg = ScalingLawConfig(ns=(1000, 2000, 4000), replications=2)
    assert scaling.quadrature_check(cfg) < 1e-13  # doubling the nodes changes nothing beyond rounding


# ---------------------------------------------------------------------------------------
# The experiment: one run shared by the statistical tests
# ---------------------------------------------------------------------------------------
# n from 10² to 10⁵ (3 per decade) plus 10^5.5, so the last decade holds 3 points and the SBPA
# plateau is reached (predicted n* ≈ 2·10³); 30 replications.
TEST_CONFIG = ScalingLawConfig(omega=OMEGA, noise=NOISE, ns=default_ns(100, 10**5, 3) + (316_228,),
                               protocols=("random", "sbpa-hard", "sbpa-easy", "ec"), replications=30, seed=1)
LEVEL = 0.999  # every CI below is two-sided at 99.9%: a 0.1% design false-failure rate per assertion


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    result = run_scaling_laws(TEST_CONFIG, results_dir=tmp_path_factory.mktemp("scaling"))
    return result, summary(result, level=LEVEL, boot=400)


@pytest.mark.slow
@pytest.mark.parametrize("r", RS)
def test_random_and_ec_decay_like_one_over_n(run, r):
    _, summ = run
    for protocol in ("random", "ec"):
        fit = summ[r][protocol]["fit"]  # the n with ⌊r n⌋ ≥ 100 (finite-k bend ≲ 3%, slope bias ≲ 0.01)
        # Exponent −1: the sandwich expansion (theory); 99.9% Birge-inflated CI, FFR ≈ 0.1% each.
        assert fit.ci_low <= -1.0 <= fit.ci_high, (protocol, fit)
        assert fit.ci_high < -0.5, (protocol, fit)  # decays: far from a plateau (slope 0)


@pytest.mark.slow
@pytest.mark.parametrize("r", RS)
def test_sbpa_plateaus_at_the_predicted_value(run, r):
    result, summ = run
    entry = summ[r]["sbpa-hard"]
    pl = entry["plateau"]
    last = result.excess[result.index(r, "sbpa-hard")][-1]
    se = last.std(ddof=1) / math.sqrt(last.size)
    t = stats.t.ppf(0.5 + LEVEL / 2, last.size - 1)
    # The prediction at this n (V_∞ plus its O(1/n) terms) lies within 3% of V_∞ (quadrature).
    assert abs(pl.predicted_at_n / pl.predicted_limit - 1.0) < 0.03
    # t-test of the mean excess against V_∞, allowing the deterministic O(1/n) gap: FFR ≤ 0.1%.
    assert abs(pl.mean - pl.predicted_limit) <= t * se + abs(pl.predicted_at_n - pl.predicted_limit), pl
    # Local slope over the last decade ≈ 0: its 99.9% CI holds the slope of the predicted curve
    # on the same window (≈ −0.05) and excludes −1/2 (FFR ≈ 0.1% each; 0 of 60 failed over 20 seeds).
    tail = entry["tail"]
    i, p = result.index(r, "sbpa-hard")
    window = np.asarray(TEST_CONFIG.ns) >= tail.n_min
    pred_slope = np.polyfit(np.log(np.asarray(TEST_CONFIG.ns)[window]), np.log(result.predicted[i, p, window]), 1)[0]
    assert tail.ci_low <= pred_slope <= tail.ci_high, (tail, pred_slope)
    assert tail.ci_low > -0.5, tail


@pytest.mark.slow
@pytest.mark.parametrize("r", RS)
def test_crossover_is_measured_near_its_prediction(run, r):
    _, summ = run
    hard = summ[r]["sbpa-hard"]["crossover"]
    assert hard.predicted_status == "crossover" and 100 < hard.predicted_n_star < 316_228
    assert hard.status == "crossover", hard
    # Within a factor 4 of the prediction. Over 20 seeds of this config, log(n*/n*_pred) had mean
    # ≈ 0.05 and standard deviation ≈ 0.45 (pooled over r), so a factor 4 (ln 4 = 1.39) is ≈ 3.1
    # standard deviations: FFR ≈ 0.2% per r under a normal approximation (0 of 60 failed).
    assert 1 / 4 < hard.n_star / hard.predicted_n_star < 4, hard
    # Keep-easy never wins for a line (the centre is the worst design for a slope): predicted
    # and measured. Its mean is ≥ 3× random's at every n of the grid (FFR ≈ 0 at 30 replications).
    easy = summ[r]["sbpa-easy"]["crossover"]
    assert easy.predicted_status == "never-better" and easy.status == "never-better", easy


# ---------------------------------------------------------------------------------------
# Power-law fit, config validation, reproducibility
# ---------------------------------------------------------------------------------------
def test_power_law_fit_recovers_a_known_exponent():
    rng = np.random.default_rng(0)
    ns = np.array([1e2, 1e3, 1e4, 1e5])
    # Exponential noise around 2 n^{-0.7}: the mean is exact, the spread is the replications'.
    excess = 2.0 * ns[:, None] ** -0.7 * rng.exponential(size=(4, 400))
    fit = fit_power_law(ns, excess, level=0.999)
    assert fit.ci_low <= -0.7 <= fit.ci_high  # FFR 0.1% (99.9% CI)
    assert fit.ci_high - fit.ci_low < 0.1
    with pytest.raises(ValueError, match="fit window"):
        fit_power_law(ns, excess, n_min=1e4)


@pytest.mark.parametrize("kwargs, name", [
    (dict(omega=0.0), "omega"), (dict(noise=-1.0), "noise"), (dict(degree=-1), "degree"),
    (dict(model="mlp"), "model"), (dict(rs=(0.1, 1.0)), "r"), (dict(rs=()), "rs"),
    (dict(ns=(100, 50, 1000)), "ns"), (dict(ns=(100, 1000)), "ns"), (dict(ns=(20, 100, 1000)), "ns\\[0\\]"),
    (dict(protocols=("random", "keep-all")), "protocol"), (dict(protocols=()), "protocols"),
    (dict(alpha=1.0), "alpha"), (dict(replications=1), "replications"), (dict(seed=-1), "seed"),
])
def test_config_validation_names_the_parameter(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        ScalingLawConfig(**kwargs)


SMALL = ScalingLawConfig(ns=(100, 200, 400, 800), rs=(0.1, 0.3), replications=3, seed=7)


def test_same_seed_same_numbers_and_no_dependence_on_the_grid():
    a = run_scaling_laws(SMALL)
    b = run_scaling_laws(SMALL)
    np.testing.assert_array_equal(a.excess, b.excess)
    # A config with fewer n, r and protocols reproduces its cells exactly (seeds are keyed by n, r, protocol).
    sub = ScalingLawConfig(ns=(200, 400, 800), rs=(0.3,), protocols=("ec", "sbpa-hard"), replications=3, seed=7)
    c = run_scaling_laws(sub)
    for p, protocol in enumerate(sub.protocols):
        np.testing.assert_array_equal(c.excess[0, p], a.excess[a.index(0.3, protocol)][1:])
    other = run_scaling_laws(ScalingLawConfig(ns=SMALL.ns, rs=SMALL.rs, replications=3, seed=8))
    assert not np.array_equal(other.excess, a.excess)
