"""Exactness is declared, never inherited (theory_sim.core.exactness; docs/theory.md, "Extending the toolkit").

A subclass of a built-in process that changes how the data are drawn must not get the built-in
closed forms: before this module a Student-t design in a subclass of GaussianLogistic got the
Gaussian q_0.1 = 0.28810 labelled "closed-form cdf + root", where the truth is 0.3434.
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import integrate, optimize, stats

import theory_sim as ts
from theory_sim.core.exactness import exact_owner
from theory_sim.core.processes import Data


@dataclass(frozen=True, eq=False)
class StudentT(ts.GaussianLogistic):
    """x with i.i.d. Student-t(3) coordinates; labels as GaussianLogistic's."""

    def _sample(self, n, rng):
        x = rng.standard_t(3, (n, self.dim))
        return Data(x, (rng.random(n) < self.label_prob(x)).astype(np.float64))


def _student_margin_quantile(r):
    """q with P(|2 X1 + X2 + 0.5| ≤ q) = r, X1, X2 i.i.d. t(3): the CDF of u = 2 X1 + X2 + 0.5 by
    adaptive quadrature over X2, then Brent's method (independent of the toolkit)."""
    t3 = stats.t(3)

    def u_cdf(t):
        return integrate.quad(lambda x2: t3.pdf(x2) * t3.cdf((t - 0.5 - x2) / 2.0), -np.inf, np.inf,
                              epsabs=1e-13, epsrel=1e-12)[0]

    return optimize.brentq(lambda q: u_cdf(q) - u_cdf(-q) - r, 0.0, 5.0, xtol=1e-12)


def test_student_t_subclass_gets_a_monte_carlo_quantile_near_the_truth():
    truth = _student_margin_quantile(0.1)
    assert truth == pytest.approx(0.3434, abs=5e-4)  # the issue quotes 0.3434 (a Monte Carlo figure); here 0.34365
    mu = StudentT()
    score = ts.make_score("margin", mu)
    assert ts.score_cdf(mu, score) is None
    q = ts.score_quantile(mu, score, 0.1, rng=20261201)
    assert q.method == "monte-carlo" and not q.exact and q.n_mc == 1_000_000 and q.stderr > 0
    # A two-sided 4-SE criterion: false-failure rate ~6e-5 for a normal estimator (fixed seed).
    assert abs(q.value - truth) < 4 * q.stderr
    # Negative control: the Gaussian closed form the subclass used to inherit is rejected by it.
    gaussian = ts.score_quantile(ts.GaussianLogistic(), score, 0.1)
    assert gaussian.method == "closed-form cdf + root"
    assert abs(gaussian.value - truth) > 4 * q.stderr
    with pytest.raises(ValueError, match="method='exact' is not available"):
        ts.score_quantile(mu, score, 0.1, method="exact")


def _resampled(cls, method):
    """A subclass of ``cls`` that replaces ``method`` by a copy of the same code (same law: a
    closed form is lost all the same, since nothing declares it for the subclass)."""
    base = getattr(cls, method)
    return dataclass(frozen=True, eq=False)(type(f"Resampled{cls.__name__}", (cls,), {method: lambda self, *a: base(self, *a)}))


BUILTIN = {  # process -> (capabilities it declares, scores with a closed form on it)
    ts.GaussianLogistic: (("logit-law", "label-law", "distance-law", "population-quadrature"),
                          ("margin", "entropy", "loss", "el2n", "distance")),
    ts.GaussianMixture: (("logit-law", "label-law", "distance-law", "population-quadrature"),
                         ("margin", "entropy", "loss", "el2n", "distance")),
    ts.Exponential: (("logit-law", "label-law", "distance-law"), ("margin", "entropy", "loss", "el2n", "distance")),
    ts.SineRegression: (("distance-law", "population-quadrature"), ("distance",)),
}


@pytest.mark.parametrize("cls", list(BUILTIN), ids=lambda c: c.name)
def test_every_builtin_closed_form_is_lost_by_a_subclass_that_changes_sampling(cls):
    capabilities, scores = BUILTIN[cls]
    methods = ["_sample"] + (["label_prob"] if cls.task == "classification" else [])
    same = dataclass(frozen=True, eq=False)(type("Same", (cls,), {}))()  # changes nothing: keeps them
    for capability in capabilities:
        assert exact_owner(cls(), capability) is cls and exact_owner(same, capability) is cls
    for method in methods:
        sub = _resampled(cls, method)()
        for capability in capabilities:
            assert exact_owner(sub, capability) is None, (method, capability)
        for name in scores:
            assert ts.score_cdf(cls(), ts.make_score(name, cls())) is not None
            assert ts.score_cdf(same, ts.make_score(name, same)) is not None
            score = ts.make_score(name, sub)
            assert ts.score_cdf(sub, score) is None, (method, name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert ts.score_quantile(sub, score, 0.2, n_mc=1000, rng=0).method == "monte-carlo"
        if "population-quadrature" in capabilities and cls.task == "classification":
            th = np.zeros((1, 3))
            assert ts.population_loss(cls(), th, method="quadrature").method == "quadrature"
            with pytest.raises(ValueError, match="method='quadrature' is not available"):
                ts.population_loss(sub, th, method="quadrature")


def test_a_method_patched_on_the_instance_loses_the_closed_forms():
    mu = ts.GaussianLogistic()
    object.__setattr__(mu, "_sample", StudentT()._sample)
    assert exact_owner(mu, "logit-law") is None


def test_the_quadrature_rules_of_the_network_populations_are_declared_not_inherited():
    from theory_sim.models.network_population import quadrature_rule as rule_1d
    from theory_sim.models.network_population_2d import gaussian_rule_2d

    rule_1d(ts.SineRegression(), 0.5)
    with pytest.raises(TypeError, match="samples as one"):
        rule_1d(_resampled(ts.SineRegression, "_sample")(), 0.5)
    gaussian_rule_2d(ts.GaussianLogistic())
    with pytest.raises(ValueError, match="process must be one of"):
        gaussian_rule_2d(StudentT())


def test_a_score_that_changes_its_formula_loses_the_builtin_law():
    @dataclass(frozen=True, eq=False)
    class Shifted(ts.Score):
        def values(self, x, y):
            return super().values(x, y) + 1.0

    mu = ts.GaussianLogistic()
    builtin = ts.make_score("margin", mu)
    shifted = Shifted("margin", True, "lowest", reference=mu.truth())
    assert ts.score_cdf(mu, builtin) is not None and ts.score_cdf(mu, shifted) is None
    assert math.isclose(ts.score_quantile(mu, shifted, 0.5, rng=0, n_mc=200_000).value,
                        ts.score_quantile(mu, builtin, 0.5).value + 1.0, abs_tol=0.02)
