# %% [markdown]
# # What score-based pruning keeps: the limit ν_r
#
# Score-based pruning (SBPA) keeps the fraction r of the data with the lowest score g.
# Ayed & Hayou (arXiv 2302.06960) show that, as the data grow, the kept points stop looking like
# the data: they converge to **ν_r = µ|A_r / r**, the data law restricted to the acceptance
# region A_r = {g ≤ q_r}. Random pruning keeps a sample of µ itself.
#
# We use a 2-D logistic process and the label-free `margin` score |w*·x + b*|: SBPA keeps the
# points closest to the decision boundary (the "hard" ones).

# %%
import matplotlib.pyplot as plt
import numpy as np

import theory_sim as ts

mu = ts.make_process("gaussian-logistic", d=2)
score = ts.make_score("margin", process=mu)
data = mu.sample(4_000, rng=0)
g = score(data.x, data.y)

# %% [markdown]
# Prune to r = 0.1 by SBPA and by random pruning, with the same seed.

# %%
r = 0.1
sbpa = ts.prune(g, r, "sbpa", rng=1)
rand = ts.prune(g, r, "random", rng=1)
q = ts.score_quantile(mu, score, r)
print(f"budget k = {sbpa.k}; exact q_r = {q.value:.5f} ({q.method}); empirical threshold g_(k) = {sbpa.threshold:.5f}")

fig, axes = plt.subplots(1, 2, figsize=(7, 3.2), sharex=True, sharey=True)
for ax, sel, title in zip(axes, (sbpa, rand), ("SBPA (keep lowest margin)", "random")):
    ax.scatter(*data.x.T, s=1, c="0.8")
    ax.scatter(*data.x[sel.indices].T, s=3)
    ax.set_title(title)
    ax.set_xlabel("$x_1$")
axes[0].set_ylabel("$x_2$")
plt.show()

# %% [markdown]
# SBPA's kept points fill a thin band: the region A_r. As n grows their empirical law approaches
# ν_r, *not* µ. The experiment `run_limit` measures the distance of the kept sample to each, with
# targets drawn exactly (ν_r by rejection from µ).

# %%
res = ts.run_limit(ts.LimitConfig(r=r, ns=(1_000, 10_000, 100_000), reps=3, seed=2), progress=False)
for row in res.rows:
    print(f"n = {row.n:>7}: distance to ν_r = {row.gap_limit:.4f}, distance to µ = {row.gap_mu:.4f}")
print(f"log-log slope to ν_r: {res.fit_limit.slope:+.2f} (n^(-1/2) gives -0.5); to µ: {res.fit_mu.slope:+.2f}")

# %% [markdown]
# The distance to ν_r falls like n^{-1/2}; the distance to µ does not move. No amount of data
# makes SBPA's sample look like the data: this is the root of the inconsistency (claim C2).
