r"""Score functions g(z) and their orientation (docs/theory.md, "Definitions").

A score maps each point z = (x, y) to a real number. SBPA keeps the points with the
**lowest** g (``keep="lowest"``) or, when asked, the highest; no code guesses which end to
keep. Each score declares which end of g is *hard* (``Score.hard``), so that "keep the
hardest" is ``keep=score.keep("hard")``.

Reference-model scores use a linear logit u(x) = w_ref·x + b_ref with p(x) = σ(u(x)); the
reference is the process's Bayes logit (the truth) unless another one is given, e.g. a
perturbed "probe" (:meth:`LinearModel.perturbed`).

=============  ==========================================  ==========  ==============
name           g(x, y)                                     label-free  hard end
=============  ==========================================  ==========  ==============
``margin``     |u(x)|                                      yes         lowest
``entropy``    −p log p − (1 − p) log(1 − p)               yes         highest
``distance``   ‖x − c‖ (c: the process's centre)            yes         highest
``loss``       −y log p − (1 − y) log(1 − p)               no          highest
``el2n``       |p − y|                                     no          highest
``grand``      ‖∇_(w,b) loss‖ = |p − y| √(1 + ‖x‖²)         no          highest
=============  ==========================================  ==========  ==============

``decimals=k`` rounds the score to k decimals: a deliberately *non-adapted* score (its law
has atoms), which the theory does not cover and :func:`theory_sim.check_adapted` flags.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from theory_sim.core.exactness import declare_exact
from theory_sim.registry import Registry
from theory_sim.validation import check_array, check_choice, check_int
from theory_sim.core.processes import LinearModel, Process

__all__ = ["Score", "SCORES", "get_score", "make_score", "register_score"]

# name -> (label_free, hard end, needs a reference logit)
_BUILTIN: dict[str, tuple[bool, str, bool]] = {
    "margin": (True, "lowest", True),
    "entropy": (True, "highest", True),
    "distance": (True, "highest", False),
    "loss": (False, "highest", True),
    "el2n": (False, "highest", True),
    "grand": (False, "highest", True),
}


def _softplus(u):
    """log(1 + e^u) without overflow."""
    return np.logaddexp(0.0, u)


@declare_exact("builtin-law", depends_on=("values", "__call__"))
@dataclass(frozen=True, eq=False)
class Score:
    """A score function g(x, y) with its declared orientation.

    Attributes
    ----------
    name : str
    label_free : bool
        True when g depends on x only.
    hard : {'lowest', 'highest'}
        Which end of g holds the hard examples.
    reference : LinearModel or None
        The reference logit of ``margin``, ``entropy``, ``loss``, ``el2n``, ``grand``.
    center : ndarray, shape (d,), or None
        The centre c of ``distance``.
    decimals : int or None
        Round g to this many decimals (a non-adapted score, for demonstrations).
    dim : int or None
        The dimension d of x, for a score with neither a reference nor a centre.

    Writing one: subclass ``Score`` (a frozen dataclass), implement ``values(x, y)`` (x checked,
    shape (n, d); y checked labels in {0, 1}, or None for a label-free score) returning an
    array (n,), and build it with ``name``, ``label_free``, ``hard`` and ``dim``; register a
    factory ``f(process=None, **options) -> Score`` with ``theory_sim.register_score``.
    """

    name: str
    label_free: bool
    hard: str
    reference: LinearModel | None = None
    center: np.ndarray | None = None
    decimals: int | None = None
    dim: int | None = None

    def __post_init__(self):
        check_choice("hard", self.hard, ("lowest", "highest"))
        if self.dim is not None:
            object.__setattr__(self, "dim", check_int("dim", self.dim, low=1))
        elif self.reference is None and self.center is None:
            raise ValueError(f"score {self.name!r} needs dim (the dimension of x), a reference or a center")

    @property
    def d(self) -> int:
        if self.dim is not None:
            return self.dim
        return self.reference.d if self.reference is not None else self.center.shape[0]

    def keep(self, which: str) -> str:
        """The ``keep`` argument of :func:`theory_sim.prune` that keeps the ``which`` examples.

        ``which`` is ``"hard"`` or ``"easy"``; returns ``"lowest"`` or ``"highest"``.
        """
        check_choice("which", which, ("hard", "easy"))
        if which == "hard":
            return self.hard
        return "lowest" if self.hard == "highest" else "highest"

    def __call__(self, x, y=None) -> np.ndarray:
        """Evaluate g on n points.

        Parameters
        ----------
        x : ndarray, shape (n, d)
        y : ndarray, shape (n,), values in {0, 1}; required unless the score is label-free.

        Returns
        -------
        g : ndarray, shape (n,), float64
        """
        x = check_array("x", x, shape=(None, self.d))
        if not np.isfinite(x).all():
            raise ValueError("x must be finite, got a non-finite entry")
        if not self.label_free:
            if y is None:
                raise ValueError(f"y is required: score {self.name!r} depends on the labels")
            y = check_array("y", y, shape=(x.shape[0],))
            if not np.isin(y, (0.0, 1.0)).all():
                raise ValueError(f"y must hold labels in {{0, 1}} for score {self.name!r}, got other values")
        g = self.values(x, y)
        if type(self) is not Score:  # a user's score: check what it returned
            g = check_array(f"values of score {self.name!r}", g, shape=(x.shape[0],))
        if self.decimals is not None:
            g = np.round(g, self.decimals)
        return g

    def values(self, x, y):
        """g on checked inputs (the built-in scores; a subclass overrides this)."""
        if self.name == "distance":
            return np.sqrt(((x - self.center) ** 2).sum(axis=1))
        u = self.reference.logit(x)
        if self.name == "margin":
            return np.abs(u)
        if self.name == "entropy":
            # 1 − σ(u) as σ(−u): the subtraction would lose all precision once e^|u| ~ 2^53
            return expit(u) * _softplus(-u) + expit(-u) * _softplus(u)
        signed = (2.0 * y - 1.0) * u  # y = 1: u; y = 0: −u
        if self.name == "loss":
            return _softplus(-signed)
        el2n = expit(-signed)  # |σ(u) − y|
        if self.name == "el2n":
            return el2n
        return el2n * np.sqrt(1.0 + (x * x).sum(axis=1))  # grand

    def __repr__(self) -> str:
        extra = f", reference={self.reference!r}" if self.reference is not None else ""
        extra += f", center={self.center.tolist()!r}" if self.center is not None else ""
        extra += f", decimals={self.decimals}" if self.decimals is not None else ""
        return f"Score({self.name!r}, label_free={self.label_free}, hard={self.hard!r}{extra})"


def _check_score(name, obj):
    if not callable(obj):
        raise TypeError(f"score {name!r} must be a function f(process=None, **options) returning a Score, "
                        f"got {type(obj).__name__}")


SCORES = Registry("score", _BUILTIN, check=_check_score)


def register_score(name: str, factory, *, replace: bool = False):
    """Register ``factory(process=None, **options) -> Score`` under ``name`` (options: ``reference``,
    ``center``, ``decimals`` when given to :func:`make_score`). Returns ``factory``."""
    return SCORES.register(name, factory, replace=replace)


def get_score(name: str):
    """The factory registered as ``name`` (a built-in's entry is its (label_free, hard, needs a reference))."""
    return SCORES.get_checked(name)


def make_score(name: str, process: Process | None = None, *, reference=None, center=None, decimals=None) -> Score:
    """Build a registered score.

    Parameters
    ----------
    name : {'margin', 'entropy', 'distance', 'loss', 'el2n', 'grand'} or a registered name
    process : Process, optional
        Supplies the defaults: the truth as reference model, the mean of x as centre.
    reference : LinearModel, optional
        Reference logit for the model-based scores (default: ``process.truth()``).
    center : ndarray, shape (d,), optional
        Centre c of ``distance`` (default: ``process.default_center()``).
    decimals : int ≥ 0, optional
        Round the score: a non-adapted score, for demonstrations.
    """
    factory = SCORES.get_checked(name)
    if process is not None and not isinstance(process, Process):
        raise TypeError(f"process must be a Process (see make_process), got {type(process).__name__}")
    if name not in _BUILTIN:
        options = {k: v for k, v in (("reference", reference), ("center", center), ("decimals", decimals))
                   if v is not None}
        score = factory(process, **options)
        if not isinstance(score, Score):
            raise TypeError(f"score {name!r} must build a theory_sim.Score, got {type(score).__name__}")
        if process is not None and score.d != process.d:
            raise ValueError(f"score {name!r} has dimension d={score.d} but the process has d={process.d}")
        return score
    label_free, hard, needs_reference = factory
    if decimals is not None:
        decimals = check_int("decimals", decimals, low=0)
    if needs_reference:
        if center is not None:
            raise ValueError(f"center applies to the 'distance' score only, not to {name!r}")
        if reference is None:
            if process is None:
                raise ValueError(f"score {name!r} needs a process or a reference model")
            if not hasattr(process, "truth"):
                raise ValueError(
                    f"score {name!r} needs a classification process with a linear logit; "
                    f"{process.name!r} is a {process.task} process (use 'distance' or your own scores)"
                )
            reference = process.truth()
        if not isinstance(reference, LinearModel):
            raise TypeError(f"reference must be a LinearModel, got {type(reference).__name__}")
        if process is not None and reference.d != process.d:
            raise ValueError(f"reference must have dimension d={process.d} of the process, got {reference.d}")
        return Score(name, label_free, hard, reference=reference, decimals=decimals)
    if reference is not None:
        raise ValueError("reference applies to the model-based scores, not to 'distance'")
    if center is None:
        if process is None:
            raise ValueError("score 'distance' needs a process or a center")
        center = process.default_center()
    center = check_array("center", center, ndim=1).copy()
    if process is not None and center.shape[0] != process.d:
        raise ValueError(f"center must have shape ({process.d},) to match the process, got {center.shape}")
    if not np.isfinite(center).all():
        raise ValueError("center must be finite")
    center.setflags(write=False)
    return Score(name, label_free, hard, center=center, decimals=decimals)
