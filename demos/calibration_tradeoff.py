# %% [markdown]
# # Calibration: spending part of the budget at random
#
# Exact calibration (EC) keeps k_s = ⌊α k⌋ points by score (S) and k − k_s points uniformly at
# random from the rest (E), with weights 1/n on S and (n − k_s)/(n (k − k_s)) on E. Conditionally
# on the data, the weighted loss is **unbiased** for the full-data loss, for every α < 1.
# Approximate calibration (AC) keeps the same points with equal weights: lower variance, but
# biased. α = 0 is random pruning; AC at α = 1 is SBPA.

# %%
import numpy as np

import theory_sim as ts

rng = np.random.default_rng(0)
n, r = 2_000, 0.2
g = rng.standard_normal(n)
f = np.exp(g) + 0.1 * rng.standard_normal(n)  # per-point losses, correlated with the score
print(f"full-data loss L_n = {f.mean():.4f}")

# %% [markdown]
# Draw many selections of each protocol on the *same* data and look at the weighted loss.

# %%
def weighted_losses(protocol, alpha, reps=2_000):
    out = np.empty(reps)
    for j, seed in enumerate(np.random.SeedSequence(1).spawn(reps)):
        sel = ts.prune(g, r, protocol, alpha=alpha, rng=np.random.default_rng(seed))
        out[j] = sel.weights @ f[sel.indices]
    return out


for alpha in (0.0, 0.5, 0.9):
    ec, ac = weighted_losses("ec", alpha), weighted_losses("ac", alpha)
    formula = ts.ec_variance(f, g, r, alpha)
    print(f"α = {alpha}: EC mean {ec.mean():.4f} (sd {ec.std():.4f}; formula sd {np.sqrt(formula):.4f}), "
          f"AC mean {ac.mean():.4f} (sd {ac.std():.4f})")

# %% [markdown]
# EC stays centred on L_n at every α; its variance follows the stratified-sampling formula
# `ts.ec_variance` and grows as α → 1. AC is biased towards the low-score points it favours, and
# the bias grows with α (claims C10–C12).

# %% [markdown]
# The trade-off on one picture: over a grid of α, EC's standard deviation (measured over the
# selections, and by the formula) and AC's bias against L_n.

# %%
import matplotlib.pyplot as plt

alphas = np.array([0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95])
ec_sd, ec_formula, ac_bias = [], [], []
for alpha in alphas:
    ec, ac = weighted_losses("ec", alpha, reps=500), weighted_losses("ac", alpha, reps=500)
    ec_sd.append(ec.std())
    ec_formula.append(np.sqrt(ts.ec_variance(f, g, r, alpha)))
    ac_bias.append(ac.mean() - f.mean())

fig, axes = plt.subplots(1, 2, figsize=(7, 3.2), sharex=True, layout="constrained")
axes[0].plot(alphas, ec_sd, "o", label="measured (500 selections)")
axes[0].plot(alphas, ec_formula, "-", label="formula (ts.ec_variance)")
axes[0].set_title("EC: standard deviation")
axes[0].legend(loc="upper left")
axes[1].plot(alphas, ac_bias, "o-")
axes[1].axhline(0.0, color="0.5", lw=0.8)
axes[1].set_title("AC: bias against $L_n$")
for ax in axes:
    ax.set_xlabel("α")
plt.show()
