"""The consistency-gap workload — L^A(θ_j) = Σ_i p_i f(z_i; θ_j) over a net of m parameters —
timed for every implementation in one run.

Run by hand (not in CI):

    python benchmarks/bench_consistency_kernel.py [--k 100000 300000] [--d 2 5] [--m 256] [--repeat 5]

Workload: logistic loss, k kept points x ~ N(0, I_d) with labels and weights p_i = 1/k, m
parameter points θ_j ~ N(0, I_{d+1}). Implementations:

- ``numba``: :func:`theory_sim.models.linear.net_losses` at 1 and at 2 threads (``numba.set_num_threads``);
- ``numba libm``: the same loop structure with the scalar ``max(z, 0) + log1p(exp(−|z|))``
  (what a straightforward kernel does; not vectorised: no SVML in the llvmlite wheels), 2 threads;
- ``numpy reference``: :func:`theory_sim.models.linear.net_losses_reference`, the bitwise twin;
- ``numpy logaddexp``: plain vectorised numpy, ``p @ np.logaddexp(0, −(2y−1)·(X̃ Θᵀ))`` in row
  chunks (fast but not bitwise: BLAS order, pairwise sums);
- ``torch``: ``P @ softplus((X̃ Θᵀ)·s)`` on the full (k, m) matrix, float64, 2 threads (optional).

Prints ns per (point × parameter) evaluation, the median of ``--repeat`` runs after one
warm-up, and the ratios. The machine is shared and noisy: only ratios measured in the same
run mean anything; the load average is printed so a noisy run can be recognised.
"""

import argparse
import math
import os
import statistics
import time

import numba
import numpy as np

from theory_sim.models.linear import NET_BLOCK, make_model, net_losses, net_losses_reference

try:
    import torch
except ImportError:  # optional
    torch = None


@numba.njit(parallel=True, error_model="numpy")
def _libm_kernel(x, y, p, wt, out):  # the same blocking as net_losses, scalar libm softplus
    k, d = x.shape
    m = wt.shape[1]
    for blk in numba.prange((m + NET_BLOCK - 1) // NET_BLOCK):
        j0 = blk * NET_BLOCK
        nb = min(NET_BLOCK, m - j0)
        v = np.empty(nb)
        acc = np.zeros(nb)
        for i in range(k):
            for jj in range(nb):
                v[jj] = x[i, 0] * wt[0, j0 + jj]
            for c in range(1, d):
                for jj in range(nb):
                    v[jj] = v[jj] + x[i, c] * wt[c, j0 + jj]
            si = 1.0 - 2.0 * y[i]
            for jj in range(nb):
                z = si * (v[jj] + wt[d, j0 + jj])
                acc[jj] = acc[jj] + p[i] * (max(z, 0.0) + math.log1p(math.exp(-abs(z))))
        for jj in range(nb):
            out[j0 + jj] = acc[jj]


def _libm(x, y, p, thetas):
    out = np.empty(thetas.shape[0])
    _libm_kernel(x, y, p, np.ascontiguousarray(thetas.T), out)
    return out


def _numpy_logaddexp(x, y, p, thetas, chunk=8192):
    design = np.hstack([x, np.ones((x.shape[0], 1))])
    sign = 1.0 - 2.0 * y
    total = np.zeros(thetas.shape[0])
    for s in range(0, x.shape[0], chunk):
        z = (design[s : s + chunk] @ thetas.T) * sign[s : s + chunk, None]
        total += p[s : s + chunk] @ np.logaddexp(0.0, z)
    return total


def _torch_fn(x, y, p, thetas):
    design = torch.from_numpy(np.hstack([x, np.ones((x.shape[0], 1))]))
    sign = torch.from_numpy(1.0 - 2.0 * y)
    weights = torch.from_numpy(p)
    params = torch.from_numpy(np.ascontiguousarray(thetas))

    def run():
        with torch.no_grad():
            z = (design @ params.T) * sign[:, None]
            return (weights @ torch.nn.functional.softplus(z)).numpy()

    return run


def _median_ns(fn, repeat, evaluations):
    fn()  # warm-up: compilation, first-touch of memory
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / evaluations * 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[100_000, 300_000], help="kept points")
    parser.add_argument("--d", type=int, nargs="+", default=[2, 5], help="dimensions")
    parser.add_argument("--m", type=int, default=256, help="parameter points in the net")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per implementation (median)")
    args = parser.parse_args()

    threads = min(2, numba.config.NUMBA_NUM_THREADS)
    print(
        f"numba {numba.__version__}, "
        f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    if torch is None:
        print("torch not installed: its rows are skipped")
    else:
        torch.set_num_threads(2)
    header = f"{'k':>8} {'d':>2} {'implementation':<24} {'ns/eval':>9}"
    print(f"m = {args.m}, logistic loss, median of {args.repeat} after a warm-up; ns per (point × parameter)")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    summary = []
    for k in args.k:
        for d in args.d:
            model = make_model("logistic", d)
            x = rng.standard_normal((k, d))
            y = (rng.random(k) < 0.5).astype(np.float64)
            p = np.full(k, 1.0 / k)
            thetas = rng.standard_normal((args.m, d + 1))
            evaluations = k * args.m
            rows = {}
            for n in (1, threads):
                numba.set_num_threads(n)
                rows[f"numba, {n} thread{'s' if n > 1 else ''}"] = _median_ns(
                    lambda: net_losses(model, thetas, x, y, p), args.repeat, evaluations
                )
            numba.set_num_threads(threads)
            rows[f"numba libm, {threads} threads"] = _median_ns(lambda: _libm(x, y, p, thetas), args.repeat, evaluations)
            rows["numpy reference (twin)"] = _median_ns(
                lambda: net_losses_reference(model, thetas, x, y, p), args.repeat, evaluations
            )
            rows["numpy logaddexp"] = _median_ns(lambda: _numpy_logaddexp(x, y, p, thetas), args.repeat, evaluations)
            if torch is not None:
                rows["torch, 2 threads"] = _median_ns(_torch_fn(x, y, p, thetas), args.repeat, evaluations)
            # Sanity: every implementation computes the same numbers (to rounding).
            ref = net_losses(model, thetas, x, y, p)
            np.testing.assert_allclose(_numpy_logaddexp(x, y, p, thetas), ref, rtol=1e-10)
            np.testing.assert_allclose(_libm(x, y, p, thetas), ref, rtol=1e-12)
            for name, ns in rows.items():
                print(f"{k:>8} {d:>2} {name:<24} {ns:>9.2f}")
            fast = rows[f"numba, {threads} threads"]
            summary.append((k, d, rows["numpy reference (twin)"] / fast, rows["numpy logaddexp"] / fast,
                            rows[f"numba libm, {threads} threads"] / fast,
                            rows["torch, 2 threads"] / fast if torch is not None else float("nan"),
                            rows["numba, 1 thread"] / fast))  # fmt: skip
    print(f"\nnumba threading layer: {numba.threading_layer()}, load average now {os.getloadavg()[0]:.2f}")
    print("ratios (time of X / time of numba at 2 threads; larger = numba faster)")
    print(f"{'k':>8} {'d':>2} {'reference':>10} {'logaddexp':>10} {'libm':>8} {'torch':>8} {'1→2 thr':>8}")
    for k, d, r_ref, r_lae, r_libm, r_torch, r_thr in summary:
        print(f"{k:>8} {d:>2} {r_ref:>10.1f} {r_lae:>10.1f} {r_libm:>8.2f} {r_torch:>8.2f} {r_thr:>8.2f}")


if __name__ == "__main__":
    main()
