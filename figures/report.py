"""The verification report: every registered figure, the proofs_check registry, one page.

``theory-sim report [--preset quick|standard|full] [--out DIR]`` builds every figure of the
registry at the preset's size (reusing the experiments' result files in ``DIR/results``),
runs the ``proofs_check`` registry when that package provides one, and writes

- ``DIR/claims.json``: per claim C1–C12 of the register (docs/theory.md, "Claim register"),
  the statement, the verdict, the measured numbers, the criterion that produced the verdict,
  the figure and the command that reproduces it;
- ``DIR/index.html``: one self-contained page (figures embedded) with the same content.

The verdicts and their criteria are :mod:`theory_sim.claims`'s; this module only builds the
figures and renders what :func:`theory_sim.claims.assess` returns.
"""

from __future__ import annotations

import base64
import math
import time
from contextlib import closing
from pathlib import Path

from tqdm.auto import tqdm

import figures
from theory_sim.claims import assess, evaluate
from theory_sim.executors import LocalExecutor, ProcessExecutor
from theory_sim.provenance import versions
from theory_sim import experiments
from theory_sim.store import atomic_write_bytes, atomic_write_json, verified_checksum
from theory_sim.validation import check_choice, check_int

from .sections import present, render

__all__ = ["PRESETS", "build_report"]

PRESETS = {"quick": "small", "standard": "default", "full": "full"}


def _proofs_check():
    """Results of the proofs_check registry, when that package provides one; else {}."""
    try:  # proofs_check is a separate package: the report works without it
        from proofs_check import run_checks
    except ImportError:
        return {}
    return {r.claim: r for r in run_checks()}


def _build_one(item):
    """Build one figure, ``item = (name, out, size)``, in a worker process; its results travel back by pickling."""
    name, out, size = item
    return figures.build(name, out, size=size, return_results=True)


def _build_in_processes(names, out, size, workers, collect, bar):
    """Build the figures in ``workers`` fresh processes (spawned: no state inherited from this one).

    Longest first, so the two cores stay busy to the end. The workers die with this process; on
    an error or Ctrl-C the pending figures are cancelled and the running ones stopped at once
    (:class:`theory_sim.executors.ProcessExecutor`); the result files already written are complete
    (atomic writes)."""
    order = sorted(names, key=lambda n: _EXPECTED_ORDER.index(n) if n in _EXPECTED_ORDER else -1)
    items = [(name, out, size) for name in order]
    with ProcessExecutor(workers) as executor, closing(executor.as_completed(_build_one, items)) as built:
        for i, result in built:
            bar.set_postfix_str(items[i][0])
            collect(items[i][0], *result)


# Figures by decreasing run time at the default size (measured; a figure not listed goes first,
# since nothing is known of it). Only the schedule depends on this, never a number.
_EXPECTED_ORDER = ("width_validity", "consistency", "validity", "scaling_laws_mlp", "calibration", "limit",
                   "real_data", "scaling_laws", "new_minima", "landscape")


def build_report(out="report", *, preset: str = "standard", progress=None, executor=None, workers: int = 1) -> Path:
    """Build every figure and the claim register; return the path of ``index.html``.

    Parameters
    ----------
    out : path
        Output folder (figures, ``results/``, ``index.html``, ``claims.json``).
    preset : {'quick', 'standard', 'full'}
    progress : bool or None
        The progress bar (None: only on a terminal).
    executor : optional
        Where the Monte Carlo experiments run (:mod:`theory_sim.executors`; local by default).
    workers : int ≥ 1
        Figures built at the same time, each in its own process (the MLP experiments use one
        core each). Every experiment is seeded by its config, so the numbers do not depend on
        ``workers``. With a remote executor (Dask) the figures are built one after the other
        and the executor does the parallel work; the local executor does not change this.
    """
    preset = check_choice("preset", preset, PRESETS)
    workers = check_int("workers", workers, low=1)
    size = PRESETS[preset]
    out = Path(out)
    start = time.perf_counter()
    evidence, figure_files = {}, {}
    names = list(figures.REGISTRY)
    bar = tqdm(total=len(names) + 1, desc="report", disable=(not progress) if progress is not None else None)

    def collect(name, paths, results):
        figure_files[name] = paths[0]
        evidence[name] = evaluate(name, results)
        bar.update()

    try:
        if workers == 1 or not (executor is None or isinstance(executor, LocalExecutor)):
            for name in names:
                bar.set_postfix_str(name)
                collect(name, *figures.build(name, out, size=size, return_results=True, executor=executor))
        else:
            _build_in_processes(names, out, size, workers, collect, bar)
        bar.set_postfix_str("proofs_check")
        proofs = _proofs_check()
        bar.update()
    finally:
        bar.close()

    # In the registry's order, whatever order the worker processes finished in.
    claims, other = assess({name: evidence[name] for name in names if name in evidence}, proofs)
    # The checksum of every result file the numbers came from (None: missing or not matching its content).
    files = sorted({f for name in names if name in experiments.REGISTRY for f in experiments.result_files(name, size)})
    payload = {"preset": preset, "size": size, "versions": versions(), "seconds": time.perf_counter() - start,
               "claims": claims, "other_checks": other,
               "result_files": {f: verified_checksum(out / "results" / f) for f in files}}
    payload = _jsonable(payload)  # the page shows what claims.json holds, as the site's claim pages do
    atomic_write_json(out / "claims.json", payload, sort_keys=False)
    page = _html(payload, figure_files)
    atomic_write_bytes(out / "index.html", page.encode())
    return out / "index.html"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    return obj


def _html(payload, figure_files) -> str:
    """The page (figures/templates/report.html.j2), each figure embedded as a data URI."""
    srcs = {name: "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()
            for name, path in figure_files.items()}
    return render("report.html.j2", payload=payload, v=payload["versions"], figures=srcs,
                  claims=[present(k, c) for k, c in payload["claims"].items()],
                  others=[present(k, c) for k, c in payload.get("other_checks", {}).items()])
