r"""Symbolic and exact checks of the claims of score-based data pruning (docs/theory.md, "Claim register").

``proofs_check`` gives each claim C1–C12 of the register an exact or symbolic check where one
exists — sympy identities, mpmath at 50 digits, exhaustive enumeration in rational arithmetic —
and compares the exact values with ``theory_sim``'s numbers (it may call ``theory_sim``, never
the reverse). Claims with no exact check say so and name their numeric test.

====  ============================  ===========================================================
id    module                        method
====  ============================  ===========================================================
C1    :mod:`proofs_check.limits`    q_r in closed form (sympy), folded normal at 50 digits
C5    :mod:`proofs_check.logistic`  E[σ(u*) − y | x] = 0 (sympy); worked case at 50 digits
C6    :mod:`proofs_check.logistic`  non-zero gradient for EL2N keep-highest at 50 digits
C9    :mod:`proofs_check.nfl`       no free lunch on K cells, exact enumeration (Fraction)
C10   :mod:`proofs_check.calibration`  EC unbiased, polynomial identity over all subsets
C11   :mod:`proofs_check.limits`    AC density mass 1, TV = α(1 − r) (sympy)
C12   :mod:`proofs_check.calibration`  stratified-sampling variance, exactly
C2–4, C7, C8  :mod:`proofs_check.numeric`  numeric-only: the test that checks it, a quick number
P1–P4 :mod:`proofs_check.policies`  the project's general limit law of selection policies (not claims)
====  ============================  ===========================================================

>>> from proofs_check import run_check
>>> run_check("C11").verdict
'pass'

Command line: ``proofs-check [--json PATH] [--only C5,C9]`` or ``python -m proofs_check``.
Golden values (50-digit constants asserted by tests) are written by
``python -m proofs_check.make_golden`` into ``proofs_check/golden/``.
"""

from .registry import (CHECKS, PROPOSITIONS, VERDICTS, Check, CheckResult, claim_ids, get_check, proposition_ids,
                       run_check, run_checks)

__all__ = ["CHECKS", "PROPOSITIONS", "VERDICTS", "Check", "CheckResult", "claim_ids", "get_check", "proposition_ids",
           "run_check", "run_checks"]
