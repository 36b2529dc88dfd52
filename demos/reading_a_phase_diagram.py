# %% [markdown]
# # Reading a phase diagram: when does score-based pruning beat random pruning?
#
# Fix the fraction kept r and let the data set grow. SBPA (keep the top-r points by score) trains on
# a distorted law ν_r: its excess test loss tends to a plateau V_∞ > 0 when ν_r biases the model,
# but it may have a smaller variance constant than random pruning (a better design). Random
# pruning's excess decays like C_µ/k, k = ⌊r n⌋. So to first order
#
# E[excess of SBPA] ≈ V_∞(r) + C_ν(r)/k,   E[excess of random] ≈ C_µ/k,
#
# and SBPA wins below n*(r), where the two cross (docs/theory.md, "Phase diagrams"). Two different
# pictures come out of this one formula.

# %%
import numpy as np
from matplotlib import pyplot as plt

from theory_sim.experiments import phase_diagram as pd

rs = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9)
line = pd.PhaseConfig(setting="line", rs=rs, ns=(100, 1000, 100_000), reps=2)
margin = pd.PhaseConfig(setting="logistic-margin", rs=rs, ns=(100, 1000, 100_000), reps=2)
for cfg in (line, margin):
    print(cfg.setting)
    for r, entry in pd.predicted_boundary(cfg).items():
        status, star = entry["sbpa-hard"]
        print(f"  r = {r:4}: keep-hard vs random: {status}" + (f", n* = {star:,.0f}" if status == "crossover" else ""))

# %% [markdown]
# **The line on sine-regression** (score |x|, keep the boundary points): the boundary points are the
# best design for a slope, but ν_r bends the fitted line (sin is not linear): V_∞ > 0 and SBPA
# wins only below n*(r), which depends on r (smallest near r = 0.2) — *the regime changes with n*.
#
# **Logistic regression with a label-free score** (the margin |w*·x + b*|, keep the points near the
# decision boundary): a region of x leaves P(y | x) unchanged and the model is well specified, so
# V_∞ = 0 — there is no crossover in n at all. Whether SBPA wins depends only on its variance
# constant against random's: *the boundary is vertical*, at r₀ ≈ 0.53, and does not move with n.
#
# Now measure a small phase diagram for the line (20 replications per cell): each cell is coloured by
# the strategy with the lowest mean excess, EC and AC at the α chosen by the Neyman /
# bias-variance rules included.

# %%
cfg = pd.PhaseConfig(setting="line", rs=(0.1, 0.3, 0.5, 0.7), ns=(100, 1000, 10_000), reps=20, boot=200)
result = pd.run_phase_diagram(cfg)
win = pd.winners(result)
for i, r in enumerate(cfg.rs):
    print(f"r = {r}: " + ", ".join(f"n = {n:,}: {pd.STRATEGIES[win[i, m]]}" for m, n in enumerate(cfg.ns)))

# %%
colors = ("#9e9e9e", "#d62728", "#ff7f0e", "#1f77b4", "#2ca02c")
fig, ax = plt.subplots(figsize=(5.5, 3.6))
for i, r in enumerate(cfg.rs):
    for m, n in enumerate(cfg.ns):
        ax.scatter([r], [n], s=400, marker="s", color=colors[win[i, m]])
boundary = pd.predicted_boundary(cfg, tuple(np.round(np.linspace(0.1, 0.7, 13), 3)))
ax.plot(list(boundary), [e["sbpa-hard"][1] for e in boundary.values()], "k-", label="predicted n*(r)")
for c in pd.crossovers(result):
    if c["status"] == "crossover":
        ax.errorbar([c["r"]], [c["n_star"]], yerr=[[c["n_star"] - c["ci_low"]], [c["ci_high"] - c["n_star"]]],
                    fmt="D", mfc="white", color="k", capsize=3)
for s, color in zip(pd.STRATEGIES, colors):
    ax.scatter([], [], marker="s", color=color, label=s)
ax.set_yscale("log")
ax.set_xlabel("r (fraction kept)")
ax.set_ylabel("n")
ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
plt.show()

# %% [markdown]
# How to read it: go up a column (fixed r, more data). Below the black line SBPA keep-hard beats
# random pruning; above it random wins. The diamonds are the measured crossovers of keep-hard and
# random, with 95% bootstrap intervals: the prediction, computed by quadrature with no simulation,
# should pass through them. The colours also show a third regime: EC or AC at a data-chosen α
# often beat both — calibration buys SBPA's design where it helps and random's consistency where
# that matters. The full figure (`theory-sim figures phase_diagram`) draws four settings, including
# the vertical boundary of the label-free logistic score and a network, for which no quadrature
# exists.
