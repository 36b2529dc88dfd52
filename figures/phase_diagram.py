"""Figure ``phase_diagram`` (docs/theory.md, "Phase diagrams"): which strategy wins where in the (r, n) plane.

One panel per setting. Each cell (r, n) is coloured by the strategy with the lowest mean excess test
loss (random, SBPA keep-hard, SBPA keep-easy, EC and AC at the α chosen by the Neyman / bias-variance
rule); a dot marks a cell whose winner's paired difference with the runner-up has a t 95% interval below 0
(a significant winner). The black line is the predicted boundary between SBPA keep-hard
and random by quadrature (keep-hard predicted better below it; at the top edge: better at every n of
the range, at the bottom edge: never better); the white diamonds are the measured crossovers of
keep-hard and random with their 95% paired-bootstrap intervals (grey: a crossover in fewer than 90% of the
resamples, not decided). The network has no quadrature.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from theory_sim.experiments.phase_diagram import DECIDED, STRATEGIES, winners
from theory_sim.stats import t_summary

from . import Figure, register

LABELS = {"random": "random", "sbpa-hard": "SBPA keep-hard", "sbpa-easy": "SBPA keep-easy",
          "ec": "EC at Neyman α̂", "ac": "AC at bias-variance α̂"}
COLORS = ("#9e9e9e", "#d62728", "#ff7f0e", "#1f77b4", "#2ca02c")
TITLES = {"line": "least-squares line, sine-regression (ω = 1), |x|",
          "logistic-margin": "logistic, gaussian-logistic, margin (label-free)",
          "logistic-loss": "logistic, gaussian-logistic, loss (label-dependent)",
          "mlp": "tanh MLP (width 8), sine-regression (ω = 3), |x|"}


def _edges(values, log):
    v = np.log(values) if log else np.asarray(values, dtype=float)
    mid = (v[1:] + v[:-1]) / 2
    edges = np.r_[v[0] - (mid[0] - v[0]), mid, v[-1] + (v[-1] - mid[-1])]
    return np.exp(edges) if log else edges


def significant(res) -> np.ndarray:
    """(r, n): the winner's paired difference with the runner-up has a t 95% interval below 0."""
    mean = res.excess.mean(axis=-1)  # (r, S, n)
    order = np.argsort(mean, axis=1)
    out = np.zeros(mean.shape[::2], dtype=bool)
    for i in range(mean.shape[0]):
        for m in range(mean.shape[2]):
            a, b = order[i, 0, m], order[i, 1, m]
            out[i, m] = t_summary(res.excess[i, a, m] - res.excess[i, b, m]).ci_high < 0
    return out


def boundary_curve(res):
    """(rs, n) of the predicted keep-hard/random boundary, clipped to the n range; None without quadrature."""
    if res.boundary is None:
        return None
    lo, hi = res.config.ns[0], res.config.ns[-1]
    rs, ns = [], []
    for r, entry in sorted(res.boundary.items()):
        status, star = entry["sbpa-hard"]
        rs.append(r)
        ns.append(star if status == "crossover" else hi if status == "no-crossover-in-range" else lo)
    return np.array(rs), np.array(ns)


def plot(results):
    names = list(results.results)
    fig, axes = plt.subplots(2, 2, figsize=(10.5, 8.2), layout="constrained", squeeze=False)
    cmap = ListedColormap(COLORS)
    for ax, name in zip(axes.ravel(), names):
        res = results.results[name]
        cfg = res.config
        rs, ns = np.array(cfg.rs), np.array(cfg.ns, dtype=float)
        win = winners(res)
        sig = significant(res)
        r_edges, n_edges = _edges(rs, False), _edges(ns, True)
        ax.pcolormesh(r_edges, n_edges, cmap(win.T), alpha=0.8)
        ri, mi = np.nonzero(sig)
        ax.plot(rs[ri], ns[mi], "o", ms=3, color="k", alpha=0.6)
        curve = boundary_curve(res)
        if curve is not None:
            ax.plot(curve[0], curve[1], "k-", lw=2.2)
        else:
            ax.text(0.5, 0.97, "no quadrature prediction for a network", transform=ax.transAxes, ha="center",
                    va="top", fontsize=8, bbox=dict(fc="white", ec="none", alpha=0.8))
        for c in results.crossovers[name]:
            if c["status"] == "crossover":
                lo = c["ci_low"] if math.isfinite(c["ci_low"]) else c["n_star"]
                hi = c["ci_high"] if math.isfinite(c["ci_high"]) else c["n_star"]
                decided = c["boot_fraction"] >= DECIDED
                ax.errorbar([c["r"]], [c["n_star"]], yerr=[[c["n_star"] - min(lo, c["n_star"])],
                                                           [max(hi, c["n_star"]) - c["n_star"]]],
                            fmt="D", mfc="white" if decided else "#bbbbbb", mec="k", ecolor="k" if decided else "#666666",
                            capsize=3, ms=7 if decided else 5)
        ax.set_xscale("linear")
        ax.set_yscale("log")
        ax.set_xlim(max(r_edges[0], 0.0), min(r_edges[-1], 1.0))
        ax.set_ylim(n_edges[0], n_edges[-1])
        ax.set_xlabel("r (fraction kept)")
        ax.set_ylabel("n (data set size)")
        ax.set_title(f"{name}: {TITLES[name]}", fontsize=9)
    handles = [Patch(color=c, alpha=0.8, label=LABELS[s]) for s, c in zip(STRATEGIES, COLORS)]
    handles += [Line2D([], [], marker="o", ls="", ms=3, color="k", alpha=0.6,
                       label="• winner significantly below the runner-up (paired t 95%)"),
                Line2D([], [], color="k", lw=2.2, label="predicted boundary (quadrature): keep-hard beats random below it"),
                Line2D([], [], marker="D", ls="", mfc="white", mec="k", ms=7,
                       label="measured crossover keep-hard/random, 95% bootstrap CI"),
                Line2D([], [], marker="D", ls="", mfc="#bbbbbb", mec="k", ms=5,
                       label="the same, in < 90% of the bootstrap resamples (not decided)")]
    fig.legend(handles=handles, loc="outside upper center", ncol=3, fontsize=7.5,
               title="colour: the strategy with the lowest mean excess test loss in the cell", title_fontsize=8)
    return fig


def table(results):
    header = ["setting", "r", "n", "winner", "significant"] + [f"excess_{s}" for s in STRATEGIES] + [
        "crossover_status", "n_star", "ci_low", "ci_high", "predicted_status", "predicted_n_star"]
    rows = []
    for name, res in results.results.items():
        win, sig = winners(res), significant(res)
        mean = res.excess.mean(axis=-1)
        for i, r in enumerate(res.config.rs):
            c = results.crossovers[name][i]
            for m, n in enumerate(res.config.ns):
                rows.append([name, r, n, STRATEGIES[win[i, m]], bool(sig[i, m])] + mean[i, :, m].tolist()
                            + [c["status"], c["n_star"], c["ci_low"], c["ci_high"], c["predicted_status"],
                               c["predicted_n_star"]])
    return header, rows


def config(results):
    return {name: res.config.to_dict() for name, res in results.results.items()}


register(Figure("phase_diagram", "which strategy wins in the (r, n) plane, predicted boundary and measured crossovers",
                plot, table, config))
