r"""Synthetic data-generating processes µ whose truth is known (docs/theory.md, "Definitions").

Each process is a small frozen dataclass with ``sample(n, rng)`` returning :class:`Data`.
Classification processes also expose the Bayes logit as a :class:`LinearModel`
(``P(y = 1 | x) = σ(w·x + b)``), which is the default reference model of the scores.

======================  ==========================================  ==============================
name                    law                                         known exactly
======================  ==========================================  ==============================
``gaussian-logistic``   x ~ N(0, I_d), P(y=1|x) = σ(w*·x + b*)      law of w·x + b (normal);
                                                                    ‖x − c‖² (non-central χ²)
``gaussian-mixture``    y ~ Bernoulli(π), x | y ~ N(±m, σ² I_d)     Bayes logit w = 2m/σ²,
                                                                    b = log(π/(1−π)); laws given y
``sine-regression``     x ~ U[−1, 1], y = sin(ω x) + ε, ε~N(0, s²)   law of |x − c| (piecewise linear)
``exponential``         x ~ Exp(λ) (d = 1), P(y=1|x) = σ(w* x + b*)  law of x: 1 − e^{−λx}; so
                                                                    ``distance`` to 0 has
                                                                    q_r = −log(1 − r)/λ (teaching)
======================  ==========================================  ==============================

In ``gaussian-mixture`` the label ``y = 1`` goes with mean ``+m`` and ``y = 0`` with ``−m``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy.special import expit

from theory_sim.core.exactness import declare_exact
from theory_sim.registry import Registry
from theory_sim.validation import as_generator, check_array, check_int, check_real

__all__ = [
    "Data",
    "LinearModel",
    "Process",
    "GaussianLogistic",
    "GaussianMixture",
    "SineRegression",
    "Exponential",
    "PROCESSES",
    "get_process",
    "make_process",
    "register_process",
]


def _frozen_array(name, value, shape):
    arr = check_array(name, value, shape=shape).copy()
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr!r}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class Data:
    """A sample D_n = (z_1, ..., z_n), z_i = (x_i, y_i).

    Attributes
    ----------
    x : ndarray, shape (n, d), float64
    y : ndarray, shape (n,), float64 (0.0/1.0 for classification)
    """

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self):
        if self.x.ndim != 2 or self.y.shape != (self.x.shape[0],):
            raise ValueError(f"Data needs x of shape (n, d) and y of shape (n,), got {self.x.shape} and {self.y.shape}")

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def d(self) -> int:
        return self.x.shape[1]

    def take(self, indices) -> "Data":
        """The sub-sample at ``indices`` (e.g. ``data.take(selection.indices)``)."""
        return Data(self.x[indices], self.y[indices])


@dataclass(frozen=True, eq=False)
class LinearModel:
    r"""A linear logit ``u(x) = w·x + b``; as a classifier, ``P(y = 1 | x) = σ(u(x))``.

    Parameters
    ----------
    w : ndarray, shape (d,)
    b : float
    """

    w: np.ndarray
    b: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "w", _frozen_array("w", self.w, (None,)))
        object.__setattr__(self, "b", check_real("b", self.b))

    @property
    def d(self) -> int:
        return self.w.shape[0]

    def logit(self, x: np.ndarray) -> np.ndarray:
        """u(x) = w·x + b for x of shape (n, d)."""
        return x @ self.w + self.b

    def perturbed(self, scale: float, rng=None) -> "LinearModel":
        """A "probe": the model with i.i.d. N(0, scale²) noise added to w and b."""
        scale = check_real("scale", scale, low=0.0)
        rng = as_generator(rng)
        noise = rng.normal(0.0, scale, size=self.d + 1)
        return LinearModel(self.w + noise[:-1], self.b + noise[-1])

    def __repr__(self) -> str:
        return f"LinearModel(w={self.w.tolist()!r}, b={self.b!r})"


@dataclass(frozen=True, eq=False)
class Process:
    """Base class: a law µ on Z = X × Y that can be sampled.

    Writing one (docs/theory.md, "Extending the toolkit"): a frozen dataclass subclass whose fields
    are its parameters, with

    - ``task`` (class attribute): ``"classification"`` (labels y ∈ {0, 1}) or ``"regression"``;
    - ``d`` (property): the dimension of x;
    - ``_sample(n, rng)``: n i.i.d. draws as :class:`Data`, from the numpy Generator ``rng`` only;
    - optionally ``truth()``: the Bayes logit as a :class:`LinearModel` (the default reference of the
      model-based scores, and the minimiser of the logistic population loss when well specified);
    - optionally ``score_law(score)``: the exact law of g(Z) as a :class:`theory_sim.core.laws.Law`
      (or None), honoured only if the class declares it with
      ``@declare_exact("score-law")`` (:mod:`theory_sim.core.exactness`).

    Without a declared law every threshold, limit and population loss is computed by seeded Monte
    Carlo with a reported standard error. Closed forms are never inherited: a subclass of a built-in
    that replaces ``_sample`` or ``label_prob`` loses them.
    """

    name: ClassVar[str] = ""
    task: ClassVar[str] = ""  # "classification" or "regression"

    @property
    def d(self) -> int:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def sample(self, n: int, rng=None) -> Data:
        """Draw ``n`` i.i.d. points from µ.

        Parameters
        ----------
        n : int, n ≥ 1
        rng : Generator, SeedSequence, int or None
        """
        n = check_int("n", n, low=1)
        return self._sample(n, as_generator(rng))

    def _sample(self, n: int, rng: np.random.Generator) -> Data:  # pragma: no cover
        raise NotImplementedError

    def default_center(self) -> np.ndarray:
        """Centre used by the ``distance`` score when none is given: the mean of x."""
        return np.zeros(self.d)


class _LogisticLabels:
    """Mixin: classification with P(y = 1 | x) = σ(truth.logit(x))."""

    task: ClassVar[str] = "classification"

    def truth(self) -> LinearModel:  # pragma: no cover
        raise NotImplementedError

    def label_prob(self, x: np.ndarray) -> np.ndarray:
        """P(y = 1 | x), shape (n,)."""
        return expit(self.truth().logit(x))


@declare_exact("logit-law", "label-law", "distance-law", "population-quadrature")
@dataclass(frozen=True, eq=False)
class GaussianLogistic(_LogisticLabels, Process):
    r"""Well-specified logistic regression: x ~ N(0, I_d), P(y = 1 | x) = σ(w*·x + b*).

    Parameters
    ----------
    d : int, default 2
    w_star : ndarray, shape (d,), default (2, 1, 0, ..., 0) (``(2,)`` when d = 1)
    b_star : float, default 0.5
    """

    name: ClassVar[str] = "gaussian-logistic"
    dim: int = 2
    w_star: np.ndarray | None = None
    b_star: float = 0.5

    def __post_init__(self):
        dim = check_int("d", self.dim, low=1)
        w = np.r_[2.0, 1.0, np.zeros(max(dim - 2, 0))][:dim] if self.w_star is None else self.w_star
        object.__setattr__(self, "dim", dim)
        object.__setattr__(self, "w_star", _frozen_array("w_star", w, (dim,)))
        object.__setattr__(self, "b_star", check_real("b_star", self.b_star))

    @property
    def d(self) -> int:
        return self.dim

    def truth(self) -> LinearModel:
        return LinearModel(self.w_star, self.b_star)

    def _sample(self, n, rng):
        x = rng.standard_normal((n, self.dim))
        y = (rng.random(n) < self.label_prob(x)).astype(np.float64)
        return Data(x, y)


@declare_exact("logit-law", "label-law", "distance-law", "population-quadrature")
@dataclass(frozen=True, eq=False)
class GaussianMixture(_LogisticLabels, Process):
    r"""Two Gaussian classes: y ~ Bernoulli(π), x | y ~ N((2y − 1) m, σ² I_d).

    The Bayes logit is linear: u(x) = (2/σ²) m·x + log(π / (1 − π)).

    Parameters
    ----------
    d : int, default 2
    pi : float in (0, 1), default 0.5
    m : ndarray, shape (d,), default (1, 0.5, 0, ..., 0)
    sigma : float > 0, default 1
    """

    name: ClassVar[str] = "gaussian-mixture"
    dim: int = 2
    pi: float = 0.5
    m: np.ndarray | None = None
    sigma: float = 1.0

    def __post_init__(self):
        dim = check_int("d", self.dim, low=1)
        m = np.r_[1.0, 0.5, np.zeros(max(dim - 2, 0))][:dim] if self.m is None else self.m
        object.__setattr__(self, "dim", dim)
        object.__setattr__(self, "m", _frozen_array("m", m, (dim,)))
        object.__setattr__(self, "pi", check_real("pi", self.pi, low=0.0, high=1.0, low_open=True, high_open=True))
        object.__setattr__(self, "sigma", check_real("sigma", self.sigma, low=0.0, low_open=True))

    @property
    def d(self) -> int:
        return self.dim

    def truth(self) -> LinearModel:
        return LinearModel(2.0 * self.m / self.sigma**2, float(np.log(self.pi / (1.0 - self.pi))))

    def _sample(self, n, rng):
        y = (rng.random(n) < self.pi).astype(np.float64)
        x = (2.0 * y - 1.0)[:, None] * self.m + self.sigma * rng.standard_normal((n, self.dim))
        return Data(x, y)


@declare_exact("distance-law", "population-quadrature")
@dataclass(frozen=True, eq=False)
class SineRegression(Process):
    r"""Regression: x ~ U[−1, 1], y = sin(ω x) + ε, ε ~ N(0, s²) (d = 1).

    Parameters
    ----------
    omega : float > 0, default 5
    noise : float ≥ 0, default 0.1 (the noise standard deviation s)
    """

    name: ClassVar[str] = "sine-regression"
    task: ClassVar[str] = "regression"
    omega: float = 5.0
    noise: float = 0.1

    def __post_init__(self):
        object.__setattr__(self, "omega", check_real("omega", self.omega, low=0.0, low_open=True))
        object.__setattr__(self, "noise", check_real("noise", self.noise, low=0.0))

    @property
    def d(self) -> int:
        return 1

    def regression_function(self, x: np.ndarray) -> np.ndarray:
        """E[y | x] = sin(ω x), shape (n,)."""
        return np.sin(self.omega * x[:, 0])

    def _sample(self, n, rng):
        x = rng.uniform(-1.0, 1.0, size=(n, 1))
        y = self.regression_function(x) + self.noise * rng.standard_normal(n)
        return Data(x, y)


@declare_exact("logit-law", "label-law", "distance-law")
@dataclass(frozen=True, eq=False)
class Exponential(_LogisticLabels, Process):
    r"""Teaching process: x ~ Exp(λ) on [0, ∞) (d = 1), P(y = 1 | x) = σ(w* x + b*).

    With the ``distance`` score centred at 0, g(x) = x, F_g(t) = 1 − e^{−λt},
    q_r = −log(1 − r)/λ and ν_r is the exponential law truncated to [0, q_r].

    Parameters
    ----------
    rate : float > 0, default 1 (λ)
    w_star : float, default 2
    b_star : float, default −2 (the Bayes boundary is x = 1)
    """

    name: ClassVar[str] = "exponential"
    rate: float = 1.0
    w_star: float = 2.0
    b_star: float = -2.0

    def __post_init__(self):
        object.__setattr__(self, "rate", check_real("rate", self.rate, low=0.0, low_open=True))
        object.__setattr__(self, "w_star", check_real("w_star", self.w_star))
        object.__setattr__(self, "b_star", check_real("b_star", self.b_star))

    @property
    def d(self) -> int:
        return 1

    def truth(self) -> LinearModel:
        return LinearModel(np.array([self.w_star]), self.b_star)

    def default_center(self) -> np.ndarray:
        # The teaching case is g(x) = x: the distance to the left end of the support.
        return np.zeros(1)

    def _sample(self, n, rng):
        x = rng.exponential(1.0 / self.rate, size=(n, 1))
        y = (rng.random(n) < self.label_prob(x)).astype(np.float64)
        return Data(x, y)


def _check_process(name, obj):
    if not callable(obj):
        raise TypeError(f"process {name!r} must be a Process subclass or a function returning a Process, "
                        f"got {type(obj).__name__}")


PROCESSES = Registry("process", {cls.name: cls for cls in (GaussianLogistic, GaussianMixture, SineRegression,
                                                             Exponential)}, check=_check_process)


def register_process(name: str, factory, *, replace: bool = False):
    """Register a process under ``name``: a :class:`Process` subclass (a dataclass whose fields are its
    parameters; ``d`` is passed as ``dim`` when it has that field) or a function ``factory(**params)``
    returning a Process. Returns ``factory``."""
    return PROCESSES.register(name, factory, replace=replace)


def get_process(name: str):
    """The class or factory registered as ``name`` (built-in, registered or installed)."""
    return PROCESSES.get_checked(name)


def make_process(name: str, **params) -> Process:
    """Build a registered process by name.

    Parameters
    ----------
    name : {'gaussian-logistic', 'gaussian-mixture', 'sine-regression', 'exponential'} or a registered name
    **params
        The process's parameters (see each class); ``d`` is accepted for the dimension.

    Examples
    --------
    >>> mu = make_process("gaussian-logistic", d=2)
    >>> mu.sample(3, rng=0).x.shape
    (3, 2)
    """
    factory = PROCESSES.get_checked(name)
    if not (isinstance(factory, type) and dataclasses.is_dataclass(factory)):
        d = check_int("d", params.pop("d"), low=1) if "d" in params else None
        return _checked_process(name, factory(**params), d)
    allowed = [f.name for f in dataclasses.fields(factory) if not f.name.startswith("_")]
    d = None
    if "d" in params:
        if "dim" in allowed:
            params["dim"] = params.pop("d")
        else:
            d = check_int("d", params.pop("d"), low=1)
    for key in params:
        if key not in allowed:
            shown = ["d" if a == "dim" else a for a in allowed]
            raise TypeError(f"unknown parameter {key!r} for process {name!r}; allowed: {', '.join(shown)}")
    return _checked_process(name, factory(**params), d)


def _checked_process(name, process, d):
    if not isinstance(process, Process):
        raise TypeError(f"process {name!r} must build a theory_sim.Process, got {type(process).__name__}")
    if d is not None and d != process.d:
        raise ValueError(f"d must be {process.d} for process {name!r}, got {d}")
    return process
