"""Figure ``validity`` (claims C4, C5, C6): the validity gap of SBPA, label-free vs label-dependent.

``gaussian-logistic`` (d = 2), logistic model on the ball W = {‖θ‖ ≤ 4}. Label-free SBPA
(``margin``, keep the lowest) stays valid: V_n → V_∞ = 0 (C5). Label-dependent SBPA (``el2n``,
keep the hardest) is not: V_n → V_∞ > 0, larger at small r (C6). Left: V_n against r at the
largest n, with V_∞(r) by quadrature. Right: V_n against n at r = 0.1.
"""

from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt

from . import Figure, register

SCORES = {"margin": ("lowest", "margin (label-free), keep lowest"), "el2n": ("highest", "EL2N (label-dependent), keep hardest")}




def _errors(summary):
    """Mean and asymmetric error bars of the 95% CI, the lower one clipped so the bar stays
    positive on a log axis (V_n ≥ 0; a t-interval can reach below 0)."""
    mean = np.array([s.mean for s in summary])
    lower = np.minimum(mean - np.array([s.ci_low for s in summary]), 0.9 * mean)
    upper = np.array([s.ci_high for s in summary]) - mean
    return mean, np.array([lower, upper])


def plot(results):
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.0, 3.0), layout="constrained")
    for color, (score, (_, label)) in zip(colors, SCORES.items()):
        keys = sorted(k for k in results if k[0] == score)
        rs = np.array([k[1] for k in keys])
        mean, err = _errors([results[k].validity_summary[-1] for k in keys])
        left.errorbar(rs, mean, yerr=err, marker="o", capsize=2, color=color, label=f"{label}: $V_n$")
        v_inf = np.array([results[k].limits.v_inf for k in keys])
        if np.all(v_inf > 0):
            left.plot(rs, v_inf, "--", color=color, label="$V_\\infty$ (quadrature)")
        else:
            left.annotate("$V_\\infty = 0$ (quadrature)", (rs[-1], mean[-1]), textcoords="offset points",
                          xytext=(-60, -14), fontsize=7, color=color)
        res = results[keys[0]]
        n = np.array([s.n for s in res.validity_summary])
        mean, err = _errors(res.validity_summary)
        right.errorbar(n, mean, yerr=err, marker="o", capsize=2, color=color, label=label)
        if res.limits.v_inf > 0:
            right.axhline(res.limits.v_inf, color=color, ls="--", lw=1.0)
    if "margin" in SCORES:
        guide_res = results[sorted(k for k in results if k[0] == "margin")[0]]
        n = np.array([s.n for s in guide_res.validity_summary])
        right.plot(n, guide_res.validity_summary[0].mean * n[0] / n, ":", color="k", label="$\\propto n^{-1}$")
    left.set_xlabel("r (fraction kept)")
    left.set_ylabel("$V_n = L(\\hat\\theta_n) - \\min_W L$")
    left.set_yscale("log")
    left.set_title(f"SBPA at n = {results[next(iter(results))].config.ns[-1]:,}", fontsize=8)
    left.legend(fontsize=6)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("n (sample size before pruning)")
    right.set_ylabel("$V_n$ (mean, 95% CI)")
    right.set_title(f"SBPA at r = {min(k[1] for k in results)}; dashed: $V_\\infty$", fontsize=8)
    right.legend(fontsize=6)
    fig.suptitle("Validity: a label-free score keeps the minimiser, a label-dependent one moves it", fontsize=9)
    return fig


def table(results):
    header = ["score", "keep", "r", "n", "v_mean", "v_ci_low", "v_ci_high", "v_inf"]
    rows = [[k[0], res.config.keep, k[1], s.n, s.mean, s.ci_low, s.ci_high, res.limits.v_inf]
            for k, res in sorted(results.items()) for s in res.validity_summary]
    return header, rows


def config(results):
    return {f"{k[0]} r={k[1]}": res.config.to_dict() for k, res in results.items()}


register(Figure("validity", "C4/C5/C6: validity gap of SBPA vs r and n, label-free vs label-dependent score",
                plot, table, config))
