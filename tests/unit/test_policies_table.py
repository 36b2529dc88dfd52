"""The verdict rule of the policies table (theory_sim.experiments.policies.verdicts) on synthetic gaps
with known rates: n^{-1/2} and n^{-1} decays are 'consistent' / 'valid', a plateau is not, and a
noisy two-point fit is 'undecided'. The numbers are built here, so the verdicts are known."""

import numpy as np

from theory_sim.experiments.policies import PolicyCellConfig, PolicyCellResult, verdicts

NS = (1_000, 10_000, 100_000)


def _result(delta, validity, delta_inf=0.0, v_inf=0.0, ns=NS, reps=6):
    cfg = PolicyCellConfig(policy="ccs", score="entropy", ns=ns, reps=reps, net_size=8)
    lim = {"delta_inf": delta_inf, "delta_inf_se": 0.0, "v_inf": v_inf, "kept_fraction": 0.3, "method": "test"}
    return PolicyCellResult(cfg, np.asarray(delta, float), np.asarray(validity, float), lim)


def test_rates_give_the_verdicts():
    rng = np.random.default_rng(0)
    n = np.asarray(NS, float)[:, None]
    noise = np.exp(0.05 * rng.standard_normal((3, 6)))
    good = verdicts(_result(n**-0.5 * noise, n**-1.0 * noise))
    assert (good["measured_consistent"], good["measured_valid"]) == ("consistent", "valid")
    assert (good["predicted_consistent"], good["predicted_valid"]) == ("consistent", "valid")
    bad = verdicts(_result(1.3 * noise, 0.2 * noise, delta_inf=1.3, v_inf=0.2))
    assert (bad["measured_consistent"], bad["measured_valid"]) == ("not consistent", "not valid")
    assert (bad["predicted_consistent"], bad["predicted_valid"]) == ("not consistent", "not valid")


def test_too_noisy_is_undecided():
    rng = np.random.default_rng(1)
    n = np.asarray(NS[:2], float)[:, None]
    row = verdicts(_result(n**-0.25 * np.exp(rng.standard_normal((2, 2))), n**-0.5 * np.exp(rng.standard_normal((2, 2))),
                           ns=NS[:2], reps=2))
    assert row["measured_consistent"] == "undecided" and row["measured_valid"] == "undecided"
