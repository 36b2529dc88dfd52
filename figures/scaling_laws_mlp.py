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

from theory_sim.experiments.scaling_laws_mlp import MLP_SCALING_PROTOCOLS
from theory_sim.stats import log_band

from . import Figure, register
from .scaling_laws import draw_curves

LABELS = {"random": "random", "sbpa-hard": "SBPA keep-hard", "sbpa-easy": "SBPA keep-easy", "ec": "EC ($\\alpha$=0.5)"}
MARKERS = {"random": "o", "sbpa-hard": "v", "sbpa-easy": "^", "ec": "s"}
DECAYING = ("random", "ec")


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

    def on_curve(ax, i, p, protocol, color):
        if protocol not in DECAYING:
            ax.axhline(summ[cfg.rs[i]][protocol]["plateau"].mean, ls="--", lw=0.9, color=color)

    def on_panel(ax, i, r, colors):
        ax.set_title(f"$r = {r:g}$", fontsize=8)

    fig, axes = draw_curves(res, MLP_SCALING_PROTOCOLS, MARKERS, _label, on_curve, on_panel)
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
            mean, lo, hi = log_band(result.excess[i, p], axis=1)
            for t, n in enumerate(cfg.ns):
                rows.append([r, protocol, n, mean[t], lo[t], hi[t], cfg.replications, result.floor_excess])
    return header, rows


def config(res):
    return res.result.config.to_dict()


register(Figure("scaling_laws_mlp", "C8 with a tanh MLP: excess test loss vs n under pruning; SBPA plateau",
                plot, table, config))
