"""K-class MLP (softmax cross-entropy), stacked passes of B networks, mini-batch Adam, K-class probe scores.

References: complex-step derivatives of an independent forward pass written here (exact to
rounding: Im f(θ + i h e_j) / h = ∂f/∂θ_j + O(h²) with no cancellation, h = 1e-20), central finite
differences, the binary probe's closed forms (a scalar logit v is the two-logit network (0, v)),
and "each network alone" (the same call with B = 1), bitwise.
"""

import numpy as np
import pytest

from theory_sim.models import mlp_batch
from theory_sim.models.batch_training import train_batch, train_many
from theory_sim.models.mlp import MLP, SOFTMAX, train
from theory_sim.models.probe import class_scores, probe_scores


def _data(n=13, d=5, K=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, K, n)


def _reference_losses(mlp, theta, x, y):
    """Per-sample softmax cross-entropy written independently (complex-safe: no max-shift)."""
    a = x.astype(complex)
    blocks = mlp.layout()
    for i in range(0, len(blocks), 2):
        W = theta[blocks[i].start : blocks[i].stop].reshape(blocks[i].shape)
        b = theta[blocks[i + 1].start : blocks[i + 1].stop]
        z = a @ W + b
        a = z if i == len(blocks) - 2 else (np.tanh(z) if mlp.activation == "tanh" else z * (z.real > 0))
    return np.log(np.exp(a).sum(axis=1)) - a[np.arange(len(y)), y]


@pytest.mark.parametrize("hidden,activation", [((6,), "tanh"), ((5, 4), "tanh"), ((5, 4), "relu")])
def test_softmax_gradient_matches_complex_step_and_finite_differences(hidden, activation):
    mlp = MLP(5, hidden, activation, SOFTMAX, classes=4)
    x, y = _data()
    theta = mlp.init(1)
    loss, grad = mlp.loss_and_grad(theta, x, y)
    assert loss == pytest.approx(_reference_losses(mlp, theta, x, y).real.mean(), rel=1e-13)
    h = 1e-20
    cs = np.array([_reference_losses(mlp, theta + 1j * h * e, x, y).imag.mean() / h for e in np.eye(mlp.n_params)])
    # complex step: exact to rounding (a few ulps of each term); ReLU's kinks are not hit by these draws
    np.testing.assert_allclose(grad, cs, rtol=1e-11, atol=1e-13)
    eps = 1e-6  # central differences: error O(eps² f''') + O(ulp/eps) ≈ 1e-10 here
    fd = np.array([(mlp.loss_and_grad(theta + eps * e, x, y)[0] - mlp.loss_and_grad(theta - eps * e, x, y)[0])
                   / (2 * eps) for e in np.eye(mlp.n_params)])
    np.testing.assert_allclose(grad, fd, atol=1e-8)


def test_per_sample_gradients_and_norms_are_exact():
    mlp = MLP(5, (6, 3), "tanh", SOFTMAX, classes=4)
    x, y = _data()
    theta = mlp.init(2)
    G = mlp.per_sample_grads(theta, x, y)
    h = 1e-20
    for i in (0, 7):  # per-sample gradient of sample i against its complex step
        cs = np.array([_reference_losses(mlp, theta + 1j * h * e, x[i : i + 1], y[i : i + 1]).imag[0] / h
                       for e in np.eye(mlp.n_params)])
        np.testing.assert_allclose(G[i], cs, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(G.mean(axis=0), mlp.loss_and_grad(theta, x, y)[1], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(mlp.grad_norms(theta, x, y), np.linalg.norm(G, axis=1), rtol=1e-13)
    np.testing.assert_allclose(mlp.losses(theta, x, y), _reference_losses(mlp, theta, x, y).real, rtol=1e-13)


@pytest.mark.parametrize("loss", ["mse", "cross-entropy"])
def test_stacked_passes_agree_with_the_scalar_passes(loss):
    """The scalar losses through mlp_batch equal MLP's row-blocked passes up to summation order."""
    mlp = MLP(3, (7,), "tanh", loss)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3))
    y = rng.integers(0, 2, 40).astype(float)
    thetas = np.stack([mlp.init(s) for s in range(3)])
    losses, grads = mlp_batch.loss_and_grad(mlp, thetas, x, y, np.full(40, 1 / 40))
    for b in range(3):
        ref_loss, ref_grad = mlp.loss_and_grad(thetas[b], x, y)
        assert losses[b] == pytest.approx(ref_loss, rel=1e-13)
        np.testing.assert_allclose(grads[b], ref_grad, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mlp_batch.grad_norms(mlp, thetas, x, y)[1], mlp.grad_norms(thetas[1], x, y),
                               rtol=1e-12)


@pytest.mark.parametrize("loss,K", [(SOFTMAX, 10), ("cross-entropy", 1), ("mse", 1)])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_batched_training_is_each_network_alone_bitwise(loss, K, activation):
    mlp = MLP(8, (12,), activation, loss, classes=K)
    rng = np.random.default_rng(4)
    N, n, B = 300, 100, 4
    x = rng.normal(size=(N, 8))
    y = rng.integers(0, K, N) if K > 1 else rng.integers(0, 2, N).astype(float)
    theta0 = np.stack([mlp.init(10 + b) for b in range(B)])
    rows = np.stack([np.random.default_rng(20 + b).choice(N, n, replace=False) for b in range(B)])
    w = rng.random((B, n))
    w /= w.sum(axis=1, keepdims=True)
    fit = train_batch(mlp, x, y, w, theta0=theta0, epochs=3, batch_size=16, rows=rows, order=[30 + b for b in range(B)])
    assert fit.finite.all() and fit.params.shape == (B, mlp.n_params)
    for b in range(B):
        alone = train_batch(mlp, x, y, w[b], theta0=theta0[b : b + 1], epochs=3, batch_size=16, rows=rows[b],
                            order=[30 + b])
        assert np.array_equal(fit.params[b], alone.params[0])
        assert np.array_equal(fit.epoch_loss[b], alone.epoch_loss[0]) and fit.loss[b] == alone.loss[0]
    norms = mlp_batch.grad_norms(mlp, np.array(fit.params), x, y)
    assert np.array_equal(norms[2], mlp_batch.grad_norms(mlp, np.array(fit.params[2:3]), x, y)[0])


def test_full_batch_train_batch_is_train():
    """batch_size = n with p = 1/n is the full-batch Adam of train (same steps), to rounding."""
    mlp = MLP(3, (5,), "tanh", "cross-entropy")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(30, 3))
    y = rng.integers(0, 2, 30).astype(float)
    theta0 = mlp.init(6)
    ref = train(mlp, x, y, optimizer="adam", lr=0.01, max_iter=20, tol=0.0, theta0=theta0)
    fit = train_batch(mlp, x, y, theta0=theta0[None], epochs=20, lr=0.01)
    np.testing.assert_allclose(fit.params[0], ref.params, rtol=1e-10, atol=1e-12)
    assert fit.loss[0] == pytest.approx(ref.loss, rel=1e-10)


def test_batch_order_is_seeded_and_matters():
    mlp = MLP(4, (6,), "tanh", SOFTMAX, classes=3)
    x, y = _data(n=50, d=4, K=3, seed=7)
    theta0 = mlp.init(8)[None]
    a = train_batch(mlp, x, y, theta0=theta0, epochs=2, batch_size=8, order=[1])
    b = train_batch(mlp, x, y, theta0=theta0, epochs=2, batch_size=8, order=[1])
    c = train_batch(mlp, x, y, theta0=theta0, epochs=2, batch_size=8, order=[2])
    assert np.array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)  # negative control: the order is used


def test_softmax_bad_input():
    with pytest.raises(ValueError, match="classes must be ≥ 2"):
        MLP(2, (3,), "tanh", SOFTMAX)
    with pytest.raises(ValueError, match="classes must be ≥ 2 .* 1 for the scalar losses"):
        MLP(2, (3,), "tanh", "mse", classes=3)
    mlp = MLP(2, (3,), "tanh", SOFTMAX, classes=3)
    with pytest.raises(ValueError, match=r"class labels in \[0, 2\], got 3"):
        mlp.losses(mlp.init(0), np.zeros((2, 2)), [0, 3])
    with pytest.raises(ValueError, match="integer class labels"):
        mlp.losses(mlp.init(0), np.zeros((2, 2)), [0.5, 1])
    with pytest.raises(ValueError, match="train_batch"):
        train(mlp, np.zeros((2, 2)), [0, 1], rng=0)
    with pytest.raises(ValueError, match="order must give one generator per network"):
        train_batch(mlp, np.zeros((4, 2)), [0, 1, 2, 0], theta0=mlp.init(0)[None], epochs=1, batch_size=2)
    with pytest.raises(ValueError, match="theta0 must be 2-dimensional"):
        train_batch(mlp, np.zeros((4, 2)), [0, 1, 2, 0], theta0=mlp.init(0), epochs=1)


def test_class_scores_reduce_to_the_binary_scores():
    """A K = 2 network whose first logit is 0 is the scalar-logit network v = v_1: EL2N = √2|σ(v) − y|,
    margin = (2y − 1) v, top-two gap = |v| (the binary probe's definitions)."""
    binary = MLP(3, (4,), "tanh", "cross-entropy")
    two = MLP(3, (4,), "tanh", SOFTMAX, classes=2)
    x, y = _data(n=20, d=3, K=2, seed=9)
    th = binary.init(3)
    tb = binary.unpack(th)
    th2 = np.zeros(two.n_params)
    blocks = {b.name: b for b in two.layout()}
    th2[blocks["W1"].start : blocks["W1"].stop] = tb["W1"].ravel()
    th2[blocks["b1"].start : blocks["b1"].stop] = tb["b1"]
    th2[blocks["w_out"].start : blocks["w_out"].stop] = np.stack([np.zeros(4), tb["w_out"]], axis=1).ravel()
    th2[blocks["b_out"].start : blocks["b_out"].stop] = [0.0, tb["b_out"][0]]
    v = binary.output(th, x)
    logits, el2n, margin, gap, _ = class_scores(two, th2[None], x, y)
    np.testing.assert_allclose(logits[0, :, 1], v, rtol=1e-14)
    np.testing.assert_allclose(el2n[0], np.sqrt(2) * np.abs(1 / (1 + np.exp(-v)) - y), rtol=1e-12)
    np.testing.assert_allclose(margin[0], (2 * y - 1) * v, rtol=1e-14)
    np.testing.assert_allclose(gap[0], np.abs(v), rtol=1e-14)


def test_multiclass_probe_scores():
    x, y = _data(n=120, d=4, K=3, seed=11)
    x[:, 0] += y  # learnable
    kw = dict(hidden=(8,), epochs=6, inits=2, rng=5, classes=3, batch_size=16)
    a = probe_scores(x, y, **kw)
    assert a.logit.shape == (2, 120, 3) and a.params.shape == (2, a.mlp.n_params)
    assert np.array_equal(a.el2n, probe_scores(x, y, **kw).el2n)  # seeded
    # one init alone is the first of the stacked pair (the inits share nothing but the generator)
    assert (a.forgetting >= 0).all() and (a.forgetting <= 6).all()
    assert ((a.el2n >= 0) & (a.el2n <= np.sqrt(2))).all()
    assert np.all(a.abs_margin >= np.maximum(a.margin, 0) - 1e-12)  # the top-two gap bounds a positive margin
    assert a.keep("margin", "hard") == "lowest" and a.keep("el2n", "hard") == "highest"
    assert 0.5 < a.train_accuracy.mean()  # above chance (1/3) after 6 epochs of a separable-ish task
    with pytest.raises(ValueError, match="batch_size is for the K-class probe"):
        probe_scores(x, (y > 0).astype(float), batch_size=4)


def test_weighted_minibatch_estimate_is_unbiased_scale():
    """Uniform weights 1/n given explicitly are the default: the batch estimate n/|S| Σ p_i ∇f_i = mean over S."""
    mlp = MLP(4, (6,), "tanh", SOFTMAX, classes=3)
    x, y = _data(n=50, d=4, K=3, seed=12)
    theta0 = mlp.init(13)[None]
    a = train_batch(mlp, x, y, theta0=theta0, epochs=2, batch_size=8, order=[3])
    b = train_batch(mlp, x, y, np.full(50, 1 / 50), theta0=theta0, epochs=2, batch_size=8, order=[3])
    np.testing.assert_allclose(b.epoch_loss, a.epoch_loss, rtol=1e-12)
    np.testing.assert_allclose(b.params, a.params, rtol=1e-9, atol=1e-12)


def _fields(fit):
    return (fit.params.tobytes(), fit.loss, fit.grad_norm, fit.loss_history.tobytes(), fit.converged, fit.n_iter,
            fit.message)


@pytest.mark.parametrize("d,hidden,activation,loss", [(1, (7,), "tanh", "mse"), (2, (5,), "relu", "cross-entropy"),
                                                      (6, (4, 3), "tanh", "cross-entropy"), (3, (2,), "relu", "mse")])
def test_train_many_is_train_alone_bitwise(d, hidden, activation, loss):
    """Full-batch training of B scalar networks stacked (train_many) equals train on each alone, bitwise,
    including the three ways a run stops (max_iter, ‖∇L‖ ≤ tol, a non-finite loss) at different steps
    within one stack, and groups of different n (stacked apart). The reference is train itself."""
    mlp = MLP(d, hidden, activation, loss)
    rng = np.random.default_rng(3)
    data, starts = [], []
    for b, n in enumerate([9, 9, 9, 4, 9, 4, 9]):
        x = rng.normal(size=(n, d))
        y = rng.normal(size=n) if loss == "mse" else rng.uniform(0, 1, n)
        weights = None if b % 2 else rng.uniform(0.1, 1.0, n)
        starts.append(mlp.init(10 + b))
        if b == 2 and loss == "mse":  # weights 1e6: GD's step overshoots by ~1e6 a step, the loss overflows
            weights = 1e6 * weights
        if b == 4:  # θ = 0 with y = 0 (mse) or 1/2 (cross-entropy): ∇L = 0, stops at step 0 (‖∇L‖ ≤ tol = 0)
            y, starts[-1] = np.full(n, 0.0 if loss == "mse" else 0.5), np.zeros(mlp.n_params)
        data.append((x, y, weights))
    kwargs = dict(optimizer="gd", lr=0.3, max_iter=40, tol=0.0)
    alone = [train(mlp, *job, theta0=th, **kwargs) for job, th in zip(data, starts)]
    stops = {fit.message.split()[0] for fit in alone}
    assert stops == ({"loss", "max_iter", "gradient"} if loss == "mse" else {"max_iter", "gradient"}), stops
    for stack in (True, None):
        many = train_many(mlp, data, theta0=starts, stack=stack, **kwargs)
        for one, other in zip(alone, many):
            assert _fields(one) == _fields(other)
    adam = dict(optimizer="adam", lr=0.05, max_iter=30, tol=0.0)
    for one, other in zip([train(mlp, *job, theta0=th, **adam) for job, th in zip(data, starts)],
                          train_many(mlp, data, theta0=starts, stack=True, **adam)):
        assert _fields(one) == _fields(other)


def test_train_many_bad_input():
    mlp = MLP(2, (3,), "tanh", "mse")
    x, y = np.ones((4, 2)), np.zeros(4)
    with pytest.raises(ValueError, match="theta0 must give one starting point per network"):
        train_many(mlp, [(x, y, None)], theta0=[])
    with pytest.raises(ValueError, match="weights of network 0 must not be all zero"):
        train_many(mlp, [(x, y, np.zeros(4))], theta0=[mlp.init(0)])
    with pytest.raises(ValueError, match="theta0\\[0\\] must have shape"):
        train_many(mlp, [(x, y, None)], theta0=[np.zeros(3)])
    with pytest.raises(ValueError, match="train_many runs the scalar losses"):
        train_many(MLP(2, (3,), "tanh", SOFTMAX, classes=3), [(x, y, None)], theta0=[np.zeros(3)])


# The step's reductions are written as fewer, longer numpy calls than the plain reductions of
# mlp_batch.loss_and_residual and of err.sum(axis=-2); the numbers must be numpy's own, bitwise.
@pytest.mark.parametrize("h", [1, 2, 3, 10, 64])
def test_step_row_sum_is_numpys_sum(h):
    rng = np.random.default_rng(h)
    for n_nets in (1, 3, 8):
        for m in (1, 7, 40, 128):
            err = rng.normal(size=(n_nets, m, h)) * np.exp(3 * rng.normal(size=(n_nets, m, h)))
            flat = np.zeros((n_nets, h + 5))  # the bias gradient is a strided view of the flat gradient
            out = flat[:, 2 : 2 + h].reshape(n_nets, 1, h)
            mlp_batch.row_sum(err, out, np.empty((n_nets, h)))
            assert np.array_equal(out, err.sum(axis=-2, keepdims=True)), (n_nets, m, h)


def test_step_softmax_loss_and_residual_are_loss_and_residual():
    """The step's class maximum (one column at a time) against loss_and_residual's np.max, with ties,
    signed zeros, ±inf and NaN in the logits."""
    mlp = MLP(3, (4,), "relu", SOFTMAX, classes=10)
    rng = np.random.default_rng(1)
    v = rng.normal(size=(3, 40, 10)) * 5
    v[0, 0] = 0.0
    v[0, 1, ::2] = -0.0
    v[0, 2] = 7.0
    v[1, 0, 3] = np.inf
    v[1, 1, 4] = -np.inf
    v[1, 2, 5] = np.nan
    y = rng.integers(0, 10, (3, 40))
    step = mlp_batch.Step(mlp, np.zeros((3, mlp.n_params)), np.zeros((3, mlp.n_params)), 40)
    step.v[...] = v
    with np.errstate(invalid="ignore"):
        f = step._loss_and_residual(y)
        f_ref, res_ref = mlp_batch.loss_and_residual(mlp, v, y)
    assert np.array_equal(f, f_ref, equal_nan=True) and np.array_equal(step.e, res_ref, equal_nan=True)
