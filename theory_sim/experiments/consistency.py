"""The consistency experiment (claims C2, C3, C10, C11): Δ_n against n for the four protocols.

``gaussian-logistic`` (d = 2), ``margin`` score, r = 0.1, logistic model, the 256-point net of
the ball ‖θ‖ ≤ 6. Random pruning and EC (α = 0.5) should fall like n^{-1/2}; SBPA and AC
(α = 0.5) level off at their limits Δ_∞, computed independently by quadrature. The Monte Carlo
engine is :mod:`theory_sim.experiments._montecarlo`.
"""

from __future__ import annotations

from theory_sim.experiments._framework import Experiment, register
from theory_sim.experiments._montecarlo import MonteCarloConfig, tiny_net as _net

PROTOCOLS = ("sbpa", "random", "ec", "ac")
SIZES = {
    "tiny": dict(net_size=8, ns=(200, 400), reps=2, protocols=("random", "ec")),
    "small": dict(ns=(1_000, 3_000, 10_000), reps=4),
    "default": dict(ns=(1_000, 10_000, 100_000, 1_000_000), reps=20),
    "full": dict(ns=(1_000, 10_000, 100_000, 1_000_000, 10_000_000), reps=50),
}


def configs(size: str) -> dict:
    p = SIZES[size]
    return {proto: MonteCarloConfig(protocol=proto, alpha=0.5 if proto in ("ec", "ac") else None, r=0.1,
                                    ns=p["ns"], reps=p["reps"], seed=3, **_net(p))
            for proto in p.get("protocols", PROTOCOLS)}


register(Experiment("consistency", "consistency gap Δ_n vs n for SBPA, random, EC and AC",
                    ("C2", "C3", "C10", "C11"), configs))
