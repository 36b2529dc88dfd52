"""Figure ``calibration`` (claims C10, C11, C12): test loss against the signal fraction α.

``gaussian-logistic`` (d = 2), ``el2n`` score keeping the hardest points, logistic model on W.
For r ∈ {0.1, 0.2, 0.3}: the population loss L(θ̂) of the model fitted on the pruned sample,
for exact calibration (EC, weights 1/n on S and (n − k_s)/(n(k − k_s)) on E) and approximate
calibration (AC, equal weights). α = 0 is random pruning; AC at α = 1 is SBPA.
"""

from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt

from . import Figure, register





def plot(results):
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    rs = sorted({k[1] for k in results})
    fig, ax = plt.subplots(figsize=(4.8, 3.3), layout="constrained")
    for color, r in zip(colors, rs):
        for proto, style in (("ec", "-o"), ("ac", "--s")):
            keys = sorted(k for k in results if k[0] == proto and k[1] == r)
            alphas = np.array([k[2] for k in keys])
            s = [results[k].validity_summary[0] for k in keys]
            min_loss = results[keys[0]].limits.min_loss
            mean = np.array([x.mean for x in s]) + min_loss
            err = np.array([[x.mean - x.ci_low for x in s], [x.ci_high - x.mean for x in s]])
            ax.errorbar(alphas, mean, yerr=err, fmt=style, color=color, capsize=2, mfc="white" if proto == "ac" else color,
                        label=f"{proto.upper()}, r = {r}")
    ax.axhline(min_loss, color="k", lw=0.8, ls=":", label="$\\min_W L$")
    n = results[next(iter(results))].config.ns[0]
    ax.set_xlabel("α (signal fraction; 0 = random, AC at 1 = SBPA)")
    ax.set_ylabel("test loss $L(\\hat\\theta)$ (mean, 95% CI)")
    ax.set_yscale("log")
    ax.set_title(f"Calibration, EL2N keep-hardest, n = {n:,}", fontsize=8)
    ax.legend(fontsize=6, ncol=2)
    return fig


def table(results):
    header = ["protocol", "r", "alpha", "n", "test_loss_mean", "ci_low", "ci_high", "min_loss"]
    rows = []
    for (proto, r, a), res in sorted(results.items()):
        s, m = res.validity_summary[0], res.limits.min_loss
        rows.append([proto, r, a, s.n, s.mean + m, s.ci_low + m, s.ci_high + m, m])
    return header, rows


def config(results):
    return {f"{k[0]} r={k[1]} alpha={k[2]}": res.config.to_dict() for k, res in results.items()}


register(Figure("calibration", "C10/C11/C12: test loss vs alpha for EC and AC at r = 0.1, 0.2, 0.3", plot,
                table, config))
