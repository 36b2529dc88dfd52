"""Figure ``width_validity`` (claim C7a): a wider network does not rescue score-based pruning.

Two processes, one row each (C7a asks for a regression and a classification process).

Top, ``sine-regression`` (ω = 5, s = 0.1): n points pruned to r = 0.3 by SBPA with the label-free
``distance`` score (keeping the centre |x| ≤ 0.3, or the boundary |x| ≥ 0.7), by random pruning
and by EC (α = 0.5), then one-hidden-layer tanh networks of width 4 … 512 trained by full-batch
Adam on the kept points (same initialisation for every protocol), loss ½(v − y)². Excess =
L(θ̂) − s²/2, by 1-D quadrature over x. (Where a random-pruning run fails to train — at the
default size one of three width-256 restarts stops at twice the noise floor after 2000 Adam
steps — the right panel shows it, and the max over restarts on the left inherits it.)

Bottom, ``gaussian-logistic`` (x ~ N(0, I₂), P(y=1|x) = σ(2x₁ + x₂ + 0.5)), binary cross-entropy
on the logit, 500 Adam steps: SBPA keeping the centre (``distance`` lowest, ‖x‖ ≤ 0.84) or the
points nearest the Bayes decision boundary (``margin`` |w*·x + b*| lowest: the "hardest"
points), random, EC. Excess = L(θ̂) − E[H(P(y=1|x))] (the Bayes risk), both by a tensor
Gauss–Legendre rule in 2-D (:func:`theory_sim.models.network_population_2d.gaussian_rule_2d`).
At widths ≥ 64 random pruning's excess is not small either (≈ 0.05: 600 points, no
regularisation) — the point is that SBPA's stays above it at the largest widths.

Left: the excess population loss, max over restarts (the validity-gap estimate, docs/theory.md,
"Experiments"), the individual restarts as dots. Right: the pruned training loss — SBPA fits what it kept, so
its failure is not an optimisation failure.
"""

from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt
from matplotlib.ticker import NullFormatter

from . import Figure, register

LABELS = {"random": "random", "ec": "EC (α=0.5)", "sbpa-centre": "SBPA, keep centre",
          "sbpa-boundary": "SBPA, keep boundary (distance)", "sbpa-margin": "SBPA, keep decision boundary (margin)"}
DETAIL = {"sine-regression": {"sbpa-centre": "$|x|\\leq 0.3$", "sbpa-boundary": "$|x|\\geq 0.7$"},
          "classification": {"sbpa-centre": "$\\|x\\|\\leq 0.84$"}}
MARKERS = {"random": "o", "ec": "s", "sbpa-centre": "^", "sbpa-boundary": "v", "sbpa-margin": "D"}
COLOR_INDEX = {"random": 0, "ec": 1, "sbpa-centre": 2, "sbpa-boundary": 3, "sbpa-margin": 4}
def _row(left, right, res, title, floor_label, key):
    cfg = res.config
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    widths = np.asarray(cfg.widths, dtype=float)
    excess = res.excess()
    for p, protocol in enumerate(cfg.protocols):
        color = colors[COLOR_INDEX[protocol]]
        label = LABELS[protocol] + (f" {DETAIL[key][protocol]}" if protocol in DETAIL[key] else "")
        left.plot(widths, excess[p].max(axis=1), marker=MARKERS[protocol], color=color, label=label)
        for j in range(cfg.restarts):
            left.plot(widths, excess[p, :, j], ls="none", marker=".", ms=3, color=color, alpha=0.6)
        right.plot(widths, res.train_loss[p].mean(axis=1), marker=MARKERS[protocol], color=color)
    right.axhline(res.bayes_loss, color="k", lw=0.8, ls="--", label=floor_label)
    right.legend(loc="lower right", fontsize=6.5)
    left.set_yscale("log")
    left.yaxis.set_minor_formatter(NullFormatter())  # minor labels crowd a sub-decade range
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(widths)
        ax.set_xticklabels([str(int(w)) for w in widths])
    left.set_title(title, fontsize=8)
    right.set_ylim(0.0, None)
    left.legend(loc="best", fontsize=6)


def plot(res):
    sine, cls = res.sine, res.classification
    fig, axes = plt.subplots(2, 2, figsize=(7.0, 6.4), layout="constrained")
    sc, cc = sine.config, cls.config
    _row(axes[0, 0], axes[0, 1], sine,
         f"sine-regression (ω={sc.omega:g}, s={sc.noise:g}), ½-MSE, Adam {sc.max_iter}: "
         f"max over {sc.restarts} restarts",
         "noise floor $s^2/2$ (Bayes risk)", "sine-regression")
    _row(axes[1, 0], axes[1, 1], cls,
         f"{cc.process} (d=2), cross-entropy, Adam {cc.max_iter}: max over {cc.restarts} restarts",
         "Bayes risk $E[H(P(y{=}1|x))]$", "classification")
    axes[0, 0].set_ylabel("excess population loss\n$L(\\hat\\theta) - s^2/2$ (1-D quadrature)")
    axes[1, 0].set_ylabel("excess population loss\n$L(\\hat\\theta) - \\min L$ (2-D quadrature)")
    for ax in axes[:, 1]:
        ax.set_ylabel("pruned training loss $L_n^A(\\hat\\theta)$\n(mean over restarts)")
    for ax in axes[1]:
        ax.set_xlabel("hidden width $h$")
    fig.suptitle(f"C7a: validity vs width, one-hidden-layer tanh, n={sc.n} (top) / {cc.n} (bottom), r={sc.r:g}; "
                 "dots = restarts", fontsize=8)
    return fig


def table(res):
    header = ["process", "protocol", "width", "restart", "population_loss", "excess", "train_loss", "converged"]
    rows = []
    for name, r in (("sine-regression", res.sine), (res.classification.config.process, res.classification)):
        cfg = r.config
        for p, protocol in enumerate(cfg.protocols):
            for w, h in enumerate(cfg.widths):
                for j in range(cfg.restarts):
                    loss = r.population_loss[p, w, j]
                    rows.append([name, protocol, h, j, loss, loss - r.bayes_loss, r.train_loss[p, w, j],
                                 bool(r.converged[p, w, j])])
    return header, rows


def config(res):
    return {"sine-regression": res.sine.config.to_dict(), "classification": res.classification.config.to_dict()}


register(Figure("width_validity", "C7a: population loss of pruned-data-trained MLPs vs width (regression and "
                "2-D classification)", plot, table, config))
