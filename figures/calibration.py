"""Figure ``calibration`` (claims C10, C11, C12): the excess loss against the signal fraction α, paired with random.

``gaussian-logistic`` (d = 2), ``el2n`` score keeping the hardest points, logistic model on W.
For r ∈ {0.1, 0.2, 0.3}: the excess loss V_n = L(θ̂) − min_W L of the model fitted on the pruned sample,
for exact calibration (EC, weights 1/n on S and (n − k_s)/(n(k − k_s)) on E) and approximate
calibration (AC, equal weights). α = 0 is random pruning; AC at α = 1 is SBPA.

Left: V_n (mean, t 95% interval). Right: the paired difference V_n(α) − V_n(random) per replication,
with its t 95% interval: every config of the experiment draws replication j at size n from the same
stream (docs/theory.md, "Randomness"), so all α see the same D_n, and EC at α = 0 is random pruning
(the same selection). Below 0: calibrated pruning beats random on the same data. (Earlier versions
plotted L(θ̂) itself on a log axis, where min L ≈ 0.43 flattened every EC curve; the experiment and
its numbers are unchanged.)
"""

from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt

from theory_sim.stats import t_summary

from . import Figure, register


def paired_with_random(results, proto, r):
    """(alphas, t-summary of V_n(α) − V_n(random)) at the config's n; None when α = 0 is not in the run."""
    base = results.get(("ec", r, 0.0))
    if base is None:
        return None
    keys = sorted(k for k in results if k[0] == proto and k[1] == r)
    diffs = np.stack([results[k].validity[0] - base.validity[0] for k in keys])
    return np.array([k[2] for k in keys]), t_summary(diffs, axis=1)


def plot(results):
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    rs = sorted({k[1] for k in results})
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.4, 3.4), layout="constrained")
    for color, r in zip(colors, rs):
        for proto, style in (("ec", "-o"), ("ac", "--s")):
            keys = sorted(k for k in results if k[0] == proto and k[1] == r)
            alphas = np.array([k[2] for k in keys])
            s = [results[k].validity_summary[0] for k in keys]
            mean = np.array([x.mean for x in s])
            err = np.array([[x.mean - x.ci_low for x in s], [x.ci_high - x.mean for x in s]])
            mfc = "white" if proto == "ac" else color
            ax.errorbar(alphas, mean, yerr=err, fmt=style, color=color, capsize=2, mfc=mfc,
                        label=f"{proto.upper()}, r = {r}")
            paired = paired_with_random(results, proto, r)
            if paired is not None:
                a, t = paired
                bx.errorbar(a, t.mean, yerr=[t.mean - t.ci_low, t.ci_high - t.mean], fmt=style, color=color,
                            capsize=2, mfc=mfc, label=f"{proto.upper()}, r = {r}")
    n = results[next(iter(results))].config.ns[0]
    ax.set_xlabel("α (signal fraction; 0 = random, AC at 1 = SBPA)")
    ax.set_ylabel("excess loss $L(\\hat\\theta) - \\min_W L$ (mean, 95% CI)")
    ax.set_yscale("log")
    ax.set_title(f"Calibration, EL2N keep-hardest, n = {n:,}", fontsize=8)
    ax.legend(fontsize=6, ncol=2)
    bx.axhline(0.0, color="k", lw=0.8)
    bx.set_yscale("symlog", linthresh=1e-4)
    bx.set_xlabel("α")
    bx.set_ylabel("paired $V_n(\\alpha) - V_n(\\mathrm{random})$, same $D_n$ (95% CI)")
    bx.set_title("below 0: calibrated pruning beats random", fontsize=8)
    bx.legend(fontsize=6, ncol=2)
    return fig


def table(results):
    header = ["protocol", "r", "alpha", "n", "test_loss_mean", "ci_low", "ci_high", "min_loss", "excess_mean",
              "excess_ci_low", "excess_ci_high", "minus_random_mean", "minus_random_ci_low", "minus_random_ci_high"]
    rows = []
    for (proto, r, a), res in sorted(results.items()):
        s, m = res.validity_summary[0], res.limits.min_loss
        paired = paired_with_random(results, proto, r)
        if paired is None:
            d = ("", "", "")
        else:
            i = list(paired[0]).index(a)
            d = (float(paired[1].mean[i]), float(paired[1].ci_low[i]), float(paired[1].ci_high[i]))
        rows.append([proto, r, a, s.n, s.mean + m, s.ci_low + m, s.ci_high + m, m, s.mean, s.ci_low, s.ci_high, *d])
    return header, rows


def config(results):
    return {f"{k[0]} r={k[1]} alpha={k[2]}": res.config.to_dict() for k, res in results.items()}


register(Figure("calibration", "C10/C11/C12: excess loss vs alpha for EC and AC at r = 0.1, 0.2, 0.3, paired with "
                "random pruning on the same D_n", plot, table, config))
