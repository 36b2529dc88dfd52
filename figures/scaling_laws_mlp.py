"""Figure ``scaling_laws_mlp`` (claim C8 with a network): random pruning keeps decaying, SBPA falls behind.

``sine-regression`` (ω = 3, s = 0.5), a one-hidden-layer tanh network of width 16 trained by
full-batch Adam (η = 10⁻², 2000 steps; 1000 at size ``small``) on the points kept by each
protocol at compression r (one panel per r), with the label-free ``distance`` score |x|: SBPA
keeping the boundary |x| ≥ 1 − r (keep-hard) or the centre |x| ≤ r (keep-easy), random pruning,
and EC (α = 0.5, signal part keep-hard, with its weights). All protocols start from the same
initialisation at each (n, replication). Plotted: the mean over replications of the excess test
loss L(θ̂) − s²/2 over the Bayes risk (exact, by quadrature) against n, with its 95% CI band
(t over replications, its lower edge clipped at a tenth of the mean for the log axis); dashed:
SBPA's level at the largest n. The legend gives the fitted exponents ± 95% CI: over the n with
⌊r n⌋ ≥ 100 for random and EC, over the last decade (the local slope) for SBPA, and for SBPA also
the slope of its paired ratio to random (its exponent minus random's: > 0 means it falls behind
as n grows). The network
class's own floor above s²/2, estimated by a long fit on the population (quadrature rule of µ),
is printed in the title: it lies far below every curve.

What it shows at size ``full`` (n ≤ 3·10⁴): random and EC decay like n^{−1}; keep-easy SBPA has
plateaued; keep-hard SBPA is still falling, slower than random (its plateau is not reached in
this range — see :mod:`theory_sim.experiments.scaling_laws_mlp`).
"""

from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt

from theory_sim.experiments.scaling_laws import default_ns
from theory_sim.experiments.scaling_laws_mlp import MLP_SCALING_PROTOCOLS, MLPScalingConfig, run_mlp_scaling, summary

from . import Figure, register
from .scaling_laws import _band, _Results

LABELS = {"random": "random", "sbpa-hard": "SBPA keep-hard", "sbpa-easy": "SBPA keep-easy", "ec": "EC ($\\alpha$=0.5)"}
MARKERS = {"random": "o", "sbpa-hard": "v", "sbpa-easy": "^", "ec": "s"}
DECAYING = ("random", "ec")
# Measured build times on the shared 2-core machine (wall / CPU): small 15 s / 14 s at load 3.3;
# default 105 s / 74 s at load 4–5; full 917 s wall at load 5–8. Training cost ∝ Σ_n ⌊r n⌋ × max_iter
# × protocols × replications, so the largest n dominates.
SIZE = {
    "small": dict(ns=default_ns(100, 2154, 3), replications=3, max_iter=1000),
    "default": dict(ns=default_ns(100, 10**4, 3), replications=5),
    "full": dict(ns=default_ns(100, 30000, 3), replications=10),
}


def configs(size):
    return MLPScalingConfig(**SIZE[size])


def compute(size, results_dir=None, executor=None):
    return _Results(run_mlp_scaling(configs(size), results_dir=results_dir), summary)


def _label(protocol, entry):
    fit, what = (entry["fit"], "slope") if protocol in DECAYING else (entry["tail"], "tail slope")
    text = f"{LABELS[protocol]}: {what} {fit.slope:+.2f} [{fit.ci_low:+.2f}, {fit.ci_high:+.2f}]"
    rel = entry.get("relative")
    if rel is not None:
        text += f"\n    minus random's (paired): {rel.slope:+.2f} [{rel.ci_low:+.2f}, {rel.ci_high:+.2f}]"
    return text


def plot(res):
    result, summ = res.result, res.summary
    cfg = result.config
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, len(cfg.rs), figsize=(7.0, 4.3), layout="constrained", sharey=True, squeeze=False)
    ns = np.asarray(cfg.ns, dtype=float)
    for i, (ax, r) in enumerate(zip(axes[0], cfg.rs)):
        for p, protocol in enumerate(cfg.protocols):
            color = colors[MLP_SCALING_PROTOCOLS.index(protocol) % len(colors)]
            mean, lo, hi = _band(result.excess[i, p])
            ax.plot(ns, mean, marker=MARKERS[protocol], color=color, label=_label(protocol, summ[r][protocol]))
            ax.fill_between(ns, lo, hi, color=color, alpha=0.2, lw=0)
            if protocol not in DECAYING:
                ax.axhline(summ[r][protocol]["plateau"].mean, ls="--", lw=0.9, color=color)
        ax.set_title(f"$r = {r:g}$", fontsize=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sample size $n$ (before pruning)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=5.5, handlelength=1.8)
    axes[0, 0].set_ylabel("excess test loss $L(\\hat\\theta) - s^2/2$")
    fig.suptitle(f"C8 with a network: sine-regression ($\\omega$={cfg.omega:g}, s={cfg.noise:g}), tanh MLP of "
                 f"width {cfg.width}, Adam {cfg.max_iter} steps, {cfg.replications} replications (95% CI bands);\n"
                 f"dashed: SBPA level at n={cfg.ns[-1]}; class floor above $s^2/2$ (long population fit): "
                 f"{result.floor_excess:.1e}", fontsize=7)
    return fig


def table(res):
    result = res.result
    cfg = result.config
    header = ["r", "protocol", "n", "mean_excess", "ci_low", "ci_high", "replications", "floor_excess"]
    rows = []
    for i, r in enumerate(cfg.rs):
        for p, protocol in enumerate(cfg.protocols):
            mean, lo, hi = _band(result.excess[i, p])
            for t, n in enumerate(cfg.ns):
                rows.append([r, protocol, n, mean[t], lo[t], hi[t], cfg.replications, result.floor_excess])
    return header, rows


def config(res):
    return res.result.config.to_dict()


register(Figure("scaling_laws_mlp", "C8 with a tanh MLP: excess test loss vs n under pruning; SBPA plateau",
                plot, table, config, compute=compute))
