"""Provenance: the package versions and the git revision of the source that produced a number.

Every result file, figure sidecar and the report carry :func:`versions`.
"""

from __future__ import annotations

import platform
import subprocess
from functools import lru_cache
from pathlib import Path

__all__ = ["versions", "git_revision"]


def versions() -> dict:
    """Package versions, the Python version and, when known, the git revision of the source."""
    import matplotlib
    import numba
    import numpy
    import scipy

    from theory_sim.version import __version__

    return {"theory_sim": __version__, "numpy": numpy.__version__, "scipy": scipy.__version__,
            "numba": numba.__version__, "matplotlib": matplotlib.__version__, "python": platform.python_version(),
            "git": git_revision()}


_SOURCE_PACKAGES = ("theory_sim", "figures", "proofs_check")


@lru_cache(maxsize=1)
def git_revision() -> dict | None:
    """The git commit of the theory_sim source in use, or None when it cannot be known.

    1. The imported package lives in a git work tree (an editable install, or a run from the
       clone): that work tree's commit.
    2. Otherwise (a regular install into site-packages, as README's main command does from
       the clone): the current directory's work tree, **only if** its source files of
       theory_sim, figures and proofs_check are byte for byte those installed — so the
       commit describes the code that ran, never a guess from some other repository.

    Returns ``{"commit": sha, "dirty": bool, "source": "package" | "checkout"}``, dirty when
    tracked files differ from the commit. Local ``git`` only: no network, two-second timeout,
    any failure gives None.
    """
    installed = Path(__file__).resolve().parent.parent
    found = _git_revision_of(installed)
    if found is not None:
        return {**found, "source": "package"}
    try:
        top = Path(_git(Path.cwd(), "rev-parse", "--show-toplevel")).resolve()
    except (OSError, subprocess.SubprocessError):
        return None
    if not _same_sources(installed, top):
        return None
    found = _git_revision_of(top)
    return None if found is None else {**found, "source": "checkout"}


def _same_sources(installed: Path, checkout: Path) -> bool:
    """The .py files of the source packages are the same set, with the same bytes, in both places."""
    for package in _SOURCE_PACKAGES:
        mine, theirs = installed / package, checkout / package
        if not mine.is_dir() or not theirs.is_dir():
            return False
        names = sorted(p.relative_to(mine) for p in mine.rglob("*.py"))
        if names != sorted(p.relative_to(theirs) for p in theirs.rglob("*.py")):
            return False
        if any((mine / name).read_bytes() != (theirs / name).read_bytes() for name in names):
            return False
    return True


def _git(root: Path, *args) -> str:
    out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=2.0, check=True)
    return out.stdout.strip()


def _git_revision_of(root: Path) -> dict | None:
    root = Path(root).resolve()
    try:
        top = Path(_git(root, "rev-parse", "--show-toplevel")).resolve()
        if top != root:  # the package sits inside some other repository (e.g. a venv inside a clone)
            return None
        commit = _git(root, "rev-parse", "HEAD")
        dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty}
