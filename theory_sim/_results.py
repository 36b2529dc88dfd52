"""Result files: one JSON file per experiment config, written atomically (DESIGN §4).

A file holds the config, its hash, the package versions, the run time and the result's
numbers. It is written to a temporary file in the same folder and renamed, so a crash or a
Ctrl-C never leaves a half-written file; a run that checkpoints writes the file after each
completed unit of work with ``"complete": false``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import tempfile
from functools import lru_cache, wraps
from pathlib import Path

__all__ = ["ExperimentConfig", "one_blas_thread", "config_hash", "atomic_write_bytes", "atomic_write_json", "read_json", "versions", "git_revision"]


def one_blas_thread(fn):
    """Run ``fn`` with BLAS limited to one thread: the same seed gives the same numbers whatever the
    thread count.

    OpenBLAS splits a matrix product's sums differently with 1 and 2 threads, and an optimiser
    amplifies the last-bit differences (measured: V_∞ of the EL2N validity experiment moved by
    2.5e-7 between 1 and 2 BLAS threads). Every experiment runner is wrapped, so the numbers of
    a run do not depend on the machine's cores, on ``--workers``, or on a Dask worker's
    settings. The numba kernels keep their own threads (their sums are in a fixed order).
    """
    from threadpoolctl import threadpool_limits

    @wraps(fn)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return fn(*args, **kwargs)

    return wrapper


class ExperimentConfig:
    """Mixin of the frozen experiment configs: ``to_dict`` (tuples as lists, for JSON) and ``hash``.

    A subclass sets ``KIND`` (no annotation, so it is not a dataclass field): the hash covers the
    kind and every field, and names the result file ``<kind>-<hash>.json``.
    """

    KIND = ""

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    @property
    def hash(self) -> str:
        return config_hash({"kind": self.KIND, **self.to_dict()})


def config_hash(config: dict) -> str:
    """A short stable hash of a JSON-serialisable config (sorted keys, no whitespace)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path, payload: dict, *, sort_keys: bool = True) -> Path:
    text = json.dumps(payload, indent=1, sort_keys=sort_keys, default=str)
    return atomic_write_bytes(path, (text + "\n").encode())


def read_json(path) -> dict | None:
    """The file's content, or None if it is missing or unreadable (then it is recomputed)."""
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def versions() -> dict:
    """Package versions, the Python version and, when known, the git revision of the source."""
    import matplotlib
    import numba
    import numpy
    import scipy

    from . import __version__

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
