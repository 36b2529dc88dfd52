"""Figure ``alpha_choice`` (docs/theory.md, "Choosing α"): α chosen from the data against the oracle α*.

Two processes, two settings each, one per column: the least-squares line on sine-regression (distance
score; α* interior: ω = 3, s = 0.3, r = 0.3; α* = 0: ω = 5, s = 0.5, r = 0.2) and logistic regression on
gaussian-logistic (α* interior: el2n, r = 0.2; α* = 0: margin, r = 0.75), EC/AC signal part at the score's
hard end, each α* predicted by quadrature before the simulation. Top: mean excess loss of EC and AC against
α at the largest n (t 95% intervals), the predicted curves, α* and the Neyman α̂'s mean. Bottom: the regret
of each rule against n — the profile regret (predicted excess at α̂ minus at α*) with its fitted slope, and
the measured paired regret with its interval.
"""

from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt

from theory_sim.experiments.alpha_choice import AC_ALPHAS, EC_ALPHAS, RULES, summary
from theory_sim.stats import t_summary

from . import Figure, register

LABELS = {"neyman": "Neyman (EC)", "cv-ec": "cross-fitted (EC)", "bias-variance": "bias-variance (AC)",
          "cv-ac": "cross-fitted (AC)"}


def _title(name, cfg):
    if cfg.model == "line":
        return f"{name}: line, sine ω = {cfg.omega:g}, s = {cfg.noise:g}, |x|, r = {cfg.r:g}"
    return f"{name}: logistic, gaussian-logistic, {cfg.score}, r = {cfg.r:g}"


def plot(results):
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    names = list(results)
    fig, axes = plt.subplots(2, len(names), figsize=(4.0 * len(names), 6.4), layout="constrained", squeeze=False)
    for col, name in enumerate(names):
        res = results[name]
        cfg, s = res.config, summary(res)
        ax = axes[0, col]
        t = t_summary(res.excess_ec[-1], axis=0)
        ax.errorbar(EC_ALPHAS, t.mean, yerr=[t.mean - t.ci_low, t.ci_high - t.mean], fmt="o", color=colors[0],
                    capsize=2, label=f"EC measured, n = {cfg.ns[-1]:,}")
        ax.plot(EC_ALPHAS, res.predicted_ec[-1], "-", color=colors[0], lw=1, label="EC predicted (quadrature)")
        ta = t_summary(res.excess_ac[-1], axis=0)
        ax.errorbar(AC_ALPHAS, ta.mean, yerr=[ta.mean - ta.ci_low, ta.ci_high - ta.mean], fmt="s", mfc="white",
                    color=colors[1], capsize=2, label="AC measured")
        ax.plot(AC_ALPHAS, res.predicted_ac[-1], "--", color=colors[1], lw=1, label="AC predicted")
        ax.axvline(s["alpha_star_ec"][-1], color="k", ls=":", lw=1, label=f"α* (EC) = {s['alpha_star_ec'][-1]:g}")
        ax.axvline(s["rules"]["neyman"]["alpha_hat_mean"][-1], color=colors[2], ls="-.", lw=1,
                   label=f"mean Neyman α̂ = {s['rules']['neyman']['alpha_hat_mean'][-1]:.2f}")
        ax.set_yscale("log")
        ax.set_xlabel("α (0 = random pruning)")
        ax.set_ylabel("excess loss $L(\\hat\\theta) - \\min L$")
        ax.set_title(_title(name, cfg), fontsize=8)
        ax.legend(fontsize=6)
        ax = axes[1, col]
        ns = np.array(cfg.ns, dtype=float)
        for color, rule in zip(colors, RULES):
            e = s["rules"][rule]
            prof = np.array(e["profile_mean"])
            rate = e["rate"]
            zero_from = next((int(n) for i, n in enumerate(ns) if not prof[i:].any()), None)
            lab = LABELS[rule] + (f": slope {rate['slope']:.2f} [{rate['ci_low']:.2f}, {rate['ci_high']:.2f}]"
                                  if rate else f": profile regret 0 from n = {zero_from:,}" if zero_from
                                  else ": no power-law fit")
            ax.plot(ns, np.where(prof > 0, prof, np.nan), "-o", color=color, ms=3, label=lab)
            m = e["measured"]
            mean = np.array([x["mean"] for x in m])
            hi = np.array([x["ci_high"] for x in m])
            ax.errorbar(ns * 1.04, np.where(mean > 0, mean, np.nan), yerr=[np.zeros_like(mean), np.maximum(hi - mean, 0)],
                        fmt="x", color=color, capsize=2, alpha=0.6)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n")
        ax.set_ylabel("regret vs α* (line: profile; x: measured, 95% upper)")
        ax.legend(fontsize=6)
    return fig


def table(results):
    header = ["setting", "rule", "n", "alpha_hat_mean", "profile_regret", "measured_regret", "ci_low", "ci_high"]
    rows = []
    for name, res in results.items():
        s = summary(res)
        for rule in RULES:
            e = s["rules"][rule]
            for i, n in enumerate(s["ns"]):
                m = e["measured"][i]
                rows.append([name, rule, n, e["alpha_hat_mean"][i], e["profile_mean"][i], m["mean"], m["ci_low"],
                             m["ci_high"]])
        for i, n in enumerate(s["ns"]):
            for key in ("ec_star_minus_random", "ec_neyman_minus_random"):
                m = s[key][i]
                rows.append([name, key, n, "", "", m["mean"], m["ci_low"], m["ci_high"]])
    return header, rows


def config(results):
    return {name: res.config.to_dict() for name, res in results.items()}


register(Figure("alpha_choice", "regret of the rules choosing alpha vs n (line and logistic; alpha* interior and "
                "alpha* = 0)", plot,
                table, config))
