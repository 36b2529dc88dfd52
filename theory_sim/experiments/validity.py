"""The validity experiment (claims C4, C5, C6): the validity gap of SBPA, label-free vs label-dependent.

``gaussian-logistic`` (d = 2), logistic model on the ball W = {‖θ‖ ≤ 6}. Label-free SBPA
(``margin``, keep the lowest) should stay valid: V_n → V_∞ = 0 (C5). Label-dependent SBPA
(``el2n``, keep the hardest) should not: V_n → V_∞ > 0, larger at small r (C6).
"""

from __future__ import annotations

from theory_sim.experiments._framework import Experiment, register
from theory_sim.experiments._montecarlo import MonteCarloConfig, tiny_net as _net

SCORES = {"margin": "lowest", "el2n": "highest"}  # score -> which end SBPA keeps
SIZES = {
    "tiny": dict(net_size=8, rs=(1.0,), ns=(200, 400), reps=2),
    "small": dict(rs=(0.1, 0.3), ns=(1_000, 10_000), reps=4),
    "default": dict(rs=(0.1, 0.2, 0.3, 0.5), ns=(1_000, 10_000, 100_000), reps=10),
    "full": dict(rs=(0.05, 0.1, 0.2, 0.3, 0.5), ns=(1_000, 10_000, 100_000, 1_000_000), reps=20),
}


def configs(size: str) -> dict:
    p = SIZES[size]
    return {(score, r): MonteCarloConfig(score=score, keep=keep, protocol="sbpa", r=r, ns=p["ns"], reps=p["reps"],
                                         seed=4, **_net(p))
            for score, keep in SCORES.items() for r in p["rs"]}


register(Experiment("validity", "validity gap V_n of SBPA, label-free (margin) vs label-dependent (EL2N)",
                    ("C4", "C5", "C6"), configs))
