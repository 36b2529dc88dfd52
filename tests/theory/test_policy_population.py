"""Population losses under a policy's limit (theory_sim.models.policy_population), against independent
computations: the protocols' own quadrature (population_loss, a different code path: regions, not
weights), and a Monte Carlo average of ρ(z) f(z; θ) with the exact levels, within 4.5 standard errors
(false-failure rate 7e-6 per parameter, normal approximation; 4 parameters)."""

import numpy as np
import pytest

import theory_sim as ts
from theory_sim.core import selection_policies as sp
from theory_sim.core.selection_laws import levels, protocol_profile
from theory_sim.models.policy_population import profile_population_loss
from theory_sim.models.population import logistic_loss_mc, population_loss

MU = ts.make_process("gaussian-logistic", d=2)
THETAS = np.array([[2.0, 1.0, 0.5], [1.0, -1.0, 0.0], [-0.5, 2.0, 1.0], [0.3, 0.2, -2.0]])


@pytest.mark.parametrize("score_name,keep", [("margin", "lowest"), ("el2n", "highest")])
def test_protocol_profiles_match_the_protocols_quadrature(score_name, keep):
    score = ts.make_score(score_name, MU)
    hard = "highest" if keep == "lowest" else "lowest"  # levels of the kept end are low levels
    for protocol, alpha in (("sbpa", None), ("ac", 0.5)):
        expected = population_loss(MU, THETAS, score=score, r=0.2, protocol=protocol, alpha=alpha, keep=keep,
                                   method="quadrature").values
        got = profile_population_loss(MU, THETAS, score, protocol_profile(protocol, 0.2, alpha), hard=hard)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", ["soft", "ccs"])
def test_smooth_and_many_bin_profiles_match_monte_carlo(name):
    score = ts.make_score("entropy", MU)
    lim = sp.policy_limit(name, MU, score, 0.3)
    quad = profile_population_loss(MU, THETAS, score, lim.profile, hard=score.hard)
    dens = lambda x, y: lim.profile(levels(MU, score, x, y, keep="lowest"))  # noqa: E731  (entropy: hard = highest)
    mc = logistic_loss_mc(MU, THETAS, density=dens, n_mc=60_000, rng=np.random.default_rng(11), chunk=60_000)
    assert np.all(np.abs(quad - mc.values) < 4.5 * mc.stderr), (quad, mc.values, mc.stderr)
    assert np.max(np.abs(quad - population_loss(MU, THETAS, method="quadrature").values)) > 10 * mc.stderr.max()


def test_refuses_a_score_without_quadrature():
    with pytest.raises(ValueError, match="needs one of"):
        profile_population_loss(MU, THETAS, ts.make_score("distance", MU), protocol_profile("sbpa", 0.2), hard="highest")
