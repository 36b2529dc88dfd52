"""Figure ``width_validity`` (claim C7a): a wider network does not rescue score-based pruning.

``sine-regression`` (ω = 5, s = 0.1), n points pruned to r = 0.3 by SBPA with the label-free
``distance`` score (keeping the centre |x| ≤ 0.3, or the boundary |x| ≥ 0.7), by random pruning
and by EC (α = 0.5), then one-hidden-layer tanh networks of width 4 … 512 trained by full-batch
Adam on the kept points (same initialisation for every protocol). Left: the excess population
loss L(θ̂) − s²/2 of the trained networks (computed by quadrature over x, not on a test sample),
the max over restarts (the validity-gap estimate of DESIGN §2.4) with the individual restarts as
dots. Right: the pruned training loss — SBPA fits what it kept as well as random does what it
kept, so its failure is not an optimisation failure. (Where a random-pruning run does fail to
train — at the default size one of three width-256 restarts stops at twice the noise floor after
2000 Adam steps — the right panel shows it, and the max over restarts on the left inherits it.)
"""

from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt

from theory_sim.landscape import WidthValidityConfig, run_width_validity

from . import Figure, register

LABELS = {"random": "random", "ec": "EC (α=0.5)", "sbpa-centre": "SBPA, keep centre $|x|\\leq 0.3$",
          "sbpa-boundary": "SBPA, keep boundary $|x|\\geq 0.7$"}
MARKERS = {"random": "o", "ec": "s", "sbpa-centre": "^", "sbpa-boundary": "v"}
SIZE = {
    "small": dict(n=1000, widths=(4, 16, 64), restarts=2, max_iter=600),
    "default": dict(n=2000, widths=(4, 16, 64, 256, 512), restarts=3, max_iter=2000),
    "full": dict(n=4000, widths=(4, 8, 16, 32, 64, 128, 256, 512), restarts=5, max_iter=4000),
}


def configs(size):
    return WidthValidityConfig(**SIZE[size])


def compute(size, results_dir=None, executor=None):
    return run_width_validity(configs(size), results_dir=results_dir)


def plot(res):
    cfg = res.config
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.0, 3.5), layout="constrained")
    widths = np.asarray(cfg.widths, dtype=float)
    excess = res.excess()
    for p, protocol in enumerate(cfg.protocols):
        color = colors[p]
        left.plot(widths, excess[p].max(axis=1), marker=MARKERS[protocol], color=color, label=LABELS[protocol])
        for j in range(cfg.restarts):
            left.plot(widths, excess[p, :, j], ls="none", marker=".", ms=3, color=color, alpha=0.6)
        right.plot(widths, res.train_loss[p].mean(axis=1), marker=MARKERS[protocol], color=color)
    right.axhline(res.bayes_loss, color="k", lw=0.8, ls="--", label="noise floor $s^2/2$ (Bayes risk)")
    right.legend(loc="lower right", fontsize=7)
    left.set_yscale("log")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(widths)
        ax.set_xticklabels([str(int(w)) for w in widths])
        ax.set_xlabel("hidden width $h$")
    left.set_ylabel("excess population loss $L(\\hat\\theta) - s^2/2$")
    left.set_title(f"on $\\mu$ (quadrature): max over {cfg.restarts} restarts, dots = restarts", fontsize=8)
    right.set_ylabel("pruned training loss $L_n^A(\\hat\\theta)$")
    right.set_title("on the kept points (mean over restarts)", fontsize=8)
    right.set_ylim(0.0, None)
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=7)
    fig.suptitle(f"C7a: validity vs width, sine-regression (ω={cfg.omega:g}, s={cfg.noise:g}), n={cfg.n}, "
                 f"r={cfg.r:g}, one-hidden-layer tanh, Adam {cfg.max_iter} steps", fontsize=8)
    return fig


def table(res):
    cfg = res.config
    header = ["protocol", "width", "restart", "population_loss", "excess", "train_loss", "converged"]
    rows = []
    for p, protocol in enumerate(cfg.protocols):
        for w, h in enumerate(cfg.widths):
            for j in range(cfg.restarts):
                loss = res.population_loss[p, w, j]
                rows.append([protocol, h, j, loss, loss - res.bayes_loss, res.train_loss[p, w, j],
                             bool(res.converged[p, w, j])])
    return header, rows


def config(res):
    return res.config.to_dict()


register(Figure("width_validity", "C7a: population loss of pruned-data-trained MLPs vs width", compute, plot, table,
                config))
