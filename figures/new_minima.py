"""Figure ``new_minima`` (claim C7): a local minimum of the pruned loss L_{ν_r} that L does not have.

``sine-regression`` (x ~ U[−1, 1], y = sin 5x + ε, s = 0.1), the label-free ``distance`` score
keeping the centre (A_r = [−0.3, 0.3], r = 0.3), the network v(x) = a tanh(w x + b) + c with
loss ½(v − y)². Both panels show the plane b = c = 0 through the certified minimiser θ₀ of
L_{ν_r} (:func:`theory_sim.experiments.new_minima.certify_new_minimum`; all numbers by
quadrature): left the population loss L, right the pruned population loss L_{ν_r}, both as the
excess over the noise floor s²/2 on one log colour scale. θ₀ and its mirror image (−w, −a) are the only finite local
minima of L_{ν_r} that 32 random starts find (tests/theory/test_new_minimum.py); on L they sit on
a slope (the arrow is −∇L(θ₀) projected on the plane).
"""

from __future__ import annotations

import numpy as np
from matplotlib import colors as mcolors
from matplotlib import pyplot as plt

from . import Figure, register


def _sci(value):
    """``4\\times10^{-17}`` for mathtext."""
    mant, exp = f"{value:.1e}".split("e")
    return f"{mant}\\times10^{{{int(exp)}}}"


def plot(res):
    cert, cfg = res.certificate, res.config
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    floor = 0.5 * cfg.noise**2
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.5), layout="constrained", sharey=True)
    w0, a0 = cert.theta0[0], cert.theta0[2]
    g = cert.grad_mu  # −∇L(θ₀), drawn projected on the (w, a) plane
    # One log colour scale for both panels (half-decade levels), so the depths compare directly.
    levels = np.logspace(-5.0, 1.0, 25)  # quarter decades: L's excess spans only 0.25–3.4
    panels = (
        (axes[0], res.loss_mu, "population loss $L(\\theta)$ (all of $\\mu$)"),
        (axes[1], res.loss_nu, f"pruned loss $L_{{\\nu_r}}(\\theta)$ (SBPA keeps $|x|\\leq {cert.q:.1f}$)"),
    )
    for ax, loss, title in panels:
        excess = np.clip(loss - floor, levels[0], levels[-1])
        cs = ax.contourf(res.w, res.a, excess, levels=levels, norm=mcolors.LogNorm(levels[0], levels[-1]),
                         cmap="viridis")
        ax.contour(res.w, res.a, excess, levels=levels, colors="k", linewidths=0.25, alpha=0.5)
        ax.plot([w0, -w0], [a0, -a0], ls="none", marker="*", ms=12, mfc=palette[4], mec="k", mew=0.7,
                label="certified minimum $\\theta_0$ of $L_{\\nu_r}$ (and its mirror)")
        if loss is res.loss_mu:
            scale = 2.0 / np.hypot(g[0], g[2])
            ax.annotate("", xy=(w0 - scale * g[0], a0 - scale * g[2]), xytext=(w0, a0),
                        arrowprops=dict(arrowstyle="-|>", color="w", lw=1.4))
            ax.text(w0 - scale * g[0] + 0.4, a0 - scale * g[2], "$-\\nabla L(\\theta_0)$", fontsize=7.5,
                    ha="left", va="center", color="w")
        ax.set_title(title, fontsize=8.5)
        ax.set_xlabel("input weight $w$")
        ax.set_xlim(res.w[0], res.w[-1])
        ax.set_xticks(np.linspace(res.w[0], res.w[-1], 5))
        ax.set_ylim(res.a[0], res.a[-1])
    bar = fig.colorbar(cs, ax=axes, shrink=0.92, pad=0.01, ticks=levels[::4])
    bar.set_label("excess loss over the noise floor, $L - s^2/2$ and $L_{\\nu_r} - s^2/2$", fontsize=7.5)
    bar.ax.tick_params(labelsize=7)
    axes[0].set_ylabel("output weight $a$")
    axes[0].legend(loc="lower left", fontsize=6.5, frameon=True, framealpha=0.9)
    lam = cert.hessian_nu_eigenvalues
    fig.suptitle(
        f"C7, $v = a\\tanh(wx+b)+c$ on sine-regression, slice $b=c=0$ through "
        f"$\\theta_0=({w0:.3f},\\,0,\\,{a0:.3f},\\,0)$:  "
        f"$\\|\\nabla L_{{\\nu_r}}(\\theta_0)\\|={_sci(cert.grad_nu_norm)}$,  "
        f"$\\lambda_{{\\min}}\\nabla^2 L_{{\\nu_r}}(\\theta_0)={_sci(lam[0])}$,  "
        f"$\\|\\nabla L(\\theta_0)\\|={cert.grad_mu_norm:.3f}$\n"
        f"$L(\\theta_0)={cert.loss_mu:.3f}$ against $\\min L={cert.min_loss_mu:.3f}$ "
        f"(reached off this slice, at $b, c \\neq 0$); all by quadrature",
        fontsize=7.5)
    return fig


def table(res):
    cert = res.certificate
    header = ["kind", "w", "a", "L", "L_nu"]
    rows = [["theta0", cert.theta0[0], cert.theta0[2], cert.loss_mu, cert.loss_nu]]
    for i, a in enumerate(res.a):
        for j, w in enumerate(res.w):
            rows.append(["grid", w, a, res.loss_mu[i, j], res.loss_nu[i, j]])
    return header, rows


def config(res):
    return {"slice": res.config.to_dict(), "certificate": res.certificate.to_dict()}


register(Figure("new_minima", "C7: a certified local minimum of L_nu that L does not have (contours)", plot,
                table, config))
