"""Figure ``landscape`` (claim C7): the loss landscape around a network trained on SBPA-pruned data.

``sine-regression`` (ω = 5, s = 0.1), n points pruned to r = 0.3 by SBPA with the label-free
``distance`` score keeping the centre (|x| ≤ 0.3); a one-hidden-layer tanh network (width 32 at
the default size) trained by full-batch Adam from one initialisation, once on the kept points
(θ_pruned) and once on the full sample (θ_full). All population losses by quadrature
(:func:`theory_sim.experiments.landscape.run_pruned_landscape`), shown as the excess over the noise floor s²/2.
Left: the line θ(t) = (1 − t) θ_pruned + t θ_full — L falls from θ_pruned to θ_full while L_{ν_r}
has a basin at θ_pruned (dashed: the pruned and full training losses). Middle and right: the
plane θ_pruned + u δ₁ + v δ₂ through θ_pruned along two filter-normalised random directions
(Li et al. 2018; each neuron's incoming weights and bias rescaled to θ_pruned's): L_{ν_r} has its
basin at the origin, L does not (its lowest grid point is marked).
"""

from __future__ import annotations

import numpy as np
from matplotlib import colors as mcolors
from matplotlib import pyplot as plt

from theory_sim.experiments.landscape import LANDSCAPE_LOSSES

from . import Figure, register


def plot(res):
    cfg = res.config
    floor = 0.5 * cfg.noise**2
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, (left, mid, right) = plt.subplots(1, 3, figsize=(10.0, 3.3), layout="constrained")
    keep = f"|x|\\leq {res.q:.2g}" if cfg.keep == "lowest" else f"|x|\\geq {res.q:.2g}"
    ex = {k: np.maximum(res.line[k] - floor, 1e-6) for k in LANDSCAPE_LOSSES}  # log axis: clip at 1e-6
    left.plot(res.t, ex["mu"], color=palette[0], label="$L$ (on $\\mu$)")
    left.plot(res.t, ex["nu"], color=palette[1], label=f"$L_{{\\nu_r}}$ (SBPA limit, ${keep}$)")
    left.plot(res.t, ex["train_full"], color=palette[0], ls="--", lw=0.9, label="full training loss")
    left.plot(res.t, ex["train_pruned"], color=palette[1], ls="--", lw=0.9, label="pruned training loss")
    for t0, name, marker in ((0.0, "pruned", "o"), (1.0, "full", "s")):
        i = int(np.flatnonzero(res.t == t0)[0])
        left.plot([t0, t0], [ex["mu"][i], ex["nu"][i]], ls="none", marker=marker, color="k", ms=5)
        left.axvline(t0, color="0.7", lw=0.6, zorder=0)
    left.set_xticks([0.0, 1.0])
    left.set_xticklabels(["0\n$\\theta_{\\rm pruned}$", "1\n$\\theta_{\\rm full}$"])
    left.set_yscale("log")
    left.set_xlabel("$t$ in $(1-t)\\,\\theta_{\\rm pruned} + t\\,\\theta_{\\rm full}$")
    left.set_ylabel("excess loss (minus $s^2/2$)")
    left.legend(fontsize=6.5, loc="upper center")
    left.set_title("1-D interpolation", fontsize=8.5)
    # One log colour scale for both planes, so their depths compare directly.
    both = np.concatenate([res.plane["nu"].ravel(), res.plane["mu"].ravel()]) - floor
    lo = max(float(both.min()), 1e-6)
    levels = np.logspace(np.log10(lo), np.log10(float(both.max())), 22)
    for ax, key, title in ((mid, "nu", f"$L_{{\\nu_r}}$ (pruned population, ${keep}$)"),
                           (right, "mu", "$L$ (population $\\mu$)")):
        z = np.clip(res.plane[key] - floor, levels[0], levels[-1])
        cs = ax.contourf(res.uv, res.uv, z, levels=levels, norm=mcolors.LogNorm(levels[0], levels[-1]),
                         cmap="viridis")
        ax.contour(res.uv, res.uv, z, levels=levels, colors="k", linewidths=0.25, alpha=0.5)
        ax.plot(0.0, 0.0, marker="o", color="w", mec="k", ms=6, ls="none", label="$\\theta_{\\rm pruned}$")
        i, j = np.unravel_index(np.argmin(res.plane[key]), res.plane[key].shape)
        ax.plot(res.uv[j], res.uv[i], marker="x", color="r", ms=6, ls="none", label="lowest grid point")
        ax.set_xlabel("$u$ (direction $\\delta_1$)")
        ax.set_title(title, fontsize=8.5)
        ax.set_aspect("equal")
        ax.legend(fontsize=6.5, loc="lower left")
    mid.set_ylabel("$v$ (direction $\\delta_2$)")
    bar = fig.colorbar(cs, ax=[mid, right], label="excess loss (minus $s^2/2$)", shrink=0.9)
    decades = 10.0 ** np.arange(np.ceil(np.log10(levels[0])), np.floor(np.log10(levels[-1])) + 1)
    bar.set_ticks(decades)
    bar.set_ticklabels([f"$10^{{{int(np.log10(d))}}}$" for d in decades])
    fig.suptitle(f"C7: landscape around an SBPA-pruned minimiser; sine-regression (ω={cfg.omega:g}), n={cfg.n}, "
                 f"r={cfg.r:g}, tanh width {cfg.width}, Adam {cfg.max_iter} steps; filter-normalised directions",
                 fontsize=8)
    return fig


def table(res):
    header = ["kind", "t_or_v", "u", "loss_mu", "loss_nu", "train_pruned", "train_full"]
    rows = [["line", float(t), "", *(float(res.line[k][i]) for k in LANDSCAPE_LOSSES)] for i, t in enumerate(res.t)]
    for i, v in enumerate(res.uv):
        for j, u in enumerate(res.uv):
            rows.append(["plane", float(v), float(u), *(float(res.plane[k][i, j]) for k in LANDSCAPE_LOSSES)])
    return header, rows


def config(res):
    return res.config.to_dict()


register(Figure("landscape", "C7: landscape around an SBPA-pruned minimiser (1-D and filter-normalised 2-D slices)",
                plot, table, config))
