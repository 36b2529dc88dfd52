# %% [markdown]
# # Scaling laws under pruning: a plateau, and the n where score-based pruning stops paying
#
# Claim C8 (docs/theory.md, "Claim register"): at a fixed fraction r of kept data, the test loss after random
# pruning keeps decaying as a power law in n, while after score-based pruning (SBPA) it levels
# off — the kept data converge to ν_r ≠ µ, so the fit converges to the wrong model. When SBPA
# wins at small n, it loses beyond a crossover n*(r).
#
# The smallest model where all of this is exact: fit a **line** to `sine-regression`
# (x ~ U[−1, 1], y = sin x + ε, s = 0.5) by least squares, prune with the label-free score
# g(x) = |x|, and measure the test loss exactly (by quadrature, no test sample). Keeping the
# hardest points (the boundary |x| ≥ 1 − r) is the best design for estimating a slope, so at
# small n SBPA beats random; but the boundary's best line is not the best line on [−1, 1].

# %%
import numpy as np
from matplotlib import pyplot as plt

from theory_sim.experiments.scaling_laws import ScalingLawConfig, default_ns, run_scaling_laws, summary
from theory_sim.models.polynomial import predicted_plateau

config = ScalingLawConfig(rs=(0.1,), ns=default_ns(100, 10**5, 3), protocols=("random", "sbpa-hard", "sbpa-easy"),
                          replications=20, seed=0)
result = run_scaling_laws(config)
s = summary(result)[0.1]

# %% [markdown]
# The excess test loss L(ŵ) − min L against n, for the three protocols:

# %%
fig, ax = plt.subplots(figsize=(5, 3.6), layout="constrained")
for p, protocol in enumerate(config.protocols):
    mean = result.excess[0, p].mean(axis=-1)
    ax.plot(config.ns, mean, marker="o", label=protocol)
v_inf = predicted_plateau("sbpa-hard", 0.1, omega=config.omega, noise=config.noise, degree=config.degree)
ax.axhline(v_inf, ls="--", color="k", lw=0.8, label="V∞ of SBPA keep-hard (quadrature)")
ax.set(xscale="log", yscale="log", xlabel="n (before pruning)", ylabel="excess test loss", title="r = 0.1")
ax.legend(fontsize=8)
plt.show()

# %%
fit = s["random"]["fit"]
print(f"random pruning: slope {fit.slope:.2f} (95% CI {fit.ci_low:.2f} … {fit.ci_high:.2f}) — a power law, ≈ 1/n")
tail = s["sbpa-hard"]["tail"]
print(f"SBPA keep-hard, last decade: slope {tail.slope:.2f} (95% CI {tail.ci_low:.2f} … {tail.ci_high:.2f}) — flat")
pl = s["sbpa-hard"]["plateau"]
print(f"SBPA keep-hard at n = {pl.n}: {pl.mean:.2e} (95% CI {pl.ci_low:.2e} … {pl.ci_high:.2e}); "
      f"predicted V∞ = {pl.predicted_limit:.2e}")
cross = s["sbpa-hard"]["crossover"]
print(f"crossover: n* = {cross.n_star:.0f} (bootstrap 95% CI {cross.ci_low:.0f} … {cross.ci_high:.0f}); "
      f"predicted {cross.predicted_n_star:.0f}")
print("SBPA keep-easy:", s["sbpa-easy"]["crossover"].status)

# %% [markdown]
# Below n* the boundary is worth more than a random sample of the same size; above it the bias
# of ν_r dominates and no amount of data removes it. Keeping the easy points (the centre) is
# worse on both counts for a line: it never wins.
#
# The remedy is calibration: exact calibration (EC) spends part of the budget at random and
# re-weights, so its limit is µ and its curve follows random's power law (the `scaling_laws`
# figure of the report shows EC and AC at r = 0.1, 0.2, 0.3, and `theory-sim figures
# scaling_laws_mlp` the same effect for a small neural network).
