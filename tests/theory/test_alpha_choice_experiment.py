"""The alpha_choice experiment's oracle against an independent computation, and the two settings' predictions."""

import pytest

from theory_sim.experiments.alpha_choice import EC_ALPHAS, SETTINGS, AlphaChoiceConfig, oracle_profile, summary
from theory_sim.experiments import run
from theory_sim.models.polynomial import PolynomialProblem


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_oracle_predicted_excess_is_the_line_prediction(name):
    # source: PolynomialProblem.predict (the scaling_laws prediction, its own quadrature and EC variance code):
    # half the oracle's profile is the same excess up to O(1/n) terms (k_s rounding, N − 1)
    config = AlphaChoiceConfig(**SETTINGS[name])
    prob = PolynomialProblem(config.omega, config.noise, 1)
    for n in (1_000, 100_000):
        oracle = oracle_profile(config, "ec", n)
        for a, value in zip(EC_ALPHAS, oracle.profile):
            ref = prob.predict("ec", config.r, a, n).total if a > 0 else prob.predict("random", config.r, 0.5, n).total
            assert abs(0.5 * value / ref - 1) < 2.0 / n


def test_the_two_settings_are_predicted_interior_and_zero():
    # quadrature, before any simulation: the interior setting's kept end is spread (v > σ²/r), the other's is not
    assert oracle_profile(AlphaChoiceConfig(**SETTINGS["interior"]), "ec", 1_000).alpha == 0.3
    assert oracle_profile(AlphaChoiceConfig(**SETTINGS["zero"]), "ec", 1_000).alpha == 0.0


def test_summary_of_a_tiny_run(tmp_path):
    res = run("alpha_choice", "tiny", results_dir=tmp_path)
    s = summary(res["interior"])
    assert s["alpha_star_ec"] == [0.3, 0.3, 0.3]
    assert set(s["rules"]) == {"neyman", "cv-ec", "bias-variance", "cv-ac"}
    assert len(s["ec_star_minus_random"]) == 3
