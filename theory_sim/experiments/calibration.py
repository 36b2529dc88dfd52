"""The calibration experiment (claims C10, C11, C12): test loss of EC and AC against the signal fraction α.

``gaussian-logistic`` (d = 2), ``el2n`` score keeping the hardest, logistic model; for each r,
EC over α < 1 and AC over α ≤ 1, one n. The validity gap V_n is measured by the Monte Carlo
engine (:mod:`theory_sim.experiments._montecarlo`).
"""

from __future__ import annotations

from theory_sim.experiments._framework import Experiment, register
from theory_sim.experiments._montecarlo import MonteCarloConfig, tiny_net as _net

SIZES = {
    "tiny": dict(net_size=8, alphas=(0.5,), rs=(1.0,), n=400, reps=2),
    "small": dict(alphas=(0.0, 0.5, 0.9), rs=(0.1, 0.3), n=2_000, reps=3),
    "default": dict(alphas=(0.0, 0.25, 0.5, 0.75, 0.9, 0.95), rs=(0.1, 0.2, 0.3), n=20_000, reps=20),
    "full": dict(alphas=(0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99), rs=(0.1, 0.2, 0.3), n=100_000, reps=50),
}


def configs(size: str) -> dict:
    p = SIZES[size]
    out = {}
    for r in p["rs"]:
        for proto in ("ec", "ac"):
            alphas = p["alphas"] + ((1.0,) if proto == "ac" else ())
            for a in alphas:
                out[(proto, r, a)] = MonteCarloConfig(score="el2n", keep="highest", protocol=proto, alpha=a, r=r,
                                                      ns=(p["n"],), reps=p["reps"], seed=5, **_net(p))
    return out


register(Experiment("calibration", "test loss of EC and AC against the signal fraction α",
                    ("C10", "C11", "C12"), configs))
