r"""Processes and scores (docs/theory.md, "Definitions"): shapes, seeds, errors, formulas.

Every expected number is written here from its definition (the score table of
``theory_sim.core.scores``, the Bayes rule for the mixture, a finite-difference gradient for
GraNd) or is a statistical test with a stated false-failure rate.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit

import theory_sim as ts
from theory_sim.core.limits import NonAdaptedScoreWarning
from theory_sim.core.processes import LinearModel

ALL_PROCESSES = [
    ts.make_process("gaussian-logistic", d=3),
    ts.make_process("gaussian-mixture", d=2, pi=0.3),
    ts.make_process("sine-regression"),
    ts.make_process("exponential"),
]
PIDS = [p.name for p in ALL_PROCESSES]
CLASSIFIERS = [p for p in ALL_PROCESSES if p.task == "classification"]
CIDS = [p.name for p in CLASSIFIERS]


# ------------------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("process", ALL_PROCESSES, ids=PIDS)
@pytest.mark.parametrize("n", [1, 7])
def test_sample_shapes_and_dtypes(process, n):
    data = process.sample(n, rng=0)
    assert isinstance(data, ts.Data)
    assert data.x.shape == (n, process.d) and data.x.dtype == np.float64
    assert data.y.shape == (n,) and data.y.dtype == np.float64
    assert len(data) == n and data.d == process.d
    assert np.isfinite(data.x).all() and np.isfinite(data.y).all()
    if process.task == "classification":
        assert np.isin(data.y, (0.0, 1.0)).all()


def test_sample_supports():
    assert (ALL_PROCESSES[3].sample(1000, rng=1).x >= 0).all()  # Exp(λ) on [0, ∞)
    x = ALL_PROCESSES[2].sample(1000, rng=1).x
    assert (np.abs(x) <= 1).all()  # U[−1, 1]


@pytest.mark.parametrize("process", ALL_PROCESSES, ids=PIDS)
def test_same_seed_same_data(process):
    a, b = process.sample(50, rng=3), process.sample(50, rng=3)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)
    c = process.sample(50, rng=np.random.default_rng(3))  # a Generator with the same seed
    np.testing.assert_array_equal(a.x, c.x)
    d = process.sample(50, rng=np.random.SeedSequence(3))
    np.testing.assert_array_equal(a.x, d.x)
    assert not np.array_equal(a.x, process.sample(50, rng=4).x)


def test_data_take():
    data = ALL_PROCESSES[0].sample(10, rng=5)
    sub = data.take(np.array([7, 2]))
    np.testing.assert_array_equal(sub.x, data.x[[7, 2]])
    np.testing.assert_array_equal(sub.y, data.y[[7, 2]])


def test_make_process_unknown_name_lists_allowed_names():
    with pytest.raises(ValueError, match="process") as err:
        ts.make_process("gaussian")
    for name in ts.PROCESSES:
        assert repr(name) in str(err.value)
    assert "'gaussian'" in str(err.value)


def test_make_process_unknown_parameter():
    with pytest.raises(TypeError, match=r"unknown parameter 'temperature' for process 'gaussian-logistic'; allowed: "):
        ts.make_process("gaussian-logistic", temperature=1.0)


def test_make_process_allowed_list_holds_only_parameters():
    with pytest.raises(TypeError, match=r"allowed: d, w_star, b_star$"):
        ts.make_process("gaussian-logistic", temperature=1.0)
    with pytest.raises(TypeError, match=r"unknown parameter 'task' for process 'gaussian-logistic'"):
        ts.make_process("gaussian-logistic", task="regression")


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("gaussian-logistic", {"d": 0}, r"d must be an integer in \[1, inf\], got 0"),
        ("gaussian-mixture", {"d": 0}, r"d must be an integer in \[1, inf\], got 0"),
        ("gaussian-mixture", {"pi": 1.0}, r"pi must be in \(0.0, 1.0\), got 1.0"),
        ("gaussian-mixture", {"pi": 0.0}, r"pi must be in \(0.0, 1.0\), got 0.0"),
        ("gaussian-mixture", {"sigma": 0.0}, r"sigma must be in \(0.0, inf\), got 0.0"),
        ("sine-regression", {"d": 2}, r"d must be 1 for process 'sine-regression', got 2"),
        ("exponential", {"d": 3}, r"d must be 1 for process 'exponential', got 3"),
        ("exponential", {"rate": -1.0}, r"rate must be in \(0.0, inf\), got -1.0"),
        ("gaussian-logistic", {"d": 2, "w_star": [1.0, 2.0, 3.0]}, r"w_star must have shape \(2,\)"),
        ("gaussian-logistic", {"b_star": float("nan")}, r"b_star must be a finite number"),
    ],
)
def test_make_process_value_errors(name, params, match):
    with pytest.raises(ValueError, match=match):
        ts.make_process(name, **params)


def test_make_process_type_errors():
    with pytest.raises(TypeError, match="d must be an integer"):
        ts.make_process("gaussian-logistic", d=2.0)
    with pytest.raises(TypeError, match="rng must be"):
        ts.make_process("gaussian-logistic").sample(3, rng=1.5)
    with pytest.raises(ValueError, match="rng must be .* got -1"):
        ts.make_process("gaussian-logistic").sample(3, rng=-1)
    with pytest.raises(ValueError, match=r"n must be an integer in \[1, inf\], got 0"):
        ts.make_process("gaussian-logistic").sample(0)


def test_sine_regression_accepts_d_equal_one():
    assert ts.make_process("sine-regression", d=1).d == 1


def test_gaussian_logistic_label_frequency():
    # P(y = 1) = E[σ(u)], u = w*·x + b* ~ N(b*, s²): one integral, by quad.
    # A binomial z-test at 4.5 sigma: false-failure rate ≈ 6.8e-6 (two-sided).
    mu = ts.make_process("gaussian-logistic", d=3, w_star=[1.5, -0.5, 0.7], b_star=-0.4)
    b, s = mu.b_star, float(np.linalg.norm(mu.w_star))
    p, _ = integrate.quad(lambda u: stats.norm.pdf(u, b, s) * expit(u), -np.inf, np.inf, epsabs=1e-13)
    n = 10**6
    freq = mu.sample(n, rng=7).y.mean()
    assert abs(freq - p) <= 4.5 * math.sqrt(p * (1 - p) / n), (freq, p)
    # negative control: σ(b*) (forgetting the spread of u) is far outside the band
    sig_b = 1 / (1 + math.exp(-b))
    assert abs(freq - sig_b) > 4.5 * math.sqrt(p * (1 - p) / n)


def test_gaussian_mixture_label_frequency_is_pi():
    mu, n = ts.make_process("gaussian-mixture", d=2, pi=0.3), 10**6
    freq = mu.sample(n, rng=8).y.mean()
    assert abs(freq - 0.3) <= 4.5 * math.sqrt(0.3 * 0.7 / n)


@pytest.mark.parametrize(("d", "pi", "m", "sigma"), [(2, 0.5, None, 1.0), (3, 0.3, [0.5, -1.0, 0.25], 1.3),
                                                     (1, 0.8, [2.0], 0.7)])
def test_gaussian_mixture_bayes_posterior(d, pi, m, sigma):
    # P(y = 1 | x) = π φ(x; m, σ²I) / (π φ(x; m, σ²I) + (1 − π) φ(x; −m, σ²I))  (Bayes' rule)
    mu = ts.make_process("gaussian-mixture", d=d, pi=pi, m=m, sigma=sigma)
    x = mu.sample(500, rng=9).x
    m_arr = np.r_[1.0, 0.5][:d] if m is None else np.asarray(m)
    f1 = stats.multivariate_normal(m_arr, sigma**2 * np.eye(d)).pdf(x).reshape(-1)
    f0 = stats.multivariate_normal(-m_arr, sigma**2 * np.eye(d)).pdf(x).reshape(-1)
    posterior = pi * f1 / (pi * f1 + (1 - pi) * f0)
    np.testing.assert_allclose(mu.label_prob(x), posterior, rtol=1e-12, atol=0)
    # and the label of +m is y = 1 (module docstring)
    np.testing.assert_allclose(mu.truth().w, 2 * m_arr / sigma**2, rtol=1e-15)


def test_linear_model_perturbed():
    base = LinearModel(np.array([1.0, -2.0]), 0.5)
    same = base.perturbed(0.0, rng=1)
    np.testing.assert_array_equal(same.w, base.w)
    assert same.b == base.b
    a, b = base.perturbed(0.5, rng=2), base.perturbed(0.5, rng=2)
    np.testing.assert_array_equal(a.w, b.w)
    assert a.b == b.b and not np.array_equal(a.w, base.w)
    with pytest.raises(ValueError, match="scale"):
        base.perturbed(-1.0)


# ------------------------------------------------------------------------------------------
# Scores against their definitions
# ------------------------------------------------------------------------------------------


def _xy(process, n=400, seed=10):
    data = process.sample(n, rng=seed)
    return data.x, data.y


def _sigmoid(u):
    return 1.0 / (1.0 + np.exp(-u))


REFERENCE = LinearModel(np.array([0.8, -1.1, 0.3]), -0.2)
GL3 = ALL_PROCESSES[0]


def test_margin_entropy_loss_el2n_direct_formulas():
    x, y = _xy(GL3)
    u = x @ REFERENCE.w + REFERENCE.b
    p = _sigmoid(u)
    expected = {
        "margin": np.abs(u),
        "entropy": -p * np.log(p) - (1 - p) * np.log(1 - p),
        "loss": -y * np.log(p) - (1 - y) * np.log(1 - p),
        "el2n": np.abs(p - y),
    }
    # The naive formulas compute 1 − p by subtraction, with relative error ≤ 2^-53 (1 + e^|u|):
    # ≤ 1.7e-14 for |u| < 5 (max |u| ≈ 4.1 with this seed), far below rtol 1e-11. (At |u| = 15
    # it would be 3.6e-10: the naive reference would no longer be a reference.)
    assert np.abs(u).max() < 5
    for name, want in expected.items():
        got = ts.make_score(name, GL3, reference=REFERENCE)(x, y)
        assert got.shape == (x.shape[0],) and got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-15, err_msg=name)


def test_default_reference_is_the_truth():
    x, y = _xy(GL3)
    u = x @ GL3.w_star + GL3.b_star
    np.testing.assert_allclose(ts.make_score("margin", GL3)(x), np.abs(u), rtol=1e-14)


@pytest.mark.parametrize("process", ALL_PROCESSES, ids=PIDS)
def test_distance_direct_formula(process):
    x, _ = _xy(process)
    np.testing.assert_allclose(ts.make_score("distance", process)(x), np.linalg.norm(x, axis=1), rtol=1e-14)
    c = np.linspace(-0.3, 0.9, process.d)
    got = ts.make_score("distance", process, center=c)(x)
    np.testing.assert_allclose(got, [math.dist(row, c) for row in x], rtol=1e-13)


def test_scores_at_extreme_logits():
    # u = ±800: σ(u) is 0 or 1 in float64, the naive formulas give nan/inf; the scores must
    # follow the asymptotics softplus(u) → max(u, 0), H → 0, el2n → 0 or 1.
    ref = LinearModel(np.array([1.0]), 0.0)
    x = np.array([[800.0], [-800.0], [800.0], [-800.0]])
    y = np.array([1.0, 1.0, 0.0, 0.0])
    loss = ts.make_score("loss", reference=ref)(x, y)
    np.testing.assert_allclose(loss, [0.0, 800.0, 800.0, 0.0], rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(ts.make_score("el2n", reference=ref)(x, y), [0.0, 1.0, 1.0, 0.0], atol=1e-300)
    np.testing.assert_allclose(ts.make_score("entropy", reference=ref)(x), 0.0, atol=1e-300)


def _logistic_loss(w, b, x, y):
    """−y log σ(u) − (1 − y) log(1 − σ(u)) = log(1 + e^u) − y u, u = w·x + b."""
    u = x @ w + b
    return np.logaddexp(0.0, u) - y * u


@pytest.mark.parametrize("process", CLASSIFIERS, ids=CIDS)
def test_grand_is_the_gradient_norm_by_finite_differences(process):
    # Central differences in each of the d + 1 parameters (w, b) of the reference; step h:
    # truncation O(h²) ~ 1e-10 and rounding O(ε/h) ~ 1e-11 relative, far below 1e-6.
    x, y = _xy(process, n=50)
    ref = process.truth().perturbed(0.3, rng=11)
    theta = np.r_[ref.w, ref.b]
    h = 1e-5
    grads = np.zeros((x.shape[0], theta.size))
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        plus, minus = theta + e, theta - e
        up, down = _logistic_loss(plus[:-1], plus[-1], x, y), _logistic_loss(minus[:-1], minus[-1], x, y)
        grads[:, j] = (up - down) / (2 * h)
    want = np.linalg.norm(grads, axis=1)
    got = ts.make_score("grand", process, reference=ref)(x, y)
    np.testing.assert_allclose(got, want, rtol=1e-6)


# (label_free, hard end) from the table of theory_sim.core.scores / docs/theory.md, "Definitions"
ORIENTATION = {
    "margin": (True, "lowest"),
    "entropy": (True, "highest"),
    "distance": (True, "highest"),
    "loss": (False, "highest"),
    "el2n": (False, "highest"),
    "grand": (False, "highest"),
}


@pytest.mark.parametrize("name", sorted(ORIENTATION))
def test_orientation_and_label_free_flags(name):
    score = ts.make_score(name, GL3)
    label_free, hard = ORIENTATION[name]
    assert score.name == name
    assert score.label_free is label_free and score.hard == hard
    assert score.keep("hard") == hard
    assert score.keep("easy") == ({"lowest": "highest", "highest": "lowest"}[hard])
    with pytest.raises(ValueError, match=r"which must be one of 'hard', 'easy'; got 'medium'"):
        score.keep("medium")
    assert set(ts.SCORES) == set(ORIENTATION)


def test_orientations_agree_across_scores():
    # entropy = h(margin) with h decreasing, and loss = −log(1 − el2n): "keep hard" must select
    # the same points for the scores of each pair, whatever end each one keeps.
    x, y = _xy(GL3, n=2000, seed=12)
    for a, b in (("margin", "entropy"), ("loss", "el2n")):
        sa, sb = ts.make_score(a, GL3), ts.make_score(b, GL3)
        for which in ("hard", "easy"):
            ia = ts.prune(sa(x, y), 0.1, keep=sa.keep(which), rng=0).indices
            ib = ts.prune(sb(x, y), 0.1, keep=sb.keep(which), rng=0).indices
            np.testing.assert_array_equal(ia, ib)
    # negative control: keeping the same *end* of margin and entropy selects disjoint sets
    ia = ts.prune(ts.make_score("margin", GL3)(x), 0.1, keep="lowest").indices
    ib = ts.prune(ts.make_score("entropy", GL3)(x), 0.1, keep="lowest").indices
    assert np.intersect1d(ia, ib).size == 0


# ------------------------------------------------------------------------------------------
# Score errors
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["loss", "el2n", "grand"])
def test_label_score_without_y(name):
    x, _ = _xy(GL3, n=5)
    with pytest.raises(ValueError, match=f"y is required: score '{name}' depends on the labels"):
        ts.make_score(name, GL3)(x)


@pytest.mark.parametrize("bad", [2.0, 0.5, -1.0])
def test_label_score_with_y_outside_0_1(bad):
    x, y = _xy(GL3, n=5)
    y = y.copy()
    y[2] = bad
    with pytest.raises(ValueError, match=r"y must hold labels in \{0, 1\}"):
        ts.make_score("loss", GL3)(x, y)


def test_label_score_y_wrong_length():
    x, y = _xy(GL3, n=5)
    with pytest.raises(ValueError, match=r"y must have shape \(5,\)"):
        ts.make_score("el2n", GL3)(x, y[:4])


@pytest.mark.parametrize("name", sorted(ORIENTATION))
def test_x_wrong_shape_and_nan(name):
    score = ts.make_score(name, GL3)
    x, y = _xy(GL3, n=5)
    with pytest.raises(ValueError, match=r"x must have shape \(any, 3\), got \(5, 2\)"):
        score(x[:, :2], y)
    with pytest.raises(ValueError, match=r"x must have shape \(any, 3\), got \(3,\)"):
        score(x[0], y)
    x = x.copy()
    x[1, 2] = np.nan
    with pytest.raises(ValueError, match="x must not contain NaN"):
        score(x, y)
    x[1, 2] = np.inf
    with pytest.raises(ValueError, match="x must be finite"):
        score(x, y)


def test_make_score_errors():
    with pytest.raises(ValueError, match=r"score must be one of 'margin', 'entropy', 'distance', 'loss', 'el2n', "
                                         r"'grand'; got 'forgetting'"):
        ts.make_score("forgetting", GL3)
    with pytest.raises(ValueError, match=r"reference must have dimension d=3 of the process, got 2"):
        ts.make_score("margin", GL3, reference=LinearModel(np.ones(2), 0.0))
    with pytest.raises(ValueError, match="center applies to the 'distance' score only, not to 'margin'"):
        ts.make_score("margin", GL3, center=np.zeros(3))
    with pytest.raises(ValueError, match="reference applies to the model-based scores"):
        ts.make_score("distance", GL3, reference=REFERENCE)
    with pytest.raises(ValueError, match=r"center must have shape \(3,\)"):
        ts.make_score("distance", GL3, center=np.zeros(2))
    with pytest.raises(ValueError, match="needs a process or a reference model"):
        ts.make_score("el2n")
    with pytest.raises(TypeError, match="reference must be a LinearModel"):
        ts.make_score("el2n", GL3, reference=np.ones(3))
    with pytest.raises(TypeError, match="process must be a Process"):
        ts.make_score("margin", "gaussian-logistic")
    with pytest.raises(ValueError, match=r"decimals must be an integer in \[0, inf\]"):
        ts.make_score("margin", GL3, decimals=-1)


@pytest.mark.parametrize("name", ["margin", "entropy", "loss", "el2n", "grand"])
def test_model_scores_on_sine_regression(name):
    sine = ts.make_process("sine-regression")
    with pytest.raises(ValueError, match=f"score '{name}' needs a classification process.*regression process"):
        ts.make_score(name, sine)


@pytest.mark.parametrize("name", ["loss", "el2n", "grand"])
def test_label_dependent_score_refused_with_a_regression_process(name):
    # built from an explicit reference, then paired with a regression process
    sine = ts.make_process("sine-regression")
    score = ts.make_score(name, reference=LinearModel(np.array([1.0]), 0.0))
    with pytest.raises(ValueError, match=f"score '{name}' needs labels.*'sine-regression' is a regression process"):
        ts.score_quantile(sine, score, 0.1)
    with pytest.raises(ValueError, match="regression process"):
        ts.sample_limit(sine, score, 0.1, 10)


def test_score_dimension_mismatch_with_process():
    score = ts.make_score("distance", center=np.zeros(2))
    with pytest.raises(ValueError, match="score has dimension d=2 but the process has d=3"):
        ts.score_quantile(GL3, score, 0.1)


# ------------------------------------------------------------------------------------------
# check_adapted
# ------------------------------------------------------------------------------------------


def test_check_adapted_exact_for_margin():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ts.check_adapted(GL3, ts.make_score("margin", GL3))
    assert res == ts.Adaptedness(True, "exact", 0, 0)


def test_check_adapted_rounded_score_is_not_adapted():
    with pytest.warns(NonAdaptedScoreWarning, match="'margin' is not adapted"):
        res = ts.check_adapted(GL3, ts.make_score("margin", GL3, decimals=1))
    assert res.adapted is False and res.method == "exact"


def test_check_adapted_ties_test_for_grand():
    # A continuous law repeats a float64 with probability ~ n² 2^-53 ≈ 4e-8 at n = 2e4.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ts.check_adapted(GL3, ts.make_score("grand", GL3), n=20_000, rng=13)
    assert res == ts.Adaptedness(True, "ties-test", 20_000, 0)


def test_check_adapted_ties_test_negative_control():
    # a constant logit (w = 0) makes the margin an atom: the law is not tractable, the ties
    # test runs and finds n − 1 ties
    flat = ts.make_score("margin", GL3, reference=LinearModel(np.zeros(3), 0.3))
    with pytest.warns(NonAdaptedScoreWarning):
        res = ts.check_adapted(GL3, flat, n=1000, rng=14)
    assert res == ts.Adaptedness(False, "ties-test", 1000, 999)
