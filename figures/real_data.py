"""Figure ``real_data``: score-based pruning against random pruning on two real data sets.

scikit-learn's bundled ``breast_cancer`` (malignant vs benign) and ``digits`` relabelled as the
binary task **digit ≥ 5 vs digit ≤ 4**; per seed a stratified split, standardisation fitted on the
training part, EL2N scores from a briefly trained probe MLP, pruning of the training part to a
fraction r by each protocol (random; SBPA keeping the hardest / the easiest points; EC and AC with
α = 0.5 and the hardest points as signal), then a one-hidden-layer tanh MLP trained by full-batch
Adam for a fixed number of steps on the kept points (with the selection's weights). One panel per
data set: test accuracy at the **final step** against r, mean over seeds with a Student-t 95 %
band; the paper's regime r ≤ 0.3 is shaded; the dotted line is the same network trained on the
whole training part. The CSV holds every plotted number, the per-seed accuracies and the paired
differences random − protocol with their t intervals.
"""

from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt

from theory_sim.experiments.real_data import DATASET_TITLES

from . import Figure, register

LABELS = {"random": "random", "sbpa-hard": "SBPA, keep hardest", "sbpa-easy": "SBPA, keep easiest",
          "ec": "EC (α=0.5)", "ac": "AC (α=0.5)"}
MARKERS = {"random": "o", "sbpa-hard": "^", "sbpa-easy": "v", "ec": "s", "ac": "D"}

def plot(res):
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, len(res), figsize=(7.0, 3.6), layout="constrained", squeeze=False)
    for ax, (ds, result) in zip(axes[0], res.items()):
        cfg = result.config
        rs = np.asarray(cfg.rs)
        mean, lo, hi = result.summary("accuracy")
        ax.axvspan(0.0, 0.3, color="0.9", zorder=0, label="$r \\leq 0.3$")
        for p, protocol in enumerate(cfg.protocols):
            color = colors[p % len(colors)]
            ax.plot(rs, mean[p], marker=MARKERS[protocol], color=color, label=LABELS[protocol])
            ax.fill_between(rs, lo[p], hi[p], color=color, alpha=0.2, lw=0)
        ax.axhline(result.full_accuracy.mean(), color="k", lw=0.8, ls=":", label="whole training part ($r=1$)")
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel("fraction kept $r$")
        ax.set_ylabel("test accuracy (final step)")
        ax.set_title(f"{DATASET_TITLES[ds]}\nn_train={result.n_train}, n_test={result.n_test}, d={result.d}",
                     fontsize=8)
    cfg = next(iter(res.values())).config
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=7)
    fig.suptitle(f"Real data: score = {cfg.score} from a probe MLP ({cfg.probe_steps} Adam steps), "
                 f"tanh MLP width {cfg.width}, Adam {cfg.steps} steps; mean of {cfg.seeds} seeds, t 95% bands",
                 fontsize=8)
    return fig


def table(res):
    header = ["dataset", "protocol", "r", "accuracy_mean", "accuracy_lo95", "accuracy_hi95", "test_loss_mean",
              "test_loss_lo95", "test_loss_hi95", "random_minus_protocol_accuracy_mean", "diff_lo95", "diff_hi95",
              "kept_positive_mean", "accuracy_per_seed"]
    rows = []
    for ds, result in res.items():
        cfg = result.config
        acc, test_loss = result.summary("accuracy"), result.summary("test_loss")
        for p, protocol in enumerate(cfg.protocols):
            if "random" in cfg.protocols:
                _, d_mean, d_lo, d_hi = result.paired_difference("random", protocol)
            for i, r in enumerate(cfg.rs):
                diff = [d_mean[i], d_lo[i], d_hi[i]] if "random" in cfg.protocols else ["", "", ""]
                rows.append([ds, protocol, r, acc[0][p, i], acc[1][p, i], acc[2][p, i], test_loss[0][p, i],
                             test_loss[1][p, i], test_loss[2][p, i], *diff, result.kept_positive[p, i].mean(),
                             ";".join(f"{a:.6g}" for a in result.accuracy[p, i])])
        full_acc = result.full_accuracy
        rows.append([ds, "whole-training-part", 1.0, full_acc.mean(), "", "", result.full_test_loss.mean(), "", "",
                     "", "", "", "", ";".join(f"{a:.6g}" for a in full_acc)])
    return header, rows


def config(res):
    return {ds: result.config.to_dict() for ds, result in res.items()}


register(Figure("real_data", "Pruning on real data (breast_cancer, digits ≥ 5): test accuracy vs r", plot,
                table, config))
