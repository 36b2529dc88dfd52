"""The numpy MLP: gradients against finite differences for every layer-count/activation/loss
combination (hypothesis over shapes), exact per-sample gradients, the parameter layout, a naive
forward twin, seeded reproducibility of initialisation and training, and the error messages."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from theory_sim.models.mlp import ACTIVATIONS, LOSSES, MLP, TrainResult, make_mlp, train

COMBOS = [(depth, act, loss) for depth in (1, 2) for act in ACTIVATIONS for loss in LOSSES]
# Finite differences: central, Richardson-extrapolated over steps h and h/2 (truncation O(h⁴)),
# so h = 1e-4 gives rounding ~1e-16/h ≈ 1e-12 and truncation ≪ 1e-10 on O(1) losses.
FD_STEP = 1e-4
GRAD_RTOL = 1e-6  # the acceptance criterion of issue 4
# ReLU is not differentiable at 0: an example is kept only when every pre-activation is farther
# from 0 than the largest change a step of 2h can cause there (≲ 1e-2 for these input scales).
KINK_CLEARANCE = 1e-2


def naive_forward(mlp: MLP, theta, x):
    """Independent twin of the forward pass: explicit slicing of θ by the documented layout.

    Returns v, shape (n,), and the list of pre-activations z_l, each (n, h_l).
    """
    widths = (mlp.d, *mlp.hidden)
    pos, a, zs = 0, np.asarray(x, dtype=float), []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        W = np.asarray(theta[pos : pos + fan_in * fan_out]).reshape(fan_in, fan_out)
        pos += fan_in * fan_out
        b = np.asarray(theta[pos : pos + fan_out])
        pos += fan_out
        z = np.array([[sum(a[i, k] * W[k, j] for k in range(fan_in)) + b[j] for j in range(fan_out)]
                      for i in range(a.shape[0])])
        zs.append(z)
        a = np.tanh(z) if mlp.activation == "tanh" else np.where(z > 0, z, 0.0)
    w, c = np.asarray(theta[pos : pos + widths[-1]]), theta[pos + widths[-1]]
    assert pos + widths[-1] + 1 == mlp.n_params
    return a @ w + c, zs


def weighted_loss(mlp, theta, x, y, p):
    v, _ = naive_forward(mlp, theta, x)
    f = 0.5 * (v - y) ** 2 if mlp.loss == "mse" else np.logaddexp(0.0, v) - y * v
    return float(p @ f)


def fd_gradient(fun, theta, h=FD_STEP):
    def central(step):
        g = np.empty_like(theta)
        for j in range(theta.size):
            e = np.zeros_like(theta)
            e[j] = step
            g[j] = (fun(theta + e) - fun(theta - e)) / (2.0 * step)
        return g

    return (4.0 * central(h / 2.0) - central(h)) / 3.0


@st.composite
def problems(draw, depth, loss):
    d = draw(st.integers(1, 4))
    hidden = tuple(draw(st.integers(1, 6)) for _ in range(depth))
    n = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    if loss == "mse":
        y = rng.standard_normal(n)
    else:  # hard labels or soft labels P(y = 1 | x)
        y = rng.integers(0, 2, n).astype(float) if draw(st.booleans()) else rng.random(n)
    p = rng.random(n) + 0.05  # unnormalised weights, as EC and quadrature give
    return d, hidden, x, y, p, seed


# ---------------------------------------------------------------------------------------
# Gradients
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("depth, activation, loss", COMBOS)
@given(data=st.data())
def test_gradient_matches_finite_differences(depth, activation, loss, data):
    d, hidden, x, y, p, seed = data.draw(problems(depth, loss))
    mlp = MLP(d, hidden, activation, loss)
    theta = mlp.init(seed)
    if activation == "relu":
        assume(all(np.abs(z).min() > KINK_CLEARANCE for z in naive_forward(mlp, theta, x)[1]))
    value, grad = mlp.loss_and_grad(theta, x, y, p)
    np.testing.assert_allclose(value, weighted_loss(mlp, theta, x, y, p), rtol=1e-12, atol=1e-14)
    fd = fd_gradient(lambda th: mlp.loss_and_grad(th, x, y, p)[0], theta)
    # Norm-wise relative error; the 1e-9 floor only matters when the gradient is itself ~0
    # (e.g. every ReLU unit dead), where both are exactly 0 anyway.
    err = np.linalg.norm(grad - fd) / max(np.linalg.norm(grad), 1e-9)
    assert err <= GRAD_RTOL, (err, grad, fd)


@pytest.mark.parametrize("depth, activation, loss", COMBOS)
@given(data=st.data())
def test_per_sample_gradients_sum_to_the_gradient(depth, activation, loss, data):
    d, hidden, x, y, p, seed = data.draw(problems(depth, loss))
    mlp = MLP(d, hidden, activation, loss)
    theta = mlp.init(seed)
    _, grad = mlp.loss_and_grad(theta, x, y, p)
    G = mlp.per_sample_grads(theta, x, y)
    assert G.shape == (x.shape[0], mlp.n_params)
    scale = np.abs(G).max() * p.sum() + 1e-300
    np.testing.assert_allclose(p @ G, grad, rtol=1e-12, atol=1e-13 * scale)
    np.testing.assert_allclose(mlp.grad_norms(theta, x, y), np.linalg.norm(G, axis=1), rtol=1e-12, atol=1e-300)
    # Each row is the gradient of that sample's loss alone (weights e_i).
    i = int(seed % x.shape[0])
    np.testing.assert_allclose(G[i], mlp.loss_and_grad(theta, x, y, np.eye(x.shape[0])[i])[1], rtol=1e-12,
                               atol=1e-13 * scale)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_three_hidden_layers_also_differentiate(activation):
    """Depth > 2 is not used by the project, but nothing in the code assumes it away."""
    rng = np.random.default_rng(3)
    mlp = MLP(2, (3, 4, 2), activation, "mse")
    x, y, p = rng.standard_normal((5, 2)), rng.standard_normal(5), rng.random(5)
    theta = mlp.init(11)
    if activation == "relu":
        assert all(np.abs(z).min() > KINK_CLEARANCE for z in naive_forward(mlp, theta, x)[1])
    _, grad = mlp.loss_and_grad(theta, x, y, p)
    fd = fd_gradient(lambda th: mlp.loss_and_grad(th, x, y, p)[0], theta)
    assert np.linalg.norm(grad - fd) <= GRAD_RTOL * np.linalg.norm(grad)


def test_weights_act_like_multiplicities():
    """Weight 2 on a point = the point twice; weight 0 = the point removed (EC relies on this)."""
    rng = np.random.default_rng(0)
    mlp = MLP(2, (5,), "tanh", "cross-entropy")
    x, y, theta = rng.standard_normal((4, 2)), np.array([0.0, 1.0, 1.0, 0.0]), mlp.init(1)
    twice = mlp.loss_and_grad(theta, x, y, [2.0, 1.0, 1.0, 0.0])
    dup = mlp.loss_and_grad(theta, x[[0, 0, 1, 2]], y[[0, 0, 1, 2]], np.ones(4))
    np.testing.assert_allclose(twice[0], dup[0], rtol=1e-14)
    np.testing.assert_allclose(twice[1], dup[1], rtol=1e-13, atol=1e-16)
    default = mlp.loss_and_grad(theta, x, y)
    uniform = mlp.loss_and_grad(theta, x, y, np.full(4, 0.25))
    assert default[0] == uniform[0] and np.array_equal(default[1], uniform[1])


def test_cross_entropy_is_the_logistic_loss_and_linear_in_y():
    mlp = MLP(1, (3,), "tanh", "cross-entropy")
    x, theta = np.linspace(-2, 2, 7)[:, None], mlp.init(2)
    v = mlp.output(theta, x)
    for label in (0.0, 1.0):
        np.testing.assert_allclose(mlp.losses(theta, x, np.full(7, label)), np.logaddexp(0.0, -(2 * label - 1) * v),
                                   rtol=1e-14)
    soft = mlp.losses(theta, x, np.full(7, 0.3))
    np.testing.assert_allclose(soft, 0.7 * mlp.losses(theta, x, np.zeros(7)) + 0.3 * mlp.losses(theta, x, np.ones(7)),
                               rtol=1e-13)


def test_large_logits_do_not_overflow():
    mlp = MLP(1, (1,), "relu", "cross-entropy")
    theta = np.array([1.0, 0.0, 1e3, 0.0])  # v = 1000 relu(x)
    x, y = np.array([[1.0], [2.0]]), np.array([0.0, 1.0])
    loss, grad = mlp.loss_and_grad(theta, x, y)
    np.testing.assert_allclose(loss, 0.5 * 1000.0, rtol=1e-14)  # (softplus(1000) + 0) / 2
    assert np.isfinite(grad).all()


# ---------------------------------------------------------------------------------------
# Layout, forward pass, initialisation
# ---------------------------------------------------------------------------------------
def test_layout_is_documented_and_contiguous():
    mlp = MLP(3, (4, 5), "relu", "mse")
    blocks = mlp.layout()
    assert [b.name for b in blocks] == ["W1", "b1", "W2", "b2", "w_out", "b_out"]
    assert [b.shape for b in blocks] == [(3, 4), (4,), (4, 5), (5,), (5,), (1,)]
    assert blocks[0].start == 0 and blocks[-1].stop == mlp.n_params == 3 * 4 + 4 + 4 * 5 + 5 + 5 + 1
    assert all(a.stop == b.start for a, b in zip(blocks[:-1], blocks[1:]))
    theta = np.arange(mlp.n_params, dtype=float)
    parts = mlp.unpack(theta)
    assert parts["W2"][1, 2] == 3 * 4 + 4 + 1 * 5 + 2  # row-major (fan_in, fan_out)
    assert not parts["W1"].flags.writeable and np.shares_memory(parts["W1"], theta)


def test_one_hidden_unit_is_a_tanh_curve():
    mlp = MLP(1, (1,), "tanh", "mse")
    w, b, a, c = 2.0, -0.5, 1.5, 0.25
    x = np.linspace(-1, 1, 9)[:, None]
    np.testing.assert_allclose(mlp.output([w, b, a, c], x), a * np.tanh(w * x[:, 0] + b) + c, rtol=1e-15)


@pytest.mark.parametrize("depth, activation, loss", COMBOS)
def test_forward_matches_naive_twin(depth, activation, loss):
    rng = np.random.default_rng(depth)
    mlp = MLP(3, (7,) * depth, activation, loss)
    theta, x = mlp.init(5), rng.standard_normal((20, 3))
    np.testing.assert_allclose(mlp.output(theta, x), naive_forward(mlp, theta, x)[0], rtol=1e-13, atol=1e-15)


def test_init_is_seeded_and_scaled():
    mlp = MLP(4, (512, 256), "relu")
    assert np.array_equal(mlp.init(7), mlp.init(np.random.default_rng(7)))
    assert not np.array_equal(mlp.init(7), mlp.init(8))
    parts = mlp.unpack(mlp.init(0))
    # He: Var W2 = 2 / 512; 131072 draws give a relative standard error of 0.4%.
    np.testing.assert_allclose(parts["W2"].var(), 2.0 / 512, rtol=0.02)
    assert np.abs(parts["b2"]).max() <= 1.0 / np.sqrt(512)
    tanh = MLP(4, (300,), "tanh").unpack(MLP(4, (300,), "tanh").init(0))
    np.testing.assert_allclose(tanh["w_out"].var(), 1.0 / 300, rtol=0.2)  # 300 draws: 8% standard error


# ---------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------
def _sine(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 1))
    return x, np.sin(3.0 * x[:, 0]) + 0.05 * rng.standard_normal(n)


@pytest.mark.parametrize("optimizer", ["adam", "gd"])
def test_same_seed_same_trained_weights_bitwise(optimizer):
    x, y = _sine()
    mlp = MLP(1, (16, 8), "tanh", "mse")
    runs = [train(mlp, x, y, optimizer=optimizer, max_iter=150, rng=42) for _ in range(2)]
    assert np.array_equal(runs[0].params, runs[1].params)
    assert np.array_equal(runs[0].loss_history, runs[1].loss_history)
    other = train(mlp, x, y, optimizer=optimizer, max_iter=150, rng=43)
    assert not np.array_equal(runs[0].params, other.params)
    # rng only seeds the initialisation: theta0 = init(42) gives the same run.
    same = train(mlp, x, y, optimizer=optimizer, max_iter=150, theta0=mlp.init(42))
    assert np.array_equal(same.params, runs[0].params)


def test_adam_fits_a_sine_and_reports_its_history():
    x, y = _sine()
    res = train(MLP(1, (32,), "tanh", "mse"), x, y, max_iter=1500, rng=0)
    assert isinstance(res, TrainResult) and res.optimizer == "adam"
    assert res.loss_history.shape == (res.n_iter + 1,) and res.loss == res.loss_history[-1]
    assert res.loss < res.loss_history[0] / 20
    assert not res.converged and "max_iter" in res.message
    assert not res.params.flags.writeable and not res.loss_history.flags.writeable
    np.testing.assert_allclose(res.grad_norm, np.linalg.norm(res.mlp.loss_and_grad(res.params, x, y)[1]), rtol=1e-12)


def test_gradient_descent_converges_on_a_well_posed_problem():
    # Cross-entropy on non-separable soft labels: a strictly convex problem in the output layer
    # with a unique minimiser; GD with a small step reaches ‖∇L‖ ≤ 1e-6 monotonically.
    x = np.linspace(-1, 1, 21)[:, None]
    y = np.full(21, 0.3)
    res = train(MLP(1, (2,), "tanh", "cross-entropy"), x, y, optimizer="gd", lr=0.5, max_iter=20_000, tol=1e-6,
                rng=1)
    assert res.converged and res.grad_norm <= 1e-6 and "tol" in res.message
    assert np.all(np.diff(res.loss_history) <= 1e-15)
    # min L = entropy of Bernoulli(0.3) (a constant logit log(0.3/0.7) reaches it); at ‖∇L‖ ≤ 1e-6
    # the excess loss is ~‖∇L‖²/(2 λ_min) with λ_min ~ 1e-3 here: well below 1e-6 relative.
    np.testing.assert_allclose(res.loss, -(0.3 * np.log(0.3) + 0.7 * np.log(0.7)), rtol=1e-6)


def test_divergence_stops_cleanly():
    x, y = _sine(64)
    res = train(MLP(1, (64,), "tanh", "mse"), x, y, optimizer="gd", lr=1e3, max_iter=500, rng=0)
    assert not res.converged and "not finite" in res.message
    assert np.isfinite(res.params).all() and np.isfinite(res.loss_history).all()
    assert res.loss_history.shape == (res.n_iter + 1,)


def test_zero_steps_and_tolerance_zero():
    x, y = _sine(16)
    mlp = MLP(1, (3,))
    res = train(mlp, x, y, max_iter=0, rng=0)
    assert res.n_iter == 0 and res.loss_history.shape == (1,) and np.array_equal(res.params, mlp.init(0))


# ---------------------------------------------------------------------------------------
# Errors a person can act on
# ---------------------------------------------------------------------------------------
BAD_ARCH = [
    (dict(d=0), ValueError, "d must be an integer in [1, inf], got 0"),
    (dict(d=1, hidden=()), ValueError, "hidden must list at least one hidden width, got ()"),
    (dict(d=1, hidden=(4, 0)), ValueError, "hidden[1] must be an integer in [1, inf], got 0"),
    (dict(d=1, hidden=(2.5,)), TypeError, "hidden[0] must be an integer, got 2.5"),
    (dict(d=1, activation="sigmoid"), ValueError, "activation must be one of 'tanh', 'relu'; got 'sigmoid'"),
    (dict(d=1, loss="hinge"), ValueError, "loss must be one of 'mse', 'cross-entropy', 'softmax-cross-entropy'; got 'hinge'"),
]


@pytest.mark.parametrize("kwargs, exc, message", BAD_ARCH)
def test_bad_architecture(kwargs, exc, message):
    with pytest.raises(exc, match=re.escape(message)):
        make_mlp(**kwargs)


def test_hidden_may_be_one_int():
    assert make_mlp(2, 5).hidden == (5,)


def test_bad_inputs():
    mlp = MLP(2, (3,), "tanh", "cross-entropy")
    theta, x, y = mlp.init(0), np.zeros((4, 2)), np.array([0.0, 1.0, 0.5, 1.0])
    cases = [
        (lambda: mlp.output(theta[:-1], x), ValueError, "theta must have shape (13,), got (12,)"),
        (lambda: mlp.output(theta, np.zeros((4, 3))), ValueError, "x must have shape (n, 2) with n ≥ 1"),
        (lambda: mlp.output(theta, np.zeros(4)), ValueError, "x must be 2-dimensional, got shape (4,)"),
        (lambda: mlp.output(theta, [[np.nan, 0.0]]), ValueError, "x must not contain NaN"),
        (lambda: mlp.output(np.full(13, np.inf), x), ValueError, "theta must be finite, got inf at flat index 0"),
        (lambda: mlp.losses(theta, x, y[:3]), ValueError, "y must have shape (4,), got (3,)"),
        (lambda: mlp.losses(theta, x, [0.0, 1.0, 2.0, 1.0]), ValueError,
         "y must be in [0, 1] for the cross-entropy loss, got 2.0 at index 2"),
        (lambda: mlp.loss_and_grad(theta, x, y, [1.0, -1.0, 1.0, 1.0]), ValueError,
         "weights must be ≥ 0, got -1.0 at index 1"),
        (lambda: mlp.loss_and_grad(theta, x, y, np.ones(5)), ValueError, "weights must have shape (4,), got (5,)"),
        (lambda: train(mlp, x, y, optimizer="sgd"), ValueError, "optimizer must be one of 'adam', 'gd'; got 'sgd'"),
        (lambda: train(mlp, x, y, lr=0.0), ValueError, "lr must be in (0.0, inf), got 0.0"),
        (lambda: train(mlp, x, y, max_iter=-1), ValueError, "max_iter must be an integer in [0, inf], got -1"),
        (lambda: train(mlp, x, y, theta0=theta, rng=0), ValueError, "give theta0 or rng, not both"),
        (lambda: train(mlp, x, y, rng=-1), ValueError, "rng must be a numpy Generator"),
        (lambda: train("mlp", x, y), TypeError, "mlp must be an MLP (see make_mlp), got str"),
    ]
    for call, exc, message in cases:
        with pytest.raises(exc, match=re.escape(message)):
            call()


def test_non_finite_start_is_an_error():
    mlp = MLP(1, (1,), "relu", "mse")
    with pytest.raises(ValueError, match="not finite at theta0"):
        train(mlp, [[1.0]], [0.0], theta0=[1e200, 0.0, 1e200, 0.0])


def test_callback_sees_every_step_and_cannot_change_the_run():
    """train(callback=...) is called after steps 1..T with θ_t (read-only); θ_t is what T = t steps give."""
    mlp = make_mlp(1, (4,))
    x = np.linspace(-1, 1, 30)[:, None]
    y = np.sin(3 * x[:, 0])
    theta0 = mlp.init(0)
    seen = {}
    fit = train(mlp, x, y, max_iter=5, tol=0.0, theta0=theta0, callback=lambda t, th: seen.setdefault(t, th.copy()))
    assert sorted(seen) == [1, 2, 3, 4, 5]
    assert np.array_equal(seen[5], fit.params)
    assert np.array_equal(seen[3], train(mlp, x, y, max_iter=3, tol=0.0, theta0=theta0).params)

    def meddle(t, th):
        th[0] = 0.0

    with pytest.raises(ValueError, match="read-only"):
        train(mlp, x, y, max_iter=2, tol=0.0, theta0=theta0, callback=meddle)
