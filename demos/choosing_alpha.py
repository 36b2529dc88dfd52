# %% [markdown]
# # Choosing α on your own scores
#
# Exact calibration (EC) keeps ⌊α k⌋ points by score and the rest of the budget at random, with
# weights that make the pruned loss unbiased. Which α? EC is stratified sampling with a take-all
# stratum, so the classical theory of optimal allocation answers from a **pilot fit**: the spread of
# the per-point losses (or whitened gradients) inside and outside the score-based stratum
# (docs/theory.md, "Choosing α"). `ts.choose_alpha` does it; `theory-sim choose-alpha FILE` does the
# same on a `.npy`/`.csv` file of scores and pilot losses.
#
# Here: a line fitted to heteroscedastic data, y = 1 + 2x + σ(x) ε with σ(x) large for large |x|,
# σ(x) = 0.1 + 2|x|⁶, and the label-free score g = |x|.

# %%
import numpy as np
from matplotlib import pyplot as plt

import theory_sim as ts

rng = np.random.default_rng(0)
n, r = 4_000, 0.2
x = rng.uniform(-1, 1, n)
y = 1 + 2 * x + (0.1 + 2 * np.abs(x) ** 6) * rng.standard_normal(n)
g = np.abs(x)
phi = np.c_[np.ones(n), x]

# %% [markdown]
# The pilot: a least-squares fit on a random fifth of the data, then each point's gradient of the
# squared loss, whitened by H^{-1/2} (H = mean φφᵀ), so that the trace of its covariance is twice
# the predicted excess loss of the fit.

# %%
pilot = rng.choice(n, size=n // 5, replace=False)
w_pilot = np.linalg.lstsq(phi[pilot], y[pilot], rcond=None)[0]
grads = phi * (y - phi @ w_pilot)[:, None]
values = ts.whiten(grads, phi.T @ phi / n)  # grads @ L with L Lᵀ = H⁻¹

choice = ts.choose_alpha(g, values, r, "ec", keep="highest")
print(f"Neyman rule: alpha-hat = {choice.alpha:.2f}; predicted variance {choice.predicted_variance:.4g} "
      f"vs random pruning (alpha = 0) {choice.random_variance:.4g}: {1 - choice.predicted_variance / choice.random_variance:.0%} lower")

# %%
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(choice.alphas, choice.profile / choice.random_variance, "o-", ms=3)
ax.axvline(choice.alpha, color="k", ls=":", label=f"α̂ = {choice.alpha:.2f}")
ax.axhline(1.0, color="grey", lw=0.8)
ax.set_xlabel("α (0 = random pruning)")
ax.set_ylabel("predicted variance ÷ random's")
ax.legend()
plt.show()

# %% [markdown]
# The noise is largest at the kept end (|x| near 1), where the points also carry the most
# information about the slope: taking them all is worth more than sampling them, up to the point
# where the rest of the data is too thinly sampled. The optimum is **interior** because the
# spread at the kept end exceeds 1/r times the average spread (docs/theory.md gives the
# condition). Check it by simulation: EC at α̂ against random pruning, on fresh data sets.

# %%
def excess(alpha, reps=600):
    out = np.empty(reps)
    for j, seed in enumerate(np.random.SeedSequence(7).spawn(reps)):
        gen = np.random.default_rng(seed)
        xs = gen.uniform(-1, 1, n)
        ys = 1 + 2 * xs + (0.1 + 2 * np.abs(xs) ** 6) * gen.standard_normal(n)
        sel = ts.prune(np.abs(xs), r, "ec", alpha=alpha, keep="highest", rng=gen)
        p = np.c_[np.ones(sel.k), xs[sel.indices]] * np.sqrt(sel.weights)[:, None]
        w = np.linalg.lstsq(p, ys[sel.indices] * np.sqrt(sel.weights), rcond=None)[0]
        d = w - np.array([1.0, 2.0])
        out[j] = 0.5 * (d[0] ** 2 + d[1] ** 2 / 3)  # L(w) − min L with E x² = 1/3
    return out


at_hat, at_zero = excess(choice.alpha), excess(0.0)
diff = at_hat - at_zero
half = 1.96 * diff.std(ddof=1) / np.sqrt(diff.size)
print(f"mean excess: EC at alpha-hat {at_hat.mean():.3g}, random {at_zero.mean():.3g}; "
      f"difference {diff.mean():+.3g} ± {half:.2g} (95%)")

# %% [markdown]
# The same rule on logistic regression — and a setting where it predicts α* = 0 (random pruning best) — is run
# against the oracle α*, on two processes, by `theory-sim figures alpha_choice` (docs/theory.md, "The
# alpha_choice experiment"); `ts.whiten` takes any model's per-point gradients and Hessian.
#
# On your own data: write one row per point — the score, then the pilot loss (one column) or the
# whitened gradient (several) — to `scores.csv` and run
# `theory-sim choose-alpha scores.csv --r 0.2 --protocol ec --keep highest`; the answer is the API's.
# For AC (biased, lower variance) use `protocol="ac"`: the rule minimises bias² + variance.
