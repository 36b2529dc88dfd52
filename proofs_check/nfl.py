r"""No free lunch for score-based pruning on a finite input space (claim C9), by exact enumeration.

**Model.** X = {0, …, K − 1} (K "cells") with the uniform marginal µ_X(x) = 1/K. A labelling
h : X → {0, 1} is drawn uniformly from the 2^K labellings; a point is z = (x, h(x)), and
D_n = (z_1, …, z_n) is i.i.d. given h. A **score** is any function g : X × {0, 1} → Q of the
cell and the label (label-free when it ignores the label); on a point z = (x, y) it is
g(x, y), so for a fixed h the score of cell x is v_x = g(x, h(x)). SBPA keeps the k = ⌊r n⌋
points of lowest score, ties broken uniformly at random (docs/theory.md, "Protocols"); random pruning keeps a
uniform k-subset. The **learner** predicts h(x) on every cell it saw (a majority vote, which
is exact since labels are noise-free) and a fair coin on every other cell, so its expected
error is

.. math::  \mathrm{err} = \tfrac12\,\mu_X(\text{cells not seen in the pruned data}).

Every probability below is an exact rational (``fractions.Fraction``); expectations are over
h (uniform), D_n and the pruning's randomness.

**n → ∞.** Random pruning keeps k i.i.d. uniform cells, so err_random = ½(1 − 1/K)^k → 0.
SBPA: write F(v) = µ_X{x : v_x ≤ v}. A cell is seen with probability → 1 if F(v_x−) < r
(its score class is below q_r or straddles it), → 0 if F(v_x−) > r, and → ½ if F(v_x−) = r
exactly (the count of points below it is Binomial(n, r), below ⌊rn⌋ with probability → ½ by
the CLT; the score has atoms here, which the adapted-score theory of §2.3 does not cover). Hence

.. math::  \mathrm{err}^{\infty}_{SBPA} = \frac{1}{2^K}\sum_h \frac{1}{2K}\sum_x P_\infty(x \text{ unseen} \mid h)
           \;\ge\; 0 = \lim_n \mathrm{err}_{random},

for every score and every r < 1, strictly when ⌈rK⌉ < K for a score with no ties. Enumerated
for K = 1…10, six score families (label-free and label-dependent, with and without ties) and
four values of r.

**The bound.** err = ½ × unseen mass + (error on seen cells = 0) is an identity for this
learner. For *any* learner it holds when the score is label-free: the seen set does not
depend on h, so the unseen labels stay uniform given the data; this is checked by computing
the Bayes-optimal error from the exact posterior. For a label-dependent score the selection
leaks labels and a learner that knows g can beat ½ on unseen cells; the enumeration reports
such a case (it does not contradict the claim: random pruning's error still tends to 0).

**Finite n.** For each h, the SBPA error given the cell counts c (multinomial) is exact: a cell
below the threshold class is unseen iff c_x = 0; a cell in the threshold class (t tied points
of which m are kept) is unseen with probability C(t − c_x, m)/C(t, m); a cell above it is
unseen. Random pruning: P(x unseen | c) = C(n − c_x, k)/C(n, k), which must sum to the closed
form ½(1 − 1/K)^k (checked). Since cells are exchangeable, for a fixed h the SBPA error depends
on the score only through its *ranking* of the cells (the ordered sizes of its tie classes,
2^(K−1) of them), and the error of any score — label-dependent ones included — is an average
over h of ranking errors. Comparing every ranking with random pruning therefore covers every
score. The check reports, per (K, r, ranking), the smallest n from which err_SBPA ≥ err_random
holds at every enumerated n. (The claim allows the inequality to fail at very small n; for
this learner and the enumerated K ≤ 5, n ≤ 24, the enumeration finds no n at which it fails:
at k = 1 both keep one point and are equal, and SBPA is never better at larger n.
The check reports what it finds.)
"""

from __future__ import annotations

import functools
import itertools
import math
from fractions import Fraction

from theory_sim.validation import check_int

__all__ = ["SCORE_FAMILIES", "LIMIT_RS", "limit_seen", "limit_errors", "bayes_limit_error", "finite_errors",
           "random_error", "check_c9"]


def _fam_distinct(x, y, K):
    return Fraction(x, K)


def _fam_pairs(x, y, K):
    return Fraction(x // 2)


def _fam_constant(x, y, K):
    return Fraction(0)


def _fam_label_first(x, y, K):
    return y + Fraction(x, 2 * K)


def _fam_hash(x, y, K):
    return Fraction((7 * x + 5 * y * (x + 1)) % 5, 5)


def _fam_keep_hard(x, y, K):
    return -Fraction(y * (x + 1), K)


# name -> (g(x, y, K), label_free)
SCORE_FAMILIES = {
    "label-free distinct g=x/K": (_fam_distinct, True),
    "label-free ties g=floor(x/2)": (_fam_pairs, True),
    "label-free constant g=0": (_fam_constant, True),
    "label-dependent g=y+x/(2K)": (_fam_label_first, False),
    "label-dependent hash g=((7x+5y(x+1)) mod 5)/5": (_fam_hash, False),
    "label-dependent keep-hard g=-y(x+1)/K": (_fam_keep_hard, False),
}
LIMIT_RS = ("0.31", "0.5", "0.55", "0.87")  # 0.5 has F(v-) = r exactly for some K, scores: the 1/2 case
# (K, r, n_max): every ranking of the K cells against random pruning for n_min = ⌈1/r⌉ ≤ n ≤ n_max
FINITE_CASES = ((2, "0.5", 24), (2, "0.31", 24), (3, "0.5", 18), (3, "0.55", 18), (4, "0.5", 14), (4, "0.31", 14),
                (5, "0.5", 10), (5, "0.55", 10))


def _labellings(K):
    return itertools.product((0, 1), repeat=K)


def _check_fraction_r(r) -> None:
    if not isinstance(r, Fraction):
        raise TypeError(f"r must be a fractions.Fraction (exact arithmetic), got {r!r}")
    if not 0 < r < 1:
        raise ValueError(f"r must be in (0, 1), got {r}")


def limit_seen(values, r: Fraction) -> list:
    """P(cell x is seen by SBPA) as n → ∞, for cell scores ``values`` (uniform cells), r < 1.

    1 if F(v_x−) < r, 1/2 if F(v_x−) = r, 0 if F(v_x−) > r, with F(v−) = #{y : v_y < v}/K.
    """
    K = len(values)
    out = []
    for v in values:
        below = Fraction(sum(1 for u in values if u < v), K)
        out.append(Fraction(1) if below < r else Fraction(1, 2) if below == r else Fraction(0))
    return out


def limit_errors(score, K: int, r: Fraction) -> Fraction:
    """err_SBPA as n → ∞: (1/2^K) Σ_h ½ · (1/K) Σ_x (1 − P(x seen)).

    Parameters
    ----------
    score : callable (x, y, K) -> Fraction
        g(x, y) on cell x with label y.
    K : int ≥ 1
        Number of cells.
    r : Fraction in (0, 1)
        Compression level.
    """
    K = check_int("K", K, low=1)
    _check_fraction_r(r)
    total = Fraction(0)
    for h in _labellings(K):
        seen = limit_seen([score(x, h[x], K) for x in range(K)], r)
        total += sum((1 - s for s in seen), Fraction(0))
    return total / (2**K) / K / 2


def bayes_limit_error(score, K: int, r: Fraction):
    """Bayes-optimal error as n → ∞ for a learner that knows g and sees the kept cells and their labels.

    Only for r with no F(v−) = r case (the seen set is then a function of h). Returns
    (bayes_error, coin_error) as Fractions; they are equal when the unseen labels are uniform
    given the observation.
    """
    groups: dict = {}
    coin = Fraction(0)
    for h in _labellings(K):
        seen = limit_seen([score(x, h[x], K) for x in range(K)], r)
        if any(s == Fraction(1, 2) for s in seen):
            raise ValueError(f"r={r} puts a score class exactly at F(v-) = r; the observation is random")
        seen_set = tuple(x for x in range(K) if seen[x] == 1)
        key = (seen_set, tuple(h[x] for x in seen_set))
        groups.setdefault(key, []).append(h)
        coin += Fraction(K - len(seen_set), 2)
    bayes = Fraction(0)
    for (seen_set, _), hs in groups.items():
        for x in range(K):
            if x not in seen_set:
                ones = sum(h[x] for h in hs)
                bayes += min(ones, len(hs) - ones)
    return bayes / (2**K) / K, coin / (2**K) / K


def random_error(K: int, k: int) -> Fraction:
    """½ (1 − 1/K)^k: random pruning keeps k i.i.d. uniform cells (exchangeability)."""
    return Fraction(1, 2) * Fraction(K - 1, K) ** k


@functools.lru_cache(maxsize=None)
def _compositions(n: int, K: int) -> tuple:
    """Every count vector c (c_1 + … + c_K = n) with its multinomial weight n!/Π c_x!."""
    out = []
    for cuts in itertools.combinations(range(n + K - 1), K - 1):
        edges = (-1,) + cuts + (n + K - 1,)
        c = tuple(edges[i + 1] - edges[i] - 1 for i in range(K))
        weight = math.factorial(n)
        for ci in c:
            weight //= math.factorial(ci)
        out.append((c, weight))
    return tuple(out)


def _sbpa_unseen(classes, counts, k) -> Fraction:
    """E[#unseen cells | counts] for SBPA keeping the k lowest; ``classes``: cell lists by increasing score."""
    kept = 0
    unseen = Fraction(0)
    for j, cells in enumerate(classes):
        t = sum(counts[x] for x in cells)
        if kept + t <= k:  # the whole class is kept
            unseen += sum(1 for x in cells if counts[x] == 0)
            kept += t
            continue
        m = k - kept  # m of the t tied points, uniformly
        total = math.comb(t, m)
        unseen += sum((Fraction(math.comb(t - counts[x], m), total) for x in cells), Fraction(0))
        unseen += sum(len(rest) for rest in classes[j + 1:])
        return unseen
    return unseen


@functools.lru_cache(maxsize=None)
def _sbpa_error_for_structure(sizes: tuple, n: int, k: int) -> Fraction:
    """E[#unseen]/K under SBPA for a score whose classes (in increasing order) have these sizes.

    Cells are exchangeable under the uniform multinomial, so only the class sizes matter.
    """
    K = sum(sizes)
    classes, start = [], 0
    for s in sizes:
        classes.append(list(range(start, start + s)))
        start += s
    total = Fraction(0)
    for counts, weight in _compositions(n, K):
        total += weight * _sbpa_unseen(classes, counts, k)
    return total / K**n / K


def _rankings(K: int):
    """Every ranking of K exchangeable cells: the ordered tie-class sizes (compositions of K)."""
    for cuts in itertools.product((False, True), repeat=K - 1):
        sizes, run = [], 1
        for cut in cuts:
            if cut:
                sizes.append(run)
                run = 1
            else:
                run += 1
        sizes.append(run)
        yield tuple(sizes)


def _structure(values) -> tuple:
    distinct = sorted(set(values))
    return tuple(sum(1 for v in values if v == d) for d in distinct)


def finite_errors(score, K: int, r: Fraction, n: int) -> tuple[Fraction, Fraction]:
    """(err_SBPA, err_random) at sample size n, exactly (k = ⌊r n⌋ ≥ 1)."""
    K, n = check_int("K", K, low=1), check_int("n", n, low=1)
    _check_fraction_r(r)
    k = math.floor(r * n)
    if k < 1:
        raise ValueError(f"n is too small for the budget: floor(r * n) = floor({r} * {n}) = 0; need r * n >= 1")
    total = Fraction(0)
    for h in _labellings(K):
        total += _sbpa_error_for_structure(_structure([score(x, h[x], K) for x in range(K)]), n, k)
    return total / 2**K / 2, random_error(K, k)


def _random_by_enumeration(K: int, n: int, k: int) -> Fraction:
    """Random pruning's error by enumeration of the counts (P(x unseen | c) = C(n − c_x, k)/C(n, k))."""
    total = Fraction(0)
    for counts, weight in _compositions(n, K):
        total += weight * sum((Fraction(math.comb(n - c, k), math.comb(n, k)) for c in counts), Fraction(0))
    return total / K**n / K / 2


def check_c9():
    """C9: exact no-free-lunch comparison (see the module docstring)."""
    ev = {"numeric_tests": "none: C9 has no Monte Carlo test; the exact enumeration here is its check"}
    ok = True

    # n → ∞ over K = 1..10, every family and r
    n_limit = 0
    strict = 0
    for name, (score, _) in SCORE_FAMILIES.items():
        for K in range(1, 11):
            for r_text in LIMIT_RS:
                err = limit_errors(score, K, Fraction(r_text))
                n_limit += 1
                ok &= err >= 0  # random pruning's limit error is 0
                strict += err > 0
        ev[f"limit_K10_r0.31 [{name}]"] = str(limit_errors(score, 10, Fraction("0.31")))
    ev["limit_cases"] = n_limit
    ev["limit_cases_strictly_worse_than_random"] = strict
    # a distinct label-free score at r = 0.31, K = 10: exactly ½ (1 − ⌈rK⌉/K) = ½ · 6/10
    ok &= limit_errors(_fam_distinct, 10, Fraction("0.31")) == Fraction(3, 10)

    # the bound: for label-free scores the Bayes learner cannot beat ½ × unseen mass
    bayes_rows = []
    for name, (score, label_free) in SCORE_FAMILIES.items():
        bayes, coin = bayes_limit_error(score, 8, Fraction("0.31"))
        if label_free:
            ok &= bayes == coin
        bayes_rows.append((name, bayes, coin))
    ev["bound_label_free_bayes_equals_half_unseen"] = all(b == c for n_, b, c in bayes_rows
                                                         if SCORE_FAMILIES[n_][1])
    leaky = [(n_, b, c) for n_, b, c in bayes_rows if b < c]
    ev["bound_label_dependent_leaks"] = "; ".join(f"{n_}: Bayes {b} < coin {c}" for n_, b, c in leaky) or "none"

    # finite n, every score at once: for a fixed h, SBPA's error depends on the score only through
    # its ranking of the cells (the ordered sizes of its tie classes; cells are exchangeable),
    # and a label-dependent score's error is an average over h of such errors. So comparing every
    # ranking with random pruning covers every score, label-free or not.
    starts = {}
    n_rankings = 0
    for K, r_text, n_max in FINITE_CASES:
        r = Fraction(r_text)
        n_min = math.ceil(1 / r)
        for n in (n_min, n_min + 3):  # random pruning: closed form against the enumeration of counts
            ok &= _random_by_enumeration(K, n, math.floor(r * n)) == random_error(K, math.floor(r * n))
        for sizes in _rankings(K):
            n_rankings += 1
            holds = [_sbpa_error_for_structure(sizes, n, math.floor(r * n)) / 2 >= random_error(K, math.floor(r * n))
                     for n in range(n_min, n_max + 1)]
            start = n_max + 1  # the smallest n from which the inequality holds at every enumerated n
            for n, h in zip(range(n_max, n_min - 1, -1), reversed(holds)):
                if not h:
                    break
                start = n
            starts[(K, r_text, sizes)] = (start, n_min)
            ok &= start <= n_max
    # the families, for illustration: exact errors at a few n
    K, r = 4, Fraction("0.5")
    for name in ("label-free ties g=floor(x/2)", "label-dependent hash g=((7x+5y(x+1)) mod 5)/5"):
        score = SCORE_FAMILIES[name][0]
        ev[f"finite_K4_r0.5 [{name}] (n: SBPA vs random)"] = "; ".join(
            f"{n}: {float(a):.4f} vs {float(b):.4f}" for n in (2, 4, 8, 14) for a, b in [finite_errors(score, K, r, n)])
    # convergence of SBPA to its limit (distinct label-free score, r = 0.55: no F(v-) = r case)
    lim = limit_errors(_fam_distinct, 3, Fraction("0.55"))
    gaps = [finite_errors(_fam_distinct, 3, Fraction("0.55"), n)[0] - lim for n in (10, 14, 18)]
    ev["finite_K3_r0.55_distinct_gap_to_limit_n10_14_18"] = ", ".join(f"{float(g):.3e}" for g in gaps)
    ok &= abs(gaps[2]) < abs(gaps[1]) < abs(gaps[0])
    from_start = sum(1 for (s, n_min) in starts.values() if s == n_min)
    ev["finite_cases"] = "; ".join(f"K={K} r={r} n<={m}" for K, r, m in FINITE_CASES)
    ev["finite_rankings_compared"] = n_rankings
    ev["finite_inequality_holds_from_smallest_n"] = f"{from_start}/{len(starts)} (ranking, K, r) cases"
    late = {key: s for key, (s, n_min) in starts.items() if s > n_min}
    ev["finite_inequality_starts_later"] = "; ".join(f"K={K} r={r} classes {sz}: from n={s}"
                                                     for (K, r, sz), s in late.items()) or "none"
    ev["summary"] = (f"limit: err_SBPA >= 0 = err_random in {n_limit} cases ({strict} strict); Bayes = 1/2 unseen "
                     f"for label-free; finite n: SBPA >= random from the first n in {from_start}/{len(starts)}")
    return bool(ok), ev
