"""The perceptron experiment's student error (exact for a Gaussian design) and its summary."""

import math

import numpy as np
import pytest

from theory_sim.experiments.perceptron import PerceptronConfig, student_error


def test_student_error_is_the_angle_over_pi():
    rng = np.random.default_rng(0)
    teacher = np.array([1.0, 0.0, 0.0])
    x = rng.standard_normal((4000, 3))
    y = np.where(x @ teacher >= 0, 1, -1)
    assert student_error(x, y, teacher) < 0.02  # plenty of separable data: the max-margin student finds T
    # a student trained on labels of another teacher at 60 degrees: error close to 1/3
    other = np.array([math.cos(math.pi / 3), math.sin(math.pi / 3), 0.0])
    y2 = np.where(x @ other >= 0, 1, -1)
    assert student_error(x, y2, teacher) == pytest.approx(1 / 3, abs=0.02)
    assert student_error(x[:5], np.ones(5, dtype=int), teacher) == 0.5  # one class: no orientation


def test_config_refuses_bad_input():
    with pytest.raises(ValueError, match="regime must be one of"):
        PerceptronConfig(regime="huge")
    with pytest.raises(ValueError, match="keeps fewer than 2 points"):
        PerceptronConfig(pairs=((10, 4),), r=0.3)
