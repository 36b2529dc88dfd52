"""B small K-class MLPs trained by mini-batch Adam: stacked numpy against B separate trainings and PyTorch CPU.

Run by hand (not in CI):

    python benchmarks/bench_batched_mlp.py [--widths 16 32 64] [--B 8] [--n 2000] [--epochs 2] [--repeat 5]
    python benchmarks/bench_batched_mlp.py --scalar [--widths 16 64] [--B 8] [--ns 16 64 256 1024] [--steps 200]

``--scalar``: the full-batch trainings of the scalar-output experiments (scaling_laws_mlp's
1 → h → 1 tanh network, ½-MSE, Adam lr 1e-2, ``steps`` steps), B networks on n rows each:
:func:`theory_sim.models.batch_training.train_many` forced to stack (``stacked``), the same
function forbidden to (``separate``: B calls of :func:`theory_sim.models.mlp.train`, what the
experiments did before; bitwise the same θ, checked), its default rule (``rule``), and PyTorch
CPU float64 / float32 with the B networks stacked (bmm, one Adam). The grid of n × h shows where
stacking stops paying (the rule: n·h ≤ ``STACK_MAX_ROWS_X_WIDTH``, printed).

Workload, the same for every implementation: B networks 40 → h → 10 (ReLU, softmax cross-entropy,
the MNIST-1D shape of the ``mnist1d_scaling`` experiment; B = 8 by default because that experiment
stacks its 8 strategies at each (seed, n, r): the experiments' K-class stack), each on its own n rows
of a shared Gaussian pool with random labels, mini-batches of 128 in an order drawn per network, Adam
(lr 3e-3, β = (0.9, 0.999), ε = 1e-8), ``epochs`` epochs, the same initial θ per network.

- ``stacked``: :func:`theory_sim.models.batch_training.train_batch` on the B networks at once.
- ``separate``: the same function called B times with one network each (what a loop over
  restarts / strategies did before); bitwise the same trained weights (checked here).
- ``torch64`` / ``torch32``: PyTorch CPU, the B networks as stacked parameter tensors (B, fan_in,
  fan_out) with ``torch.bmm`` and ``torch.optim.Adam`` on the summed per-network mean losses
  (Adam is elementwise, so this is B independent Adam runs), float64 / float32, the same batches.
- ``torch64-loop``: PyTorch float64, the B networks one after the other (nn.Linear layers).

All at one thread (numpy's BLAS through threadpoolctl inside train_batch, ``torch.set_num_threads(1)``).
Per width: one warm-up run of each, then ``repeat`` rounds in a rotated order (a burst of load on
the shared machine hits all of them); the median per implementation is reported, and the ratios
separate/stacked (the issue's goal: ≥ 3 at width ≤ 64) and torch/stacked (≥ 1: parity or better).
Only ratios measured in the same run mean anything; the load average is printed before and after.
Times are CPU seconds of this process (``--clock cpu``, the default: every implementation runs on one
thread, and on a shared machine the wall clock mostly measures the other processes) or wall-clock
seconds (``--clock wall``).
After the runs the trained θ of stacked and torch64 are compared (max |dθ|: the same arithmetic up
to rounding, so both did the same work).
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

from theory_sim.models.batch_training import STACK_MAX_ROWS_X_WIDTH, train_batch, train_many
from theory_sim.models.mlp import ADAM_BETAS, ADAM_EPS, MLP, SOFTMAX

try:
    import torch
except ImportError:  # optional dependency: a one-line message, no traceback
    sys.exit("bench_batched_mlp.py needs PyTorch (pip install -e .[reference]), which is not installed")

LR = 3e-3
BATCH = 128
D, K = 40, 10


def _setup(width, B, n, seed=0):
    rng = np.random.default_rng(seed)
    pool = 4 * n
    x = rng.standard_normal((pool, D))
    y = rng.integers(0, K, pool)
    rows = np.stack([rng.choice(pool, n, replace=False) for _ in range(B)])
    mlp = MLP(D, (width,), "relu", SOFTMAX, K)
    theta0 = np.stack([mlp.init(seed + 1 + b) for b in range(B)])
    return mlp, x, y, rows, theta0


def _orders(B, epochs, n):
    """The permutations train_batch draws (order seeds 100 + b), for torch to use the same batches."""
    gens = [np.random.default_rng(100 + b) for b in range(B)]
    return [np.stack([g.permutation(n) for g in gens]) for _ in range(epochs)]


def run_stacked(mlp, x, y, rows, theta0, epochs):
    B = theta0.shape[0]
    return np.array(train_batch(mlp, x, y, theta0=theta0, epochs=epochs, batch_size=BATCH, rows=rows, lr=LR,
                                order=[100 + b for b in range(B)]).params)


def run_separate(mlp, x, y, rows, theta0, epochs):
    return np.stack([train_batch(mlp, x, y, theta0=theta0[b : b + 1], epochs=epochs, batch_size=BATCH, rows=rows[b],
                                 lr=LR, order=[100 + b]).params[0] for b in range(theta0.shape[0])])


def _blocks(mlp, theta0, dtype):
    out = []
    for blk in mlp.layout():
        arr = theta0[:, blk.start : blk.stop].reshape(theta0.shape[0], *((blk.shape[0], -1) if blk.name.startswith(
            ("W", "w")) else (1, -1)))
        out.append(torch.tensor(arr, dtype=dtype, requires_grad=True))
    return out


def run_torch_stacked(mlp, x, y, rows, theta0, epochs, dtype):
    W1, b1, W2, b2 = _blocks(mlp, theta0, dtype)
    opt = torch.optim.Adam([W1, b1, W2, b2], lr=LR, betas=ADAM_BETAS, eps=ADAM_EPS)
    xt, yt = torch.tensor(x, dtype=dtype), torch.tensor(y)
    rows_t = torch.tensor(rows)
    B, n = rows.shape
    for perm in _orders(B, epochs, n):
        picked_all = torch.gather(rows_t, 1, torch.tensor(perm))
        for start in range(0, n, BATCH):
            picked = picked_all[:, start : start + BATCH]
            xb, yb = xt[picked], yt[picked]
            opt.zero_grad()
            h = torch.relu(torch.bmm(xb, W1) + b1)
            logits = torch.bmm(h, W2) + b2
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, K), yb.reshape(-1), reduction="none")
            loss.reshape(B, -1).mean(dim=1).sum().backward()
            opt.step()
    return torch.cat([p.detach().reshape(B, -1) for p in (W1, b1, W2, b2)], dim=1).double().numpy()


def run_torch_loop(mlp, x, y, rows, theta0, epochs):
    B, n = rows.shape
    orders = _orders(B, epochs, n)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for b in range(B):
        params = [p[0].detach().clone().requires_grad_(True) for p in _blocks(mlp, theta0[b : b + 1], torch.float64)]
        opt = torch.optim.Adam(params, lr=LR, betas=ADAM_BETAS, eps=ADAM_EPS)
        W1, b1, W2, b2 = params
        for perm in orders:
            picked_all = torch.tensor(rows[b][perm[b]])
            for start in range(0, n, BATCH):
                picked = picked_all[start : start + BATCH]
                opt.zero_grad()
                logits = torch.relu(xt[picked] @ W1 + b1) @ W2 + b2
                torch.nn.functional.cross_entropy(logits, yt[picked]).backward()
                opt.step()


CLOCK = [time.process_time]  # set by --clock


def _timed(impls, repeat):
    """Outputs of one warm-up run each, and the median time of ``repeat`` rounds in a rotated order."""
    outputs = {name: f() for name, f in impls.items()}
    times = {name: [] for name in impls}
    names = list(impls)
    for rnd in range(repeat):
        for name in names[rnd % len(names):] + names[: rnd % len(names)]:
            start = CLOCK[0]()
            impls[name]()
            times[name].append(CLOCK[0]() - start)
    return outputs, {name: statistics.median(t) for name, t in times.items()}


def _torch_scalar(mlp, x, y, theta0, steps, dtype):
    """B 1 → h → 1 tanh networks, full-batch Adam on ½-MSE (mean over each network's n rows), stacked."""
    W1, b1, w, c = _blocks(mlp, theta0, dtype)
    w = w.detach().reshape(w.shape[0], -1, 1).requires_grad_(True)
    opt = torch.optim.Adam([W1, b1, w, c], lr=SCALAR_LR, betas=ADAM_BETAS, eps=ADAM_EPS)
    xt, yt = torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=dtype)
    for _ in range(steps):
        opt.zero_grad()
        v = torch.bmm(torch.tanh(torch.bmm(xt, W1) + b1), w)[..., 0] + c[..., 0]
        (0.5 * (v - yt) ** 2).mean(dim=1).sum().backward()
        opt.step()
    return torch.cat([p.detach().reshape(theta0.shape[0], -1) for p in (W1, b1, w, c)], dim=1).double().numpy()


SCALAR_LR = 1e-2


def main_scalar(args):
    print(f"load average before: {os.getloadavg()}; torch {torch.__version__}, 1 thread everywhere; "
          f"B={args.B} networks 1 -> h -> 1 (tanh, 1/2-MSE), full-batch Adam, {args.steps} steps; "
          f"rule: stack when n*h <= {STACK_MAX_ROWS_X_WIDTH}")
    print(" | ".join(("width", "n", "n*h", "stacked s", "separate s", "rule s", "torch64 s", "torch32 s",
                      "separate/stacked", "separate/rule", "torch64/rule", "torch32/rule", "max|dθ| torch64",
                      "bitwise separate")))
    for width in args.widths:
        mlp = MLP(1, (width,), "tanh", "mse")
        for n in args.ns:
            rng = np.random.default_rng(0)
            x = rng.uniform(-1, 1, (args.B, n, 1))
            y = np.sin(3 * x[..., 0]) + 0.5 * rng.standard_normal((args.B, n))
            theta0 = np.stack([mlp.init(1 + b) for b in range(args.B)])
            data = [(x[b], y[b], None) for b in range(args.B)]

            def run(stack):
                fits = train_many(mlp, data, theta0=theta0, lr=SCALAR_LR, max_iter=args.steps, tol=0.0, stack=stack)
                return np.stack([f.params for f in fits])

            outputs, med = _timed({"stacked": lambda: run(True), "separate": lambda: run(False),
                                   "rule": lambda: run(None),
                                   "torch64": lambda: _torch_scalar(mlp, x, y, theta0, args.steps, torch.float64),
                                   "torch32": lambda: _torch_scalar(mlp, x, y, theta0, args.steps, torch.float32)},
                                  args.repeat)
            dtheta = float(np.max(np.abs(outputs["stacked"] - outputs["torch64"])))
            bitwise = bool(np.array_equal(outputs["stacked"], outputs["separate"]))
            r = med["rule"]
            print(f"{width} | {n} | {n * width} | {med['stacked']:.3f} | {med['separate']:.3f} | {r:.3f} | "
                  f"{med['torch64']:.3f} | {med['torch32']:.3f} | {med['separate'] / med['stacked']:.2f} | "
                  f"{med['separate'] / r:.2f} | {med['torch64'] / r:.2f} | {med['torch32'] / r:.2f} | {dtheta:.1e} | "
                  f"{bitwise}")
    print(f"load average after: {os.getloadavg()}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--B", type=int, default=8)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="CPU seconds of this process (default) or wall-clock seconds")
    parser.add_argument("--scalar", action="store_true", help="the full-batch scalar-output trainings (train_many)")
    parser.add_argument("--ns", type=int, nargs="+", default=[16, 64, 256, 1024])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    CLOCK[0] = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"clock: {args.clock} seconds")
    if args.scalar:
        return main_scalar(args)
    print(f"load average before: {os.getloadavg()}; torch {torch.__version__}, 1 thread everywhere; "
          f"B={args.B} networks, n={args.n} rows each, batch {BATCH}, {args.epochs} epochs")
    header = ("width", "stacked s", "separate s", "torch64 s", "torch32 s", "torch64-loop s", "separate/stacked",
              "torch64/stacked", "torch32/stacked", "torch64-loop/stacked", "max|dθ| torch64", "bitwise separate")
    print(" | ".join(header))
    for width in args.widths:
        mlp, x, y, rows, theta0 = _setup(width, args.B, args.n)
        impls = {
            "stacked": lambda: run_stacked(mlp, x, y, rows, theta0, args.epochs),
            "separate": lambda: run_separate(mlp, x, y, rows, theta0, args.epochs),
            "torch64": lambda: run_torch_stacked(mlp, x, y, rows, theta0, args.epochs, torch.float64),
            "torch32": lambda: run_torch_stacked(mlp, x, y, rows, theta0, args.epochs, torch.float32),
            "torch64-loop": lambda: run_torch_loop(mlp, x, y, rows, theta0, args.epochs),
        }
        outputs, med = _timed(impls, args.repeat)  # warm-up outputs (compared below) and median times
        dtheta = float(np.max(np.abs(outputs["stacked"] - outputs["torch64"])))
        bitwise = bool(np.array_equal(outputs["stacked"], outputs["separate"]))
        s = med["stacked"]
        print(f"{width} | {s:.3f} | {med['separate']:.3f} | {med['torch64']:.3f} | {med['torch32']:.3f} | "
              f"{med['torch64-loop']:.3f} | {med['separate'] / s:.2f} | {med['torch64'] / s:.2f} | "
              f"{med['torch32'] / s:.2f} | {med['torch64-loop'] / s:.2f} | {dtheta:.1e} | {bitwise}")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
