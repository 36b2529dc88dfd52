"""The K-class MLP against PyTorch CPU (float64), a reference implementation written by others.

Installed with the project's ``reference`` extra (``pip install -e .[reference]``). Compared:
per-sample losses, the gradient, exact per-sample gradient norms (torch.func: vmap of grad),
and mini-batch Adam over the same batches (torch.optim.Adam with our β, ε), all to rounding
(float64: the two implementations differ only in the order of their sums).
"""

import numpy as np
import pytest

from theory_sim.models import mlp_batch
from theory_sim.models.batch_training import train_batch
from theory_sim.models.mlp import ADAM_BETAS, ADAM_EPS, MLP, SOFTMAX

torch = pytest.importorskip("torch")


def _torch_params(mlp, theta):
    out = []
    for block in mlp.layout():
        out.append(torch.tensor(theta[block.start : block.stop].reshape(block.shape), dtype=torch.float64,
                                requires_grad=True))
    return out


def _torch_logits(mlp, params, x):
    a = x
    for i in range(0, len(params), 2):
        a = a @ params[i] + params[i + 1]
        if i < len(params) - 2:
            a = torch.tanh(a) if mlp.activation == "tanh" else torch.relu(a)
    return a


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_loss_gradient_and_per_sample_norms_match_torch(activation):
    mlp = MLP(6, (9, 5), activation, SOFTMAX, classes=4)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(25, 6)), rng.integers(0, 4, 25)
    theta = mlp.init(1)
    params = _torch_params(mlp, theta)
    xt, yt = torch.tensor(x), torch.tensor(y)
    per = torch.nn.functional.cross_entropy(_torch_logits(mlp, params, xt), yt, reduction="none")
    per.mean().backward()
    ref_grad = np.concatenate([p.grad.numpy().ravel() for p in params])
    loss, grad = mlp.loss_and_grad(theta, x, y)
    np.testing.assert_allclose(mlp.losses(theta, x, y), per.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)

    names = [b.name for b in mlp.layout()]
    detached = {n: p.detach() for n, p in zip(names, params)}

    def one(ps, xi, yi):
        logits = _torch_logits(mlp, [ps[n] for n in names], xi[None])
        return torch.nn.functional.cross_entropy(logits, yi[None])

    g = torch.func.vmap(torch.func.grad(one), in_dims=(None, 0, 0))(detached, xt, yt)
    norms = torch.sqrt(sum((g[n].reshape(len(y), -1) ** 2).sum(dim=1) for n in names)).numpy()
    np.testing.assert_allclose(mlp.grad_norms(theta, x, y), norms, rtol=1e-12)


def test_minibatch_adam_matches_torch_adam():
    mlp = MLP(6, (8,), "tanh", SOFTMAX, classes=3)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(40, 6)), rng.integers(0, 3, 40)
    theta0 = mlp.init(3)
    fit = train_batch(mlp, x, y, theta0=theta0[None], epochs=3, batch_size=16, order=[4], lr=0.01)
    params = _torch_params(mlp, theta0)
    opt = torch.optim.Adam(params, lr=0.01, betas=ADAM_BETAS, eps=ADAM_EPS)
    order = np.random.default_rng(4)  # the same generator train_batch draws the batch order from
    for _ in range(3):
        perm = order.permutation(40)
        for start in range(0, 40, 16):
            idx = perm[start : start + 16]
            opt.zero_grad()
            logits = _torch_logits(mlp, params, torch.tensor(x[idx]))
            torch.nn.functional.cross_entropy(logits, torch.tensor(y[idx])).backward()
            opt.step()
    ref = np.concatenate([p.detach().numpy().ravel() for p in params])
    # Adam divides by √ŝ + ε: rounding differences of the gradient grow by at most ~1/ε·η relative
    # to a coordinate whose ŝ is tiny; none is here, and 9 steps keep the agreement near 1e-12.
    np.testing.assert_allclose(fit.params[0], ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mlp_batch.sample_losses(mlp, np.array(fit.params), x, y)[0].mean(), fit.loss[0],
                               rtol=1e-14)
