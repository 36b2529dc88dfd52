"""Figure ``limit`` (claim C1): what each protocol keeps, and how fast it reaches its limit.

Left: one sample of the 2-D ``gaussian-logistic`` process (grey), the points kept by SBPA,
random, EC and AC (α = 0.5) at r = 0.1 and r = 0.3 (marker area ∝ weight), and the boundary
of the acceptance region (SBPA: A_r; EC/AC: A_{αr}) of the ``margin`` score. Right: the
function gap between the kept sample and its limit (SBPA: ν_r; random and EC: µ; AC: its
limit density) against n, with SBPA's gap to µ, which stays flat, and an n^{-1/2} guide.
"""

from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt

from theory_sim.experiments.limit import PROTOCOLS, R_CURVES

from . import Figure, register

LABELS = {"sbpa": "SBPA", "random": "random", "ec": "EC", "ac": "AC"}


def plot(results):
    panels, curves = results
    cfg = panels.config
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig = plt.figure(figsize=(7.0, 3.4), layout="constrained")
    grid = fig.add_gridspec(len(cfg.rs), len(cfg.protocols) + 2)
    for i, r in enumerate(cfg.rs):
        for j, proto in enumerate(cfg.protocols):
            ax = fig.add_subplot(grid[i, j])
            sel = panels.selections[(r, proto)]
            ax.scatter(panels.x[:, 0], panels.x[:, 1], s=1.0, c="0.82", lw=0, rasterized=True)
            size = 3.0 * sel.weights / sel.weights.mean()
            ax.scatter(panels.x[sel.indices, 0], panels.x[sel.indices, 1], s=size, c=colors[j], lw=0,
                       rasterized=True)
            if proto != "random" and panels.grid_score is not None:
                level = r if proto == "sbpa" else cfg.alpha * r
                ax.contour(panels.grid_x, panels.grid_y, panels.grid_score, levels=[panels.quantiles[level].value],
                           colors="k", linewidths=0.7)
            ax.set_xlim(panels.grid_x[[0, -1]])
            ax.set_ylim(panels.grid_y[[0, -1]])
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(LABELS[proto] + (f" (α={cfg.alpha})" if proto in ("ec", "ac") else ""), fontsize=8)
            if j == 0:
                ax.set_ylabel(f"r = {r}\n$x_2$")
            if i == len(cfg.rs) - 1:
                ax.set_xlabel("$x_1$")
    ax = fig.add_subplot(grid[:, len(cfg.protocols):])
    for j, proto in enumerate(PROTOCOLS):
        res = curves[proto]
        n = np.array([row.n for row in res.rows])
        y = np.array([row.gap_limit for row in res.rows])
        err = 1.96 * np.nan_to_num(np.array([row.gap_limit_se for row in res.rows]))
        fit = res.fit_limit
        slope = f", slope {fit.slope:+.2f}" if fit is not None else ""
        ax.errorbar(n, y, yerr=err, marker="o", color=colors[j], label=f"{LABELS[proto]} → its limit{slope}",
                    capsize=2)
    sb = curves["sbpa"]
    n = np.array([row.n for row in sb.rows])
    ax.plot(n, [row.gap_mu for row in sb.rows], "s--", color=colors[0], mfc="white", label="SBPA → µ")
    guide = curves["random"].rows[0].gap_limit * (n / n[0]) ** -0.5
    ax.plot(n, guide, ":", color="k", label="$\\propto n^{-1/2}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    lowest = min(row.gap_limit for res in curves.values() for row in res.rows)
    ax.set_ylim(bottom=lowest / 12)  # room for the legend under the curves
    ax.set_xlabel("n (sample size before pruning)")
    ax.set_ylabel("function gap (max over 64 cosines)")
    ax.set_title(f"distance to the limit, r = {R_CURVES}", fontsize=8)
    ax.legend(loc="lower left", fontsize=6.5)
    fig.suptitle("C1: SBPA keeps a sample of ν_r = µ|A_r / r, not of µ (gaussian-logistic, margin score)",
                 fontsize=9)
    return fig


def table(results):
    _, curves = results
    header = ["protocol", "n", "k", "gap_to_limit", "gap_to_limit_se", "gap_to_mu", "gap_to_mu_se", "ks_to_limit",
              "ks_to_mu", "threshold", "q"]
    rows = []
    for proto, res in curves.items():
        q = res.quantile.value if res.quantile is not None else ""
        for row in res.rows:
            rows.append([proto, row.n, row.k, row.gap_limit, row.gap_limit_se, row.gap_mu, row.gap_mu_se,
                         row.ks_limit, row.ks_mu, row.threshold, q])
    return header, rows


def config(results):
    panels, curves = results
    return {"panels": panels.config.to_dict(), "curves": {p: res.config.to_dict() for p, res in curves.items()}}


register(Figure("limit", "C1: kept points of SBPA/random/EC/AC and their distance to the limit vs n", plot,
                table, config))
