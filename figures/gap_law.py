"""Figure ``gap_law`` (docs/theory.md, "The law of the gaps"): the simulated √k · gap against its limit law.

One panel per protocol (columns: SBPA, random, EC, AC) and r (rows): the empirical CDF of √k · gap over the
replications, measured against a target sample of size m (and, thin, against the exact target mean), the CDF
of its limit law max_j |Z_j|, Z ~ N(0, Σ + (k/m) Cov_target) (Σ by quadrature, simulated), and the negative
control (the law with its scale off by 20%), with the KS p-values.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib import pyplot as plt

from theory_sim.experiments.gap_law import CONTROL_SCALE, PROTOCOLS, RS, summary

from . import Figure, register

LABELS = {"sbpa": "SBPA", "random": "random", "ec": "EC (α = 0.5)", "ac": "AC (α = 0.5)"}


def _ecdf(values):
    x = np.sort(values)
    return x, np.arange(1, x.shape[0] + 1) / x.shape[0]


def plot(results):
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    s = summary(results)
    fig, axes = plt.subplots(len(RS), len(PROTOCOLS), figsize=(3.2 * len(PROTOCOLS), 2.9 * len(RS)),
                             layout="constrained", squeeze=False, sharex="col")
    for i, r in enumerate(RS):
        for j, proto in enumerate(PROTOCOLS):
            key = f"{proto}, r={r:g}"
            ax = axes[i, j]
            if key not in results:
                ax.set_visible(False)
                continue
            res, e = results[key], s[key]
            ax.step(*_ecdf(res.law_sample), where="post", color="k", lw=1.2, label="limit law (Σ + k/m Cov)")
            ax.step(*_ecdf(math.sqrt(CONTROL_SCALE) * res.law_sample), where="post", color=colors[3], lw=1, ls="--",
                    label="control: scale × 1.2")
            ax.step(*_ecdf(res.scaled_sample), where="post", color=colors[0], lw=1.2,
                    label=f"simulated ({e['reps']} reps)")
            ax.step(*_ecdf(res.scaled_exact), where="post", color=colors[1], lw=0.8, alpha=0.7,
                    label="vs exact target mean")
            ax.step(*_ecdf(res.law_exact), where="post", color="0.5", lw=0.8, ls=":", label="its law (Σ)")
            ax.set_title(f"{LABELS[proto]}, r = {r:g}, k = {e['k']:,}, m = {e['n_target']:,}", fontsize=8)
            ax.text(0.98, 0.04, f"KS p = {e['ks_p_sample']:.2g} (sample)\n{e['ks_p_exact']:.2g} (exact mean)\n"
                                f"control p = {e['control_p']:.1g}\nmean {e['mean_scaled_gap']:.3f} vs "
                                f"E max|Z| {e['e_max_abs_z']:.3f}",
                    transform=ax.transAxes, ha="right", va="bottom", fontsize=6)
            if i == len(RS) - 1:
                ax.set_xlabel("√k · gap")
            if j == 0:
                ax.set_ylabel("CDF")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=7)
    return fig


def table(results):
    header = ["setting", "protocol", "r", "n", "k", "n_target", "reps", "ks_p_exact", "ks_p_sample", "level",
              "mean_scaled_gap", "mean_stderr", "e_max_abs_z", "e_max_abs_z_exact_target", "control_p",
              "control_power"]
    rows = [[key] + [e[h] for h in header[1:]] for key, e in summary(results).items()]
    return header, rows


def config(results):
    return {key: res.config.to_dict() for key, res in results.items()}


register(Figure("gap_law", "sqrt(k) * gap vs its limit law (max of a Gaussian vector), SBPA, random, EC, AC", plot,
                table, config))
