"""Figure ``consistency`` (claims C2, C3, C10, C11): Δ_n against n for the four protocols.

``gaussian-logistic`` (d = 2), ``margin`` score, r = 0.1, logistic model, the 256-point net of
the ball ‖θ‖ ≤ 4. Random pruning and EC (α = 0.5) fall like n^{-1/2}; SBPA and AC (α = 0.5)
level off at their limits Δ_∞ (dashed), computed independently by quadrature.
"""

from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt

from . import Figure, register

LABELS = {"sbpa": "SBPA", "random": "random", "ec": "EC (α=0.5)", "ac": "AC (α=0.5)"}


def plot(results):
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, ax = plt.subplots(figsize=(4.6, 3.3), layout="constrained")
    for color, (proto, res) in zip(colors, results.items()):
        n = np.array([s.n for s in res.delta_summary])
        mean = np.array([s.mean for s in res.delta_summary])
        err = np.array([[s.mean - s.ci_low for s in res.delta_summary], [s.ci_high - s.mean for s in res.delta_summary]])
        fit = res.delta_fit
        ax.errorbar(n, mean, yerr=err, marker="o", capsize=2, color=color,
                    label=f"{LABELS[proto]}: slope {fit.slope:+.2f}" if fit else LABELS[proto])
        if res.limits.delta_inf > 1e-12:
            ax.axhline(res.limits.delta_inf, color=color, ls="--", lw=1.0)
            ax.annotate(f"$\\Delta_\\infty$ = {res.limits.delta_inf:.3f}", (n[0], res.limits.delta_inf),
                        textcoords="offset points", xytext=(0, 3), fontsize=7, color=color)
    rnd = results["random"].delta_summary
    n = np.array([s.n for s in rnd])
    ax.plot(n, rnd[0].mean * (n / n[0]) ** -0.5, ":", color="k", label="$\\propto n^{-1/2}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n (sample size before pruning)")
    ax.set_ylabel("$\\Delta_n = \\max_{\\theta\\in W} |L_n^A(\\theta) - L(\\theta)|$")
    ax.set_title("Consistency at r = 0.1 (gaussian-logistic, margin); mean and 95% CI", fontsize=8)
    ax.legend(loc="lower left", fontsize=6.5)
    return fig


def table(results):
    header = ["protocol", "n", "delta_mean", "delta_ci_low", "delta_ci_high", "delta_inf", "slope", "slope_ci_low",
              "slope_ci_high"]
    rows = []
    for proto, res in results.items():
        fit = res.delta_fit
        for s in res.delta_summary:
            rows.append([proto, s.n, s.mean, s.ci_low, s.ci_high, res.limits.delta_inf, fit.slope, fit.ci_low,
                         fit.ci_high])
    return header, rows


def config(results):
    return {proto: res.config.to_dict() for proto, res in results.items()}


register(Figure("consistency", "C2/C3/C10/C11: consistency gap vs n for SBPA, random, EC and AC", plot,
                table, config))
