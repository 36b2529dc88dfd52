"""Figure ``mnist1d_scaling``: pruned scaling laws on MNIST-1D (the paper's empirical headline at scale).

Per seed a training set D_n of n examples from one generated MNIST-1D pool, EL2N and the
label-free top-two logit gap from a softmax probe MLP, pruning to a fraction r by each strategy,
then a one-hidden-layer MLP trained by mini-batch Adam on the kept points; test error at the
final step on a fixed held-out test set. One panel per r: test error against the number kept
k = ⌊r n⌋ (log k), mean over seeds with Student-t 95 % intervals; the dotted black curve is
the same network on all of D_n (k = n). The last panel shows, per r, the paired difference
SBPA keep-hard − random at the largest n (positive: random is better). The CSV holds every
plotted number, the per-seed errors, the paired differences with random, the power-law fits
and the crossovers.
"""

from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt

from theory_sim.experiments.mnist1d_scaling import scaling_summary
from theory_sim.validation import budget

from . import Figure, register

LABELS = {"random": "random", "random-b": "random (2nd draw, control)", "sbpa-hard": "SBPA keep-hard (EL2N)",
          "sbpa-easy": "SBPA keep-easy (EL2N)", "sbpa-hard-lf": "SBPA keep-hard (label-free gap)",
          "sbpa-easy-lf": "SBPA keep-easy (label-free gap)", "ec": "EC (α=0.5)", "ac": "AC (α=0.5)"}
STYLE = {"random": ("o", "-"), "random-b": ("o", ":"), "sbpa-hard": ("^", "-"), "sbpa-easy": ("v", "-"),
         "sbpa-hard-lf": ("^", "--"), "sbpa-easy-lf": ("v", "--"), "ec": ("s", "-"), "ac": ("D", "-")}


def plot(res):
    result = res["mnist1d"]
    cfg = result.config
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    mean, lo, hi = result.summary("error")
    ns = np.asarray(cfg.ns, dtype=float)
    panels = len(cfg.rs) + 1
    cols = 3
    rows = -(-panels // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10.0, 3.2 * rows), layout="constrained", squeeze=False)
    full = result.full_error.mean(axis=1)
    for i, r in enumerate(cfg.rs):
        ax = axes.flat[i]
        k = np.array([budget(r, n) for n in cfg.ns], dtype=float)
        for p, strategy in enumerate(cfg.strategies):
            marker, ls = STYLE[strategy]
            color = colors[p % len(colors)]
            ax.errorbar(k, mean[p, i], yerr=[mean[p, i] - lo[p, i], hi[p, i] - mean[p, i]], marker=marker, ls=ls,
                        color=color, ms=4, lw=1, capsize=2, label=LABELS[strategy])
        ax.plot(ns, full, color="k", ls=":", lw=1, label="all of $D_n$ ($k=n$)")
        ax.set_xscale("log")
        ax.set_xlabel("number kept $k=\\lfloor rn \\rfloor$")
        ax.set_ylabel("test error (final step)")
        ax.set_title(f"r = {r:g}" + ("  (paper's regime r ≤ 0.3)" if r <= 0.3 + 1e-12 else ""), fontsize=9)
    ax = axes.flat[len(cfg.rs)]
    for p, strategy in enumerate(cfg.strategies):
        if strategy == "random":
            continue
        _, d_mean, d_lo, d_hi = result.paired_difference(strategy, "random")
        x = np.arange(len(cfg.rs)) + 0.08 * (p - len(cfg.strategies) / 2)
        ax.errorbar(x, d_mean[:, -1], yerr=[d_mean[:, -1] - d_lo[:, -1], d_hi[:, -1] - d_mean[:, -1]],
                    marker=STYLE[strategy][0], ls="none", color=colors[p % len(colors)], ms=4, capsize=2)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xticks(np.arange(len(cfg.rs)), [f"{r:g}" for r in cfg.rs])
    ax.set_xlabel("fraction kept $r$")
    ax.set_ylabel(f"error(strategy) − error(random)\nat n = {cfg.ns[-1]} (paired, t 95%)")
    ax.set_title("> 0: random is better", fontsize=9)
    for extra in axes.flat[panels:]:
        extra.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=5, fontsize=7)
    fig.suptitle(f"MNIST-1D: {cfg.activation} MLP width {cfg.width}, mini-batch Adam ({cfg.batch_size}, lr {cfg.lr:g}, "
                 f"≥{cfg.epochs} epochs, ≥{cfg.min_steps} steps); probe ≥{cfg.probe_epochs} epochs, "
                 f"≥{cfg.probe_min_steps} steps × {cfg.probe_inits} "
                 f"inits; test set {cfg.n_test}; mean of {cfg.seeds} seeds, t 95% intervals", fontsize=8)
    return fig


def table(res):
    result = res["mnist1d"]
    cfg = result.config
    summary = scaling_summary(result)
    mean, lo, hi = result.summary("error")
    header = ["kind", "r", "strategy", "n", "k", "error_mean", "error_lo95", "error_hi95", "minus_random_mean",
              "minus_random_lo95", "minus_random_hi95", "slope", "slope_lo95", "slope_hi95", "crossing_status",
              "n_star", "n_star_lo95", "n_star_hi95", "error_per_seed"]
    rows = []
    for i, r in enumerate(cfg.rs):
        for p, strategy in enumerate(cfg.strategies):
            diff = (result.paired_difference(strategy, "random") if "random" in cfg.strategies else None)
            for j, n in enumerate(cfg.ns):
                d = ([diff[1][i, j], diff[2][i, j], diff[3][i, j]] if diff is not None else ["", "", ""])
                rows.append(["error", r, strategy, n, budget(r, n), mean[p, i, j], lo[p, i, j], hi[p, i, j], *d,
                             "", "", "", "", "", "", "", ";".join(f"{e:.6g}" for e in result.error[p, i, j])])
            entry = summary[r][strategy]
            for kind in ("fit", "tail"):
                f = entry[kind]
                if f is not None:
                    rows.append([f"power-law {kind} (n {f.n_min}..{f.n_max})", r, strategy, "", "", "", "", "", "",
                                 "", "", f.slope, f.ci_low, f.ci_high, "", "", "", "", ""])
            c = entry["crossing"]
            if c is not None:
                rows.append(["crossing with random", r, strategy, "", "", "", "", "", "", "", "", "", "", "",
                             c.status, c.n_star, c.ci_low, c.ci_high, ""])
    for j, n in enumerate(cfg.ns):
        rows.append(["error", 1.0, "all-of-D_n", n, n, result.full_error[j].mean(), "", "", "", "", "", "", "", "",
                     "", "", "", "", ";".join(f"{e:.6g}" for e in result.full_error[j])])
    return header, rows


def config(res):
    return {key: result.config.to_dict() for key, result in res.items()}


register(Figure("mnist1d_scaling", "Pruned scaling laws on MNIST-1D: test error vs number kept, per r", plot, table,
                config))
