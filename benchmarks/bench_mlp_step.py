"""One full-batch Adam training step of the numpy MLP against PyTorch CPU, measured in one run.

Run by hand (not in CI):

    python benchmarks/bench_mlp_step.py [--widths 16 64 256 512] [--n 1000 10000 100000]
                                        [--depths 1 2] [--d 1] [--repeat 7]

Workload, the same in both: an MLP with ``depth`` tanh hidden layers of width ``h`` (d → h [→ h]
→ 1), MSE loss ½·mean((v − y)²), float64, inputs x ~ U(−2, 2)^d, y = sin(2 x₁) + noise, the same
initial θ. One *step* is what :func:`theory_sim.models.mlp.train` does per iteration: forward pass,
backward pass, full-batch gradient, its norm (train's stopping test) and an Adam update
(lr = 1e-2, β = (0.9, 0.999), ε = 1e-8).

- ``numpy``: :func:`theory_sim.models.mlp.train` itself, ``optimizer="adam", tol=0, max_iter=K``,
  timed as a whole (its validation and buffer allocation are included, amortised over K).
  train always runs with one BLAS thread (``threadpool_limits(1)``) so that the same seed gives
  bitwise the same weights on every machine.
- ``torch``: ``nn.Sequential(Linear, Tanh, …, Linear)`` in float64 with ``torch.optim.Adam``
  (default options), a loop of K steps written the idiomatic way (``zero_grad``, loss,
  ``backward``, gradient norm, ``step``), at ``torch.set_num_threads(1)`` and at 2 threads.

Both do K + 1 gradient evaluations and K Adam updates (train evaluates the gradient at the last
θ too, to report it); the time per step is the run's time / K, which overstates both by up to
(K + 1)/K (≤ 1.5, at K = 2 in the slowest cells) and leaves their ratio unbiased. K is chosen per
cell so that one run lasts ≳ ``--target`` seconds (2 ≤ K ≤ 50). After the runs the two trained θ
are compared (column max|dθ|, ≲ 1e-12: the same arithmetic up to rounding), which checks that
both did the same work.

Per cell: one warm-up run of each (K = 1), then R rounds, each running the three in a rotated
order (interleaved, so a burst of load on the shared machine hits all of them); R = ``--repeat``,
or fewer (≥ 3) where the rounds would take more than ``--budget`` seconds (2 layers of 512 at
n = 10^5 take seconds per step). The median per implementation is reported; ratios > 1 mean
numpy is slower. The goal of the issue ("Small MLPs in numpy", item 5): numpy (1 thread) within
1.25× of torch (1 thread) at width ≥ 256 and faster (ratio < 1) at width ≤ 64; the column
``goal`` says whether each cell meets it. The machine is shared and noisy: only ratios measured
in the same run mean anything; the load average is printed before and after (torch at 2 threads
suffers most from a busy machine: its OpenMP threads wait for each other).
"""

import argparse
import math
import os
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info

from theory_sim.models.mlp import MLP, train

try:
    import torch
except ImportError:  # optional dependency: a one-line message, no traceback
    sys.exit("bench_mlp_step.py needs PyTorch (the torch package, CPU build), which is not installed")

LR = 1e-2  # train's default Adam step (DEFAULT_LR["adam"]); torch.optim.Adam's betas/eps are train's
GOAL_WIDE = 1.25  # issue goal at width ≥ 256: numpy/torch ≤ 1.25
GOAL_NARROW = 1.0  # issue goal at width ≤ 64: numpy faster than torch


def _data(n, d, rng):
    x = rng.uniform(-2.0, 2.0, (n, d))
    y = np.sin(2.0 * x[:, 0]) + 0.1 * rng.standard_normal(n)
    return x, y


def _numpy_run(mlp, x, y, theta0, steps):
    def run():
        return train(mlp, x, y, optimizer="adam", lr=LR, max_iter=steps, tol=0.0, theta0=theta0).params

    return run


def _torch_run(mlp, x, y, theta0, steps, threads):
    """K Adam steps in idiomatic PyTorch from θ0 (numpy's flat layout mapped onto nn.Linear)."""
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    widths = mlp.widths
    views = mlp.unpack(theta0)

    def build():
        layers = []
        for i in range(len(widths) - 1):
            lin = torch.nn.Linear(widths[i], widths[i + 1], dtype=torch.float64)
            last = i == len(widths) - 2
            W = views["w_out"][:, None] if last else views[f"W{i + 1}"]
            b = views["b_out"] if last else views[f"b{i + 1}"]
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b.copy()))
            layers.append(lin)
            if not last:
                layers.append(torch.nn.Tanh())
        return torch.nn.Sequential(*layers)

    def loss_and_backward(model, opt):
        opt.zero_grad(set_to_none=False)
        v = model(xt).squeeze(1)
        loss = 0.5 * torch.nn.functional.mse_loss(v, yt)
        loss.backward()
        # train's per-step work also includes ‖g‖ (its stopping test) and a finiteness check.
        gnorm = torch.sqrt(sum((p.grad * p.grad).sum() for p in model.parameters()))
        if not (math.isfinite(loss.item()) and math.isfinite(gnorm.item())):
            raise FloatingPointError("torch loss diverged")

    def run():
        torch.set_num_threads(threads)
        model = build()
        opt = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.999), eps=1e-8)
        for _ in range(steps):
            loss_and_backward(model, opt)
            opt.step()
        loss_and_backward(model, opt)  # train's gradient at the final θ
        return model

    return run


def _torch_theta(model):
    """The trained torch parameters in numpy's flat layout."""
    parts = []
    for lin in (m for m in model if isinstance(m, torch.nn.Linear)):
        parts += [lin.weight.detach().numpy().T.ravel(), lin.bias.detach().numpy()]
    return np.concatenate(parts)


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _cell(mlp, x, y, theta0, repeat, target, budget):
    """Median seconds per step of numpy, torch-1, torch-2, K, rounds, and max |θ_numpy − θ_torch|."""
    warm = {"numpy": _numpy_run(mlp, x, y, theta0, 1),
            "torch-1": _torch_run(mlp, x, y, theta0, 1, 1),
            "torch-2": _torch_run(mlp, x, y, theta0, 1, 2)}  # fmt: skip
    # Warm-up (allocator, OpenMP pool start, first touch); numpy's run (2 gradients) sets K.
    t_one = {name: _timed(fn)[0] for name, fn in warm.items()}["numpy"]
    steps = int(min(50, max(2, math.ceil(target / max(t_one / 2, 1e-9)))))
    # The slowest cells (2 layers of 512, n = 10^5: seconds per step) get fewer rounds, ≥ 3.
    rounds = int(max(3, min(repeat, budget // max(3 * t_one / 2 * (steps + 1), 1e-9))))
    runs = {"numpy": _numpy_run(mlp, x, y, theta0, steps),
            "torch-1": _torch_run(mlp, x, y, theta0, steps, 1),
            "torch-2": _torch_run(mlp, x, y, theta0, steps, 2)}  # fmt: skip
    names = list(runs)
    times = {name: [] for name in names}
    outs = {}
    for r in range(rounds):
        order = names[r % 3 :] + names[: r % 3]  # rotate so no implementation always runs first
        for name in order:
            dt, outs[name] = _timed(runs[name])
            times[name].append(dt / steps)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    diff = float(np.max(np.abs(outs["numpy"] - _torch_theta(outs["torch-1"]))))
    return steps, rounds, med, diff


def _goal(width, ratio):
    if width >= 256:
        return "yes" if ratio <= GOAL_WIDE else "NO"
    if width <= 64:
        return "yes" if ratio < GOAL_NARROW else "NO"
    return "-"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[16, 64, 256, 512], help="hidden widths h")
    parser.add_argument("--n", type=int, nargs="+", default=[1_000, 10_000, 100_000], help="sample sizes")
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2], help="numbers of hidden layers")
    parser.add_argument("--d", type=int, default=1, help="input dimension (the project's MLPs use d = 1)")
    parser.add_argument("--repeat", type=int, default=7, help="timed rounds per cell (median), at most")
    parser.add_argument("--target", type=float, default=0.3, help="seconds per timed run, sets K")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds of timed runs per cell; fewer rounds (≥ 3) in slower cells")
    args = parser.parse_args()

    blas = [f"{i['internal_api']} {i['version']} ({i['num_threads']} threads by default)"
            for i in threadpool_info() if i["user_api"] == "blas"]  # fmt: skip
    print(f"numpy {np.__version__} [{', '.join(blas)}], torch {torch.__version__} "
          f"[{torch.backends.cpu.get_cpu_capability()}, MKL {torch.backends.mkl.is_available()}]; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    print("threads: numpy = train with 1 BLAS thread (threadpool_limits(1), elementwise ufuncs are "
          "single-threaded); torch-1 = torch.set_num_threads(1); torch-2 = torch.set_num_threads(2)")
    print(f"tanh MLP, d = {args.d}, MSE, float64, Adam lr = {LR}; median of R ≤ {args.repeat} interleaved runs "
          f"after a warm-up; ms per step (K steps per run)")  # fmt: skip
    header = (f"{'depth':>5} {'width':>5} {'n':>7} {'K':>3} {'R':>2} {'numpy':>9} {'torch-1':>9} {'torch-2':>9} "
              f"{'np/t1':>6} {'np/t2':>6} {'goal':>4} {'max|dθ|':>8}")  # fmt: skip
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for depth in args.depths:
        for width in args.widths:
            for n in args.n:
                mlp = MLP(args.d, (width,) * depth, "tanh", "mse")
                x, y = _data(n, args.d, rng)
                theta0 = mlp.init(rng)
                steps, rounds, med, diff = _cell(mlp, x, y, theta0, args.repeat, args.target, args.budget)
                r1, r2 = med["numpy"] / med["torch-1"], med["numpy"] / med["torch-2"]
                print(f"{depth:>5} {width:>5} {n:>7} {steps:>3} {rounds:>2} {med['numpy'] * 1e3:>9.3f} "
                      f"{med['torch-1'] * 1e3:>9.3f} {med['torch-2'] * 1e3:>9.3f} {r1:>6.2f} {r2:>6.2f} "
                      f"{_goal(width, r1):>4} {diff:>8.1e}", flush=True)  # fmt: skip
    print(f"load average now {os.getloadavg()[0]:.2f}; goal: np/t1 ≤ {GOAL_WIDE} at width ≥ 256, "
          f"< {GOAL_NARROW} at width ≤ 64 ('-': no goal)")  # fmt: skip


if __name__ == "__main__":
    main()
