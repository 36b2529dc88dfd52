"""Figure ``scaling_laws`` (claim C8): SBPA's test loss plateaus, random pruning's keeps decaying.

``sine-regression`` (ω = 1, s = 0.5), a least-squares line fitted on the points kept by each
protocol at compression r (one panel per r), with the label-free ``distance`` score |x|: SBPA
keeping the boundary |x| ≥ 1 − r (keep-hard) or the centre |x| ≤ r (keep-easy), random pruning,
EC and AC (α = 0.5, signal part keep-hard). Plotted: the mean over replications of the excess
test loss L(ŵ) − min L (exact, by quadrature) against n, with its 95% CI band (t over replications,
its lower edge clipped at a tenth of the mean for the log axis); the asymptotic
prediction of each curve (dotted, :func:`theory_sim.models.polynomial.predicted_excess`); the predicted
SBPA plateaus V_∞ (dashed); the measured crossover n*(r) of keep-hard SBPA against random
(vertical line, its bootstrap CI shaded) and the predicted one (triangle on the axis).
The legend gives the fitted exponents: over n with ⌊r n⌋ ≥ 100 for random and EC, over the last
decade (the local slope) for SBPA and AC.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib import pyplot as plt

from theory_sim.experiments.scaling_laws import SCALING_PROTOCOLS
from theory_sim.stats import log_band

from . import Figure, register

LABELS = {"random": "random", "sbpa-hard": "SBPA keep-hard", "sbpa-easy": "SBPA keep-easy",
          "ec": "EC ($\\alpha$=0.5)", "ac": "AC ($\\alpha$=0.5)"}
MARKERS = {"random": "o", "sbpa-hard": "v", "sbpa-easy": "^", "ec": "s", "ac": "D"}
DECAYING = ("random", "ec")


def _band(excess):
    """Mean over replications and its 95% t band, the lower edge clipped at mean/10 for the log axis."""
    return log_band(excess, axis=1)


def _label(protocol, entry):
    if protocol in DECAYING:
        fit, what = entry["fit"], "slope"
    else:
        fit, what = entry["tail"], "tail slope"
    return f"{LABELS[protocol]}: {what} {fit.slope:+.2f} [{fit.ci_low:+.2f}, {fit.ci_high:+.2f}]"


def draw_curves(res, order, markers, label, on_curve, on_panel):
    """One log-log panel per r: each protocol's mean excess against n with its band (:func:`_band`).

    ``order`` fixes each protocol's colour; ``label(protocol, summary entry)`` its legend text;
    ``on_curve(ax, i, p, protocol, color)`` draws more for a curve, ``on_panel(ax, i, r, colors)``
    for a panel (its title included) before the axes are set. Returns (fig, axes).
    """
    result, summ = res.result, res.summary
    cfg = result.config
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, axes = plt.subplots(1, len(cfg.rs), figsize=(7.0, 4.3), layout="constrained", sharey=True, squeeze=False)
    ns = np.asarray(cfg.ns, dtype=float)
    for i, (ax, r) in enumerate(zip(axes[0], cfg.rs)):
        for p, protocol in enumerate(cfg.protocols):
            color = colors[order.index(protocol) % len(colors)]
            mean, lo, hi = _band(result.excess[i, p])
            ax.plot(ns, mean, marker=markers[protocol], color=color, label=label(protocol, summ[r][protocol]))
            ax.fill_between(ns, lo, hi, color=color, alpha=0.2, lw=0)
            on_curve(ax, i, p, protocol, color)
        on_panel(ax, i, r, colors)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sample size $n$ (before pruning)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=5.5, handlelength=1.8)
    return fig, axes


def plot(res):
    result, summ = res.result, res.summary
    cfg = result.config

    def on_curve(ax, i, p, protocol, color):
        ax.plot(np.asarray(cfg.ns, dtype=float), result.predicted[i, p], ls=":", lw=0.9, color=color)
        if protocol in ("sbpa-hard", "sbpa-easy"):
            ax.axhline(result.plateau[i, p], ls="--", lw=0.9, color=color)

    def on_panel(ax, i, r, colors):
        entry = summ[r].get("sbpa-hard", {}).get("crossover")
        if entry is not None:
            color = colors[SCALING_PROTOCOLS.index("sbpa-hard")]
            if entry.status == "crossover":
                ax.axvline(entry.n_star, color=color, lw=0.8)
                if np.isfinite(entry.ci_low):
                    ax.axvspan(entry.ci_low, entry.ci_high, color=color, alpha=0.08, lw=0)
            if entry.predicted_status == "crossover":
                ax.plot([entry.predicted_n_star], [0.0], marker="^", ms=7, color=color, clip_on=False,
                        transform=ax.get_xaxis_transform())
            ax.set_title(f"$r = {r:g}$\n$n^* = {_fmt(entry.n_star)}$ (predicted ${_fmt(entry.predicted_n_star)}$)",
                         fontsize=7.5)
        else:
            ax.set_title(f"$r = {r:g}$")

    fig, axes = draw_curves(res, SCALING_PROTOCOLS, MARKERS, _label, on_curve, on_panel)
    axes[0, 0].set_ylabel("excess test loss $L(\\hat w) - \\min L$")
    fig.suptitle(f"C8: scaling laws under pruning — sine-regression ($\\omega$={cfg.omega:g}, s={cfg.noise:g}), "
                 f"least-squares polynomial of degree {cfg.degree}, {cfg.replications} replications; "
                 "dotted: prediction, dashed: SBPA plateau $V_\\infty$;\n"
                 "$n^*$: crossover of SBPA keep-hard with random (vertical line, bootstrap 95% CI shaded; "
                 "triangle: predicted)", fontsize=7)
    return fig


def _fmt(value):
    if not np.isfinite(value):
        return "\\mathrm{none}"
    exp = int(math.floor(math.log10(value)))
    return f"{value / 10**exp:.1f}\\times 10^{{{exp}}}"


def table(res):
    result = res.result
    cfg = result.config
    header = ["r", "protocol", "n", "mean_excess", "ci_low", "ci_high", "predicted_excess", "predicted_plateau",
              "replications"]
    rows = []
    for i, r in enumerate(cfg.rs):
        for p, protocol in enumerate(cfg.protocols):
            mean, lo, hi = _band(result.excess[i, p])
            for t, n in enumerate(cfg.ns):
                rows.append([r, protocol, n, mean[t], lo[t], hi[t], result.predicted[i, p, t], result.plateau[i, p],
                             cfg.replications])
    return header, rows


def config(res):
    return res.result.config.to_dict()


register(Figure("scaling_laws", "C8: excess test loss vs n under pruning; SBPA plateau and crossover n*(r)",
                plot, table, config))
