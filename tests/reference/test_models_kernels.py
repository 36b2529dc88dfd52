"""Model kernels against their numpy twins, bitwise; softplus/sigmoid against exact references.

- ``softplus_nb``/``sigmoid_nb`` (numba) vs ``softplus_np``/``sigmoid_np``: bitwise on every
  kind of float64 (random bit patterns included, so every exponent, ±0, ±inf, NaN and
  subnormals are hit);
- the stated error bounds (``SOFTPLUS_REL_ERROR``, ``SIGMOID_REL_ERROR``,
  ``SUBNORMAL_ABS_ERROR``) against ``np.logaddexp``/``scipy.special.expit`` on a dense grid of
  [−800, 800] plus extremes, and against a 40-digit ``mpmath`` reference;
- ``net_losses`` and the fit's objective kernel vs their numpy twins, bitwise, and with 1
  vs 2 numba threads in the same process.
"""

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import expit

from theory_sim.numerics import softplus as sp
from theory_sim.models.fit import fit_weighted
from theory_sim.models.linear import (
    FIT_CHUNK,
    NET_BLOCK,
    NET_REFERENCE_CHUNK,
    _objective,
    _objective_reference,
    make_model,
    net_losses,
    net_losses_reference,
)

TINY = np.finfo(np.float64).tiny  # smallest normal number
U52 = 2.0**-52


def _bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


def _assert_bitwise(got, want):
    """Same float64 bit patterns (stricter than assert_array_equal: −0.0 ≠ 0.0, NaN payloads)."""
    np.testing.assert_array_equal(_bits(got), _bits(want))


def _adversarial_u():
    rng = np.random.default_rng(20240607)
    ln2 = np.log(2.0)
    special = [
        0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e300, np.finfo(float).max, -np.finfo(float).max,
        5e-324, -5e-324, TINY, -TINY, 1e-20, -1e-20, 36.7, -36.7, 709.78, -708.4, -708.39, -744.44, -744.45,
        -745.13, -745.14, -746.0, -746.0000001, -800.0, 0.5 * ln2, -0.5 * ln2, np.nextafter(0.5 * ln2, 1),
    ]  # fmt: skip
    halves = np.arange(-2160, 2161) * (0.5 * ln2)  # the points where n = round(t/ln 2) switches
    near_halves = np.concatenate([np.nextafter(halves, np.inf), np.nextafter(halves, -np.inf)])
    random_bits = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, 200_000, dtype=np.int64)
    return np.concatenate([
        special, halves, near_halves, random_bits.view(np.float64),
        rng.standard_normal(50_000) * 30, rng.uniform(-750, -700, 20_000),
    ])  # fmt: skip


# ---------------------------------------------------------------------------------------
# Constants are reproducible
# ---------------------------------------------------------------------------------------
def test_constants_are_rederived_bit_for_bit():
    c = sp.derive_constants()
    assert c["inv_ln2"] == sp.INV_LN2
    assert c["ln2_hi"] == sp.LN2_HI and c["ln2_lo"] == sp.LN2_LO
    assert c["shift"] == sp.SHIFT and c["shift_bits"] == sp.SHIFT_BITS
    assert c["exp_coeffs"] == sp.EXP_C and len(sp.EXP_C) == sp.EXP_DEGREE + 1
    assert c["atanh_coeffs"] == sp.ATANH_C and len(sp.ATANH_C) == sp.ATANH_DEGREE + 1
    # The degrees are the smallest that keep the truncation below 2^-56 (1/8 of the unit roundoff).
    assert c["exp_truncation"] < 2.0**-56 and c["atanh_truncation"] < 2.0**-56
    assert sp.LN2_HI.hex() == "0x1.62e42fee00000p-1"  # fdlibm's ln2_hi


def test_economise_is_exact_on_a_known_case():
    # x^3 on [-1, 1] = (3 T_1 + T_3)/4: dropping T_3 leaves 3x/4, with bound 1/4.
    from fractions import Fraction as F

    coeffs, dropped = sp.economise([F(0), F(0), F(0), F(1)], F(0), F(1), 2)
    assert coeffs == [F(0), F(3, 4), F(0)] and dropped == F(1, 4)


# ---------------------------------------------------------------------------------------
# softplus / sigmoid: twins
# ---------------------------------------------------------------------------------------
def test_softplus_twins_bitwise_adversarial():
    u = _adversarial_u()
    _assert_bitwise(sp.softplus_nb_array(u), sp.softplus_np(u))
    _assert_bitwise(sp.sigmoid_nb_array(u), sp.sigmoid_np(u))


@given(hnp.arrays(np.float64, st.integers(1, 64), elements=st.floats(allow_nan=True, allow_infinity=True)))
def test_softplus_twins_bitwise_hypothesis(u):
    _assert_bitwise(sp.softplus_nb_array(u), sp.softplus_np(u))
    _assert_bitwise(sp.sigmoid_nb_array(u), sp.sigmoid_np(u))


def test_nan_in_nan_out_and_limits():
    u = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e300, -1e300])
    for fn in (sp.softplus_np, sp.softplus_nb_array):
        s = fn(u)
        assert np.isnan(s[0]) and s[1] == np.inf and s[2] == 0.0 and s[5] == 1e300 and s[6] == 0.0
        assert s[3] == s[4] == np.log(2.0)
    for fn in (sp.sigmoid_np, sp.sigmoid_nb_array):
        s = fn(u)
        assert np.isnan(s[0]) and s[1] == 1.0 and s[2] == 0.0 and s[3] == s[4] == 0.5
    assert sp.softplus_np(3.0).shape == ()  # scalars in, 0-d out


# ---------------------------------------------------------------------------------------
# softplus / sigmoid: stated error bounds
# ---------------------------------------------------------------------------------------
def _check_bound(got, ref, rel_bound):
    """Relative error where ref is normal, absolute where subnormal, exact at 0, inf and NaN."""
    normal = np.isfinite(ref) & (np.abs(ref) >= TINY)
    rel = np.abs(got[normal] - ref[normal]) / np.abs(ref[normal])
    assert rel.max() <= rel_bound, f"max relative error {rel.max() / U52:.3f}·2^-52 > {rel_bound / U52:.1f}·2^-52"
    sub = np.isfinite(ref) & (np.abs(ref) < TINY)
    assert np.all(np.abs(got[sub] - ref[sub]) <= sp.SUBNORMAL_ABS_ERROR)
    np.testing.assert_array_equal(got[~np.isfinite(ref)], ref[~np.isfinite(ref)])
    return rel.max()


def test_softplus_error_bound_vs_logaddexp():
    u = np.concatenate([np.linspace(-800.0, 800.0, 4_000_001), _adversarial_u()])
    u = u[np.abs(u) <= 1e305]  # np.logaddexp(0, ±inf) and huge |u| are checked exactly below
    with np.errstate(invalid="ignore"):
        ref = np.logaddexp(0.0, u)
    worst = _check_bound(sp.softplus_np(u), ref, sp.SOFTPLUS_REL_ERROR)
    assert worst > 0.5 * U52  # the comparison is not vacuous
    _assert_bitwise(sp.softplus_np([np.inf, -np.inf, 1e308, -1e308]), [np.inf, 0.0, 1e308, 0.0])


def _sigmoid_reference(u):
    # scipy's expit flushes to 0 below u ≈ −709.8 instead of going subnormal; e^u/(1 + e^u) does not.
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(-np.abs(u))
        return np.where(u >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def test_sigmoid_error_bound():
    u = np.concatenate([np.linspace(-800.0, 800.0, 2_000_001), _adversarial_u()])
    ref = _sigmoid_reference(u)
    normal = ref >= TINY
    # the reference is sound: two evaluations of σ, each within ~2 ulp (one exp, one add, one
    # divide), agree to 4 ulp = 4 · 2^-52 relative
    np.testing.assert_allclose(ref[normal], expit(u[normal]), rtol=4 * U52)
    _check_bound(sp.sigmoid_np(u), ref, sp.SIGMOID_REL_ERROR)


def test_error_bounds_vs_mpmath():
    mpmath = pytest.importorskip("mpmath")
    rng = np.random.default_rng(7)
    u = np.concatenate([rng.uniform(-40, 40, 1500), rng.uniform(-745, 745, 500), rng.uniform(-2, 2, 500)])
    with mpmath.workdps(40):
        s_ref = np.array([float(mpmath.log1p(mpmath.exp(mpmath.mpf(v)))) for v in u])
        sig_ref = np.array([float(1 / (1 + mpmath.exp(-mpmath.mpf(v)))) for v in u])
    _check_bound(sp.softplus_np(u), s_ref, sp.SOFTPLUS_REL_ERROR)
    _check_bound(sp.sigmoid_np(u), sig_ref, sp.SIGMOID_REL_ERROR)


# ---------------------------------------------------------------------------------------
# net_losses: kernel vs twin, bitwise
# ---------------------------------------------------------------------------------------
def _problem(name, d, k, m, rng, *, scale=1.0, theta_scale=2.0):
    x = rng.standard_normal((k, d)) * scale
    y = (rng.random(k) < 0.5).astype(float) if name == "logistic" else rng.standard_normal(k) * 3
    p = rng.random(k)
    p /= p.sum()
    thetas = rng.standard_normal((m, d + 1)) * theta_scale
    return x, y, p, thetas


def _assert_net_twins(model, thetas, x, y, p):
    got = net_losses(model, thetas, x, y, p)
    _assert_bitwise(got, net_losses_reference(model, thetas, x, y, p))
    return got


@pytest.mark.parametrize("name", ["logistic", "linear"])
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5])
@pytest.mark.parametrize(
    "k, m", [(1, 1), (1, 7), (5, 1), (300, NET_BLOCK + 1), (NET_REFERENCE_CHUNK + 17, 2 * NET_BLOCK + 3)]
)
def test_net_losses_twins_random(name, d, k, m):
    rng = np.random.default_rng(1000 * d + k + m)
    model = make_model(name, d)
    x, y, p, thetas = _problem(name, d, k, m, rng)
    _assert_net_twins(model, thetas, x, y, p)


@pytest.mark.parametrize("name", ["logistic", "linear"])
def test_net_losses_twins_adversarial(name):
    rng = np.random.default_rng(11)
    d = 3
    model = make_model(name, d)
    x, y, p, thetas = _problem(name, d, 200, 70, rng)
    cases = {
        "zeros": (np.zeros_like(x), np.zeros_like(thetas)),  # u = 0 everywhere: s = ln 2
        "ties": (np.repeat(x[:1], x.shape[0], axis=0), np.repeat(thetas[:1], thetas.shape[0], axis=0)),
        "huge |u|": (x * 1e3, thetas * 1e3),  # |u| ~ 1e6: s = u or 0 exactly
        "overflow": (x * 1e160, thetas * 1e160),  # u = ±inf and inf − inf = NaN inside: twins still agree
        "subnormal range": (np.abs(x) + 1.0, -np.abs(thetas) * 120.0),
    }
    for label, (xx, tt) in cases.items():
        with np.errstate(all="ignore"):
            got = _assert_net_twins(model, tt, xx, y, p)
        if label == "zeros" and name == "logistic":
            # every term is ln 2, so the weighted sum is ln 2 · Σ p_i; Σ p_i = 1 only up to the
            # rounding of p /= p.sum() and of the k = 200-term sum: ≤ 2k · 2^-53 ≈ 4.4e-14 relative
            np.testing.assert_allclose(got, np.log(2.0), rtol=2 * x.shape[0] * 2.0**-53)
    # zero and negative-zero weights add exactly nothing
    q = p.copy()
    q[::3] = 0.0
    q[1::3] = -0.0
    _assert_net_twins(model, thetas, x, y, q)


@pytest.mark.parametrize("name", ["logistic", "linear"])
def test_net_losses_terms_are_model_loss(name):
    # One-hot weights pick out one term: the kernel's per-sample loss is model.loss bit for bit.
    rng = np.random.default_rng(3)
    model = make_model(name, 4)
    x, y, _, thetas = _problem(name, 4, 50, 5, rng)
    for i in (0, 17, 49):
        e = np.zeros(50)
        e[i] = 1.0
        got = net_losses(model, thetas, x, y, e)
        want = np.array([model.loss(t, x, y)[i] for t in thetas])
        _assert_bitwise(got, want)


@given(
    st.sampled_from(["logistic", "linear"]),
    st.integers(1, 5),
    st.integers(1, 120),
    st.integers(1, 140),
    st.integers(0, 2**32 - 1),
    st.sampled_from([1e-3, 1.0, 50.0]),
)
def test_net_losses_twins_hypothesis(name, d, k, m, seed, scale):
    rng = np.random.default_rng(seed)
    x, y, p, thetas = _problem(name, d, k, m, rng, scale=scale)
    _assert_net_twins(make_model(name, d), thetas, x, y, p)


# ---------------------------------------------------------------------------------------
# The fit's objective kernel vs its twin
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["logistic", "linear"])
@pytest.mark.parametrize("d", [1, 2, 5])
@pytest.mark.parametrize("k", [1, 33, 2 * FIT_CHUNK + 5])
def test_objective_twins(name, d, k):
    rng = np.random.default_rng(k + d)
    model = make_model(name, d)
    x, y, p, thetas = _problem(name, d, k, 1, rng)
    for order in (0, 1, 2):
        got = _objective(model, thetas[0], x, y, p, order)
        want = _objective_reference(model, thetas[0], x, y, p, order)
        assert got[0] == want[0]
        if order >= 1:
            _assert_bitwise(got[1], want[1])
        if order >= 2:
            _assert_bitwise(got[2], want[2])


# ---------------------------------------------------------------------------------------
# Same numbers with 1 and 2 threads
# ---------------------------------------------------------------------------------------
@pytest.fixture
def thread_counts():
    available = numba.config.NUMBA_NUM_THREADS
    if available < 2:
        pytest.skip("numba has a single thread here")
    before = numba.get_num_threads()
    yield (1, 2)
    numba.set_num_threads(before)


@pytest.mark.parametrize("name", ["logistic", "linear"])
def test_thread_count_does_not_change_results(name, thread_counts):
    rng = np.random.default_rng(99)
    d = 2
    model = make_model(name, d)
    x, y, p, thetas = _problem(name, d, 3 * FIT_CHUNK + 11, 4 * NET_BLOCK + 9, rng)
    if name == "logistic":  # a non-separable logistic problem, so the fit runs several Newton steps
        y = (rng.random(x.shape[0]) < expit(x @ [1.5, -1.0] + 0.3)).astype(float)
    results = []
    for n_threads in thread_counts:
        numba.set_num_threads(n_threads)
        fit = fit_weighted(model, x, y, p)
        results.append((net_losses(model, thetas, x, y, p), fit.theta, fit.loss, fit.grad_norm, fit.n_iter))
    (net1, th1, l1, g1, n1), (net2, th2, l2, g2, n2) = results
    _assert_bitwise(net1, net2)
    _assert_bitwise(th1, th2)
    assert (l1, g1, n1) == (l2, g2, n2)
