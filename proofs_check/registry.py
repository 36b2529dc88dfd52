r"""The claim registry: one exact or symbolic check per claim C1–C12 (docs/theory.md, "Claim register").

A check is a plain function with no arguments that returns ``(passed, evidence)``:

* ``passed`` is ``True`` or ``False`` for a claim with an exact check, and ``None`` for a
  claim that has none (its evidence then names the numeric test of ``theory_sim`` that
  checks it, plus, where cheap, a quick number that is consistent with the claim);
* ``evidence`` is a flat dict of numbers and strings (50-digit values as strings).

:func:`run_check` times the function and wraps it in a :class:`CheckResult`; a check that
raises is a ``'fail'`` whose evidence holds the exception, so one broken check never hides
the others.

The checks live in the modules named by :data:`Check.module`; every one of them may call
``theory_sim`` to compare numbers, never the reverse.
"""

from __future__ import annotations

import importlib
import time
import traceback
from dataclasses import dataclass, field

from theory_sim.claims import CLAIMS

__all__ = ["VERDICTS", "Check", "CheckResult", "CHECKS", "PROPOSITIONS", "claim_ids", "get_check", "proposition_ids",
           "run_check", "run_checks"]

VERDICTS = ("pass", "fail", "numeric-only")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one claim's check.

    Attributes
    ----------
    claim : str
        The claim id, ``'C1'`` … ``'C12'`` (:data:`theory_sim.claims.CLAIMS`).
    statement : str
        What the check establishes, in one or two sentences.
    method : str
        How: ``'sympy'``, ``'mpmath 50 digits'``, ``'exact enumeration (Fraction)'``, … or
        ``'numeric test'`` for a claim with no exact check.
    verdict : {'pass', 'fail', 'numeric-only'}
    evidence : dict
        Numbers and strings; the key ``'summary'`` is the short line printed in the table.
    seconds : float
        Wall time of the check.
    """

    claim: str
    statement: str
    method: str
    verdict: str
    evidence: dict = field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(map(repr, VERDICTS))}; got {self.verdict!r}")

    def to_dict(self) -> dict:
        return {"claim": self.claim, "statement": self.statement, "method": self.method, "verdict": self.verdict,
                "evidence": dict(self.evidence), "seconds": self.seconds}


@dataclass(frozen=True)
class Check:
    """A registered check: the claim it serves and where its function lives.

    Attributes
    ----------
    claim, statement, method : str
        As in :class:`CheckResult`. A claim with no exact check (method ``'numeric test'``)
        states the claim itself, :data:`theory_sim.claims.CLAIMS` (the one copy of the register).
    module, function : str
        ``proofs_check.<module>.<function>``, imported on first use (sympy and mpmath load
        only when a check needs them).
    slow : bool
        True for checks that take more than about 3 s (tests mark them ``slow``).
    """

    claim: str
    statement: str
    method: str
    module: str
    function: str
    slow: bool = False

    @property
    def claim_statement(self) -> str:
        """The claim this check serves, as the register states it (:data:`theory_sim.claims.CLAIMS`)."""
        return CLAIMS[self.claim]

    def load(self):
        return getattr(importlib.import_module(f"proofs_check.{self.module}"), self.function)


CHECKS: tuple[Check, ...] = (
    Check("C1", "nu_r = mu|A_r / r is a probability measure and q_r has a closed form: exponential/distance "
          "q_r = -log(1 - r)/lambda (sympy); margin on gaussian-logistic = folded normal, solved at 50 digits; "
          "both agree with theory_sim.score_quantile.",
          "sympy + mpmath 50 digits", "limits", "check_c1", slow=True),
    Check("C2", CLAIMS["C2"], "numeric test", "numeric", "check_c2"),
    Check("C3", CLAIMS["C3"], "numeric test", "numeric", "check_c3"),
    Check("C4", CLAIMS["C4"], "numeric test", "numeric", "check_c4", slow=True),
    Check("C5", "Well-specified logistic regression, any label-free score: grad L_nu_r(theta*) = 0, since "
          "E[sigma(u*) - y | x] = 0 pointwise (sympy); worked case margin, d = 1, at 50 digits.",
          "sympy + mpmath 50 digits", "logistic", "check_c5"),
    Check("C6", "A label-dependent score (EL2N keep-highest, d = 1, w* = 2, b* = 0.5, r = 0.3) moves the "
          "minimiser: grad L_nu_r(theta*) != 0, computed at 50 digits.",
          "sympy + mpmath 50 digits", "logistic", "check_c6", slow=True),
    Check("C7", CLAIMS["C7"], "numeric test", "numeric", "check_c7", slow=True),
    Check("C8", CLAIMS["C8"], "numeric test", "numeric", "check_c8"),
    Check("C9", "No free lunch on K cells (uniform prior on labelings): expected error after SBPA >= after "
          "random pruning, for every score and r < 1, in the n -> infinity limit and at finite n; "
          "error >= 1/2 x mass of unseen cells.",
          "exact enumeration (Fraction)", "nfl", "check_c9", slow=True),
    Check("C10", "EC is unbiased: E[L_n^EC | D_n] = L_n as a polynomial identity in symbolic losses f_1..f_n, "
          "by enumeration of every exploration subset; theory_sim.prune's weights are the rationals to 1 ulp.",
          "sympy enumeration", "calibration", "check_c10"),
    Check("C11", "The AC limit density integrates to 1; TV(nu_AC, mu) = alpha (1 - r), increasing in alpha, "
          "0 at alpha = 0 (sympy); theory_sim.limit_density takes these values.",
          "sympy", "limits", "check_c11"),
    Check("C12", "Var[L_n^EC | D_n] = (N/n)^2 sigma_R^2/m (N - m)/(N - 1) exactly (enumeration, symbolic and "
          "Fraction) and equals theory_sim.ec_variance; it blows up as alpha -> 1; best alpha interior or not "
          "depending on the data; EC at p = alpha r beats random iff (1 - p) s_R^2 < (r - p)(s_S^2 + (1 - p) D^2), "
          "interior optimum when v > sigma^2/r (sympy), and theory_sim.choose_alpha finds the enumerated best.",
          "sympy + exact enumeration (Fraction)", "calibration", "check_c12", slow=True),
)


# The project's own propositions P1-P4 (docs/theory.md, "Selection policies: a general limit law (ours)"):
# not claims of the register, checked the same way and run after the claims.
PROPOSITIONS: tuple[Check, ...] = (
    Check("P1", "Independent selection with probability pi(g), unweighted: the kept law is pi(g) mu / E pi(g) "
          "(exact enumeration of the strong-law means and the 1/n variance on a discrete mu).",
          "exact enumeration (Fraction)", "policies", "check_p1"),
    Check("P2", "Inverse-probability (Horvitz-Thompson) weights: E[L^HT | D_n] = L_n (sympy), per-point variance "
          "E f^2/pi - (E f)^2, and pi = 0 on a set loses its mass.",
          "sympy + exact enumeration (Fraction)", "policies", "check_p2"),
    Check("P3", "Fixed-size equivalent: SBPA on augmented data (z, U); successive weighted sampling is the "
          "exponential race, pi(g) = 1 - exp(-tau lambda(g)) (sympy).",
          "sympy", "policies", "check_p3"),
    Check("P4", "Stratified shares s_b in bins of mass m_b: density s_b/(r m_b); stratum weights unbiased; SBPA, "
          "AC, random and EC's weights as special cases (sympy, enumeration), and theory_sim agrees.",
          "sympy + exact enumeration (Fraction)", "policies", "check_p4"),
    Check("P5", "The variance of SBPA's kept mean: sigma^2 = Var_nu f + (1 - r)(E_nu f - E[f | g = q_r])^2 (and the "
          "cross term of two test functions) equals Var(h)/r of the linearised kept mean, exactly, on a discrete mu "
          "with the threshold inside an atom; the exact k Var of the kept mean (multinomial enumeration) tends to it.",
          "exact enumeration (Fraction)", "kept_mean", "check_p5"),
    Check("P6", "The covariance of the kept means of random pruning (Cov_mu f, exactly at every n), EC (r Cov_mu f + "
          "(1 - alpha r)(1 - r)/(1 - alpha) Cov_{mu|A^c} f) and AC (Cov_mu((1 - lambda) h + lambda f)/r + "
          "(1 - alpha)(1 - r)/(1 - alpha r) Cov_{mu|A^c} f): the exact k Cov of the kept means (every data set and "
          "every exploration draw enumerated) tends to them on a discrete mu with the threshold inside an atom; EC "
          "unbiased and AC linear on every (regular) data set; AC at alpha = 1 is P5.",
          "exact enumeration (Fraction)", "gap_law", "check_p6", slow=True),
)


def claim_ids() -> tuple[str, ...]:
    """The registered claim ids, in order."""
    return tuple(c.claim for c in CHECKS)


def proposition_ids() -> tuple[str, ...]:
    """The ids of the project's own propositions (P1-P6), in order."""
    return tuple(c.claim for c in PROPOSITIONS)


def get_check(claim: str) -> Check:
    """The registered :class:`Check` of ``claim`` (e.g. ``'C5'``, or a proposition ``'P1'``)."""
    for check in CHECKS + PROPOSITIONS:
        if check.claim == claim:
            return check
    raise ValueError(f"claim must be one of {', '.join(claim_ids() + proposition_ids())}; got {claim!r}")


def _jsonable(value):
    """Evidence values as JSON scalars: bool, int, float, str (everything else by str)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    return str(value)


def run_check(claim: str) -> CheckResult:
    """Run the check of ``claim`` and return its :class:`CheckResult`.

    The verdict is ``'pass'`` / ``'fail'`` from the check's boolean, ``'numeric-only'`` when
    it returns ``None``, and ``'fail'`` (with the exception in the evidence) when it raises.
    """
    check = get_check(claim)
    start = time.perf_counter()
    try:
        passed, evidence = check.load()()
        verdict = "numeric-only" if passed is None else ("pass" if passed else "fail")
    except Exception as exc:  # a broken check is a failed check, reported, not a crash
        verdict = "fail"
        evidence = {"summary": f"check raised {type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc(limit=5)}
    seconds = time.perf_counter() - start
    evidence = {str(k): _jsonable(v) for k, v in evidence.items()}
    return CheckResult(check.claim, check.statement, check.method, verdict, evidence, seconds)


def run_checks(only=None) -> list[CheckResult]:
    """Run the checks of the claims in ``only`` (default: all, in register order)."""
    everything = claim_ids() + proposition_ids()
    wanted = everything if only is None else tuple(only)
    for claim in wanted:
        get_check(claim)  # validate every id before running anything
    return [run_check(claim) for claim in everything if claim in wanted]
