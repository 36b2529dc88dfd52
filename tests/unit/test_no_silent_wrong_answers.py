"""Inputs that used to give a wrong answer quietly are errors (issue 17, item 5), and the
package docstring's example runs as a doctest."""

import doctest
import math

import numpy as np
import pytest

import theory_sim
import theory_sim as ts
from theory_sim.models.fit import fit_weighted
from theory_sim.models.linear import make_model
from theory_sim.models.mlp import make_mlp, train
from theory_sim.models.population import population_loss

GL = ts.make_process("gaussian-logistic", d=2)


@pytest.mark.parametrize("theta, needle", [
    ([math.inf, 0.0, 0.0], "thetas must be finite"),
    ([math.nan, 0.0, 0.0], "thetas must not contain NaN"),
    ([1e200, 1e200, 0.0], "gives a non-finite loss"),
])
def test_population_loss_refuses_what_it_cannot_compute(theta, needle):
    with pytest.raises(ValueError, match=needle):
        population_loss(GL, [[1.0, 1.0, 0.0], theta])
    assert np.isfinite(population_loss(GL, [[1e10, 0.0, 1.0]]).values).all()  # large but fine


def test_all_zero_weights_are_refused_by_train_and_fit_weighted():
    data = GL.sample(50, rng=0)
    with pytest.raises(ValueError, match="weights must not be all zero"):
        train(make_mlp(2, hidden=(4,), loss="cross-entropy"), data.x, data.y, np.zeros(50), rng=0, max_iter=5)
    with pytest.raises(ValueError, match="weights must not be all zero"):
        fit_weighted(make_model("logistic", d=2), data.x, data.y, np.zeros(50))


def test_integer_scores_beyond_2_53_are_refused_not_ranked_by_their_float_rounding():
    for seed in range(4):  # float64 makes both 2**53: the kept index depended on the seed
        with pytest.raises(ValueError, match=r"g holds integers beyond 2\*\*53 .*9007199254740993 at index 0"):
            ts.prune([2**53 + 1, 2**53], 0.5, rng=seed)
    with pytest.raises(ValueError, match="beyond 2"):
        ts.prune(np.array([-(2**53) - 1, 0], dtype=np.int64), 0.5, keep="highest")
    # up to 2**53 every integer is a float64: ranked exactly
    assert ts.prune([2**53, 2**53 - 1], 0.5).indices.tolist() == [1]
    assert ts.prune(np.array([-(2**53), 5]), 0.5, keep="highest").indices.tolist() == [1]


def test_package_docstring_doctest_passes():
    result = doctest.testmod(theory_sim, verbose=False)
    assert result.attempted >= 5 and result.failed == 0
