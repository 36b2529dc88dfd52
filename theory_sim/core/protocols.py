"""One vocabulary for the pruning strategies that experiments compare (docs/theory.md, "Protocols").

:func:`theory_sim.core.pruning.prune` takes a protocol (``random``, ``sbpa``, ``ec``, ``ac``),
``alpha`` and ``keep`` (which end of the score the score-based part keeps). Experiments name
their strategies by *labels* that say which end in the score's own terms, hard or easy, so the
same label means the same thing whatever the score's orientation:

==================  ================================================================
label               prune() arguments (``hard``: the score's hard end)
==================  ================================================================
``random``          ``protocol="random"``
``sbpa-hard``       ``protocol="sbpa", keep=hard``
``sbpa-easy``       ``protocol="sbpa", keep=<the other end>``
``sbpa-boundary``   as ``sbpa-hard`` (the distance score: the boundary is far from the centre)
``sbpa-centre``     as ``sbpa-easy``
``ec``, ``ac``      ``protocol="ec"/"ac", alpha=alpha``, the score-based part at the
                    experiment's ``calibrated`` end (hard unless it says easy)
==================  ================================================================

``sbpa-boundary`` and ``sbpa-centre`` are the width-validity experiment's names (kept: they
enter its config hashes).
"""

from __future__ import annotations

from theory_sim.core.pruning import Selection, prune
from theory_sim.validation import check_choice

__all__ = ["LABELS", "other_end", "prune_label", "selection_args"]

# label -> (protocol, end of the score kept by its score-based part, or None)
LABELS = {
    "random": ("random", None),
    "sbpa-hard": ("sbpa", "hard"),
    "sbpa-easy": ("sbpa", "easy"),
    "sbpa-boundary": ("sbpa", "hard"),
    "sbpa-centre": ("sbpa", "easy"),
    "ec": ("ec", "calibrated"),
    "ac": ("ac", "calibrated"),
}
ENDS = ("lowest", "highest")


def other_end(end: str) -> str:
    """'highest' for 'lowest' and back."""
    return "highest" if check_choice("keep", end, ENDS) == "lowest" else "lowest"


def selection_args(label: str, *, hard: str, calibrated: str = "hard", alpha=None) -> dict:
    """The keyword arguments of :func:`prune` (``protocol``, ``keep``, ``alpha``) that ``label`` means.

    Parameters
    ----------
    label : str
        One of :data:`LABELS`.
    hard : {'lowest', 'highest'}
        The score's hard end (``Score.hard``, ``ProbeScores.keep(name, "hard")``).
    calibrated : {'hard', 'easy'}
        Where EC and AC put their score-based part.
    alpha : float, optional
        The signal fraction of EC and AC (ignored for the other labels).
    """
    check_choice("protocol", label, LABELS)
    hard = check_choice("hard", hard, ENDS)
    calibrated = check_choice("calibrated", calibrated, ("hard", "easy"))
    protocol, end = LABELS[label]
    if protocol == "random":
        return {"protocol": "random"}
    if end == "calibrated":
        end = calibrated
    keep = hard if end == "hard" else other_end(hard)
    if protocol == "sbpa":
        return {"protocol": "sbpa", "keep": keep}
    return {"protocol": protocol, "alpha": alpha, "keep": keep}


def prune_label(label: str, g, r, *, hard: str, calibrated: str = "hard", alpha=None, rng=None) -> Selection:
    """:func:`prune` ``g`` at fraction ``r`` by the strategy ``label`` (see the module's table)."""
    args = selection_args(label, hard=hard, calibrated=calibrated, alpha=alpha)
    protocol = args.pop("protocol")
    return prune(g, r, protocol, rng=rng, **args)
