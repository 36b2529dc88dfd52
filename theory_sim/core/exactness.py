"""Exactness is declared, never inherited (docs/theory.md, "Extending the toolkit").

A closed form (the law of a score, a quadrature rule for population losses) holds for the law a
class *samples*. A class declares the closed forms it supports with :func:`declare_exact`; the
declaration records the declaring class and the methods the law depends on (by default the
sampling methods ``_sample`` and ``label_prob``). :func:`exact_owner` honours it only when the
instance's class still uses the declaring class's versions of those methods, so a subclass that
changes how the data are drawn — a Student-t design in a subclass of ``GaussianLogistic`` — loses
every closed form and the toolkit falls back on seeded Monte Carlo, labelled as such, with a
standard error. Capabilities used by the toolkit:

===========================  =====================================================  ==========================
capability                   what it asserts                                         declared by
===========================  =====================================================  ==========================
``logit-law``                the law of w·x + b under the x-marginal                 gaussian-logistic,
                                                                                     gaussian-mixture,
                                                                                     exponential
``label-law``                the joint law of (y, w·x + b)                           the same three
``distance-law``             the law of ‖x − c‖                                      the four built-ins
``population-quadrature``    the population-loss quadrature of the owner's design    gaussian-logistic,
                                                                                     gaussian-mixture,
                                                                                     sine-regression
``score-law``                the process's own ``score_law(score)`` method           a user's process
``builtin-law``              a Score computes the built-in formula of its name        Score
===========================  =====================================================  ==========================
"""

from __future__ import annotations

__all__ = ["SAMPLING", "declare_exact", "exact_owner"]

SAMPLING = ("_sample", "label_prob")  # the methods through which a process draws its data


def declare_exact(*capabilities: str, depends_on: tuple = SAMPLING):
    """Class decorator: the class declares ``capabilities``, valid while ``depends_on`` are its own."""
    def decorate(cls):
        table = dict(getattr(cls, "__exact__", {}))
        for capability in capabilities:
            table[capability] = (cls, tuple(depends_on))
        cls.__exact__ = table
        return cls

    return decorate


def exact_owner(obj, capability: str):
    """The class whose declaration of ``capability`` holds for ``obj``, or None.

    None when nobody declared it, or when ``type(obj)`` replaced one of the methods the
    declaration depends on (the closed form would describe a law ``obj`` does not sample).
    """
    entry = getattr(type(obj), "__exact__", {}).get(capability)
    if entry is None:
        return None
    owner, methods = entry
    cls = type(obj)
    if any(getattr(cls, m, None) is not getattr(owner, m, None) for m in methods):
        return None
    if any(m in getattr(obj, "__dict__", {}) for m in methods):  # a method patched on the instance
        return None
    return owner
