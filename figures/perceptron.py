"""Figure ``perceptron``: the teacher–student perceptron of Sorscher et al. (2022) in two limits.

Left and middle: the proportional regime (P/N = α fixed, N growing; one line style per N), test
error against α for random pruning, keep-hard and keep-easy (probe margin, a label-free score) at
r = 0.3, with a perfect probe (θ = 0) and an imperfect one (θ = 0.3 rad). Right: the fixed-N regime
(N fixed, P → ∞), log-log, with the fitted slopes and their 95% intervals.
"""

from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt

from . import Figure, register

COLORS = {"random": "0.4", "keep-hard": "C3", "keep-easy": "C0"}
STYLES = ("-", "--", ":", "-.")


def plot(results):
    prop, fixed = results["proportional"], results["fixed-n"]
    fig, axes = plt.subplots(1, 3, figsize=(10.0, 3.4), layout="constrained")
    thetas = prop.config.thetas
    for ax, theta in zip(axes[:2], thetas[:2]):
        ns = sorted({n for n, _ in prop.config.pairs})
        for (th, name), entry in prop.rows.items():
            if th != theta:
                continue
            for style, n_dim in zip(STYLES, ns):
                pts = [pt for pt in entry["points"] if pt[0] == n_dim]
                alpha = np.array([p / n for n, p, *_ in pts])
                mean = np.array([pt[2] for pt in pts])
                err = np.array([[m - pt[3] for m, pt in zip(mean, pts)], [pt[4] - m for m, pt in zip(mean, pts)]])
                ax.errorbar(alpha, mean, yerr=err, color=COLORS[name], ls=style, marker="o", ms=2.5, capsize=1.5,
                            lw=1.0, label=f"{name}, N={n_dim}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("α = P/N (before pruning)")
        ax.set_ylabel("test error ε (mean, 95% CI)")
        ax.set_title(f"proportional regime, probe angle θ = {theta:g} rad", fontsize=8)
    axes[0].legend(fontsize=5, ncol=2)
    ax = axes[2]
    for (theta, name), entry in fixed.rows.items():
        ps = np.array([pt[1] for pt in entry["points"]], float)
        mean = np.array([pt[2] for pt in entry["points"]])
        err = np.array([mean - [pt[3] for pt in entry["points"]], np.array([pt[4] for pt in entry["points"]]) - mean])
        err[0] = np.minimum(err[0], 0.9 * mean)
        s = entry.get("slope")
        label = f"{name}, θ={theta:g}" + ("" if s is None else f": slope {s[0]:+.2f} [{s[1]:+.2f}, {s[2]:+.2f}]")
        ax.errorbar(ps, mean, yerr=err, color=COLORS[name], ls="-" if theta == 0 else "--", marker="o", ms=2.5,
                    capsize=1.5, lw=1.0, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("P (N fixed)")
    ax.set_ylabel("test error ε")
    ax.set_title(f"fixed-N regime, N = {fixed.config.pairs[0][0]}", fontsize=8)
    ax.legend(fontsize=5)
    fig.suptitle(f"Teacher–student perceptron, label-free probe margin, r = {prop.config.r}: keep-hard vs keep-easy "
                 "vs random", fontsize=9)
    return fig


def table(results):
    header = ["regime", "theta", "strategy", "N", "P", "error_mean", "error_ci_low", "error_ci_high", "slope",
              "slope_ci_low", "slope_ci_high"]
    rows = []
    for regime, res in results.items():
        for (theta, name), entry in res.rows.items():
            s = entry.get("slope") or (np.nan, np.nan, np.nan)
            rows += [[regime, theta, name, n, p, m, lo, hi, *s] for n, p, m, lo, hi in entry["points"]]
    return header, rows


def config(results):
    return {regime: res.config.to_dict() for regime, res in results.items()}


register(Figure("perceptron", "teacher-student perceptron (Sorscher et al. 2022): keep-hard vs keep-easy, perfect "
                "vs imperfect probe, proportional vs fixed-N regime", plot, table, config))
