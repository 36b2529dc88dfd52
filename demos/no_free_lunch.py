# %% [markdown]
# # No free lunch: no score beats random pruning once the data are plentiful
#
# Claim C9 (docs/theory.md, "Claim register"). Take a finite input space of K cells with the uniform distribution,
# and labels y = h(x) where the labelling h is itself drawn uniformly from all 2^K labellings
# (we know nothing about the task in advance). A learner predicts the label it saw on every
# cell that is in the pruned data, and guesses on the others, so its expected error is
# ½ × (mass of the cells it never saw).
#
# Random pruning keeps k = ⌊r n⌋ i.i.d. points: every cell is eventually seen and the error
# ½ (1 − 1/K)^k → 0. Score-based pruning keeps the k points of lowest score: as n → ∞ it keeps
# only the cells whose score is below the quantile q_r, and **never** sees the others. The
# exact numbers below come from `proofs_check.nfl` (rational arithmetic, every labelling
# enumerated); the simulation uses `theory_sim.prune` on actual samples.

# %%
from fractions import Fraction

import numpy as np

import theory_sim as ts
from proofs_check.nfl import SCORE_FAMILIES, finite_errors, limit_errors, random_error

K, r = 8, Fraction("0.31")
print(f"K = {K} cells, r = {r}: expected error as n → ∞")
for name, (score, label_free) in SCORE_FAMILIES.items():
    err = limit_errors(score, K, r)
    print(f"  SBPA, {name:48s} {str(err):>8s} = {float(err):.4f}")
print(f"  random pruning: ½ (1 − 1/K)^k → 0")

# %% [markdown]
# Every score family that ranks the cells — label-free or label-dependent, with or without
# ties — keeps an error bounded away from 0. The constant score is the exception that proves
# the rule: all its values tie, ties are broken at random, and SBPA *is* random pruning (error
# 0). A label-free score with distinct values on the cells sees exactly the ⌈rK⌉ lowest
# cells, so its error is ½ (1 − ⌈rK⌉/K) = ½ · 5/8 = 5/16 here.
#
# At finite n the comparison is also exact. Here is the score g = x/K for a few n:

# %%
score = SCORE_FAMILIES["label-free distinct g=x/K"][0]
K_small, r_small = 4, Fraction(1, 2)
for n in (2, 4, 6, 8, 10, 12):
    sbpa, rand = finite_errors(score, K_small, r_small, n)
    print(f"n = {n:2d}, k = {int(r_small * n)}: SBPA {float(sbpa):.4f}   random {float(rand):.4f}")

# %% [markdown]
# A simulation with the toolkit's own pruning agrees with the exact values: draw n cells,
# labels from a random h, prune with `ts.prune`, and count the unseen mass.

# %%
def simulated_error(protocol, n, reps=20_000, seed=0):
    errors = np.empty(reps)
    for j, child in enumerate(np.random.SeedSequence(seed).spawn(reps)):
        rng = np.random.default_rng(child)
        cells = rng.integers(0, K_small, size=n)
        g = cells / K_small  # the label-free score g(x) = x/K
        sel = ts.prune(g, float(r_small), protocol, keep="lowest", rng=rng)
        seen = np.unique(cells[sel.indices])
        errors[j] = 0.5 * (K_small - seen.size) / K_small
    return errors.mean(), errors.std() / np.sqrt(reps)


n = 8
sbpa, rand = finite_errors(score, K_small, r_small, n)
for protocol, exact in (("sbpa", sbpa), ("random", rand)):
    mean, se = simulated_error(protocol, n)
    print(f"{protocol:6s}: simulated {mean:.4f} ± {se:.4f} (1 s.e.), exact {float(exact):.4f}")

# %% [markdown]
# (The labels do not enter: with a label-free score the seen cells do not depend on h.)
#
# What the enumeration shows: at every n the score-based selection does no better than random
# for this learner, and as n grows random pruning's error goes to 0 while SBPA's stays at its
# limit. No choice of score fixes this without knowing the task — which is what the uniform
# prior on h rules out. `proofs-check --only C9` runs the whole enumeration (K ≤ 10, six score
# families, several r, and every ranking of the cells at small n).
