"""Figures: one module per figure, one style file, one registry.

Each figure is a :class:`Figure` entry, named like the experiment of
:mod:`theory_sim.experiments` whose results it draws (run through that registry, reusing the
result files in ``results_dir``); ``plot(results)`` turns the results into a matplotlib Figure
without simulating anything; ``table(results)`` gives the plotted numbers
as CSV rows. :func:`build` writes ``NAME.png``, ``NAME.pdf``, ``NAME.csv`` and ``NAME.json``
(config, seeds, versions, run time) into the output folder, each written atomically.

Build from the command line with ``python -m figures [NAMES] --out DIR`` or
``theory-sim figures [NAMES] --out DIR``; ``--list`` names the registered figures.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from theory_sim.experiments import REGISTRY as EXPERIMENTS  # noqa: E402
from theory_sim.experiments import compute_units  # noqa: E402
from theory_sim.experiments import run as run_experiment  # noqa: E402
from theory_sim.provenance import versions  # noqa: E402
from theory_sim.store import atomic_write_bytes  # noqa: E402
from theory_sim.validation import check_choice  # noqa: E402

__all__ = ["Figure", "REGISTRY", "SIZES", "STYLE", "build", "compute_all_units", "register"]

STYLE = Path(__file__).with_name("style.mplstyle")
SIZES = ("small", "default", "full")


@dataclass(frozen=True)
class Figure:
    """A registered figure."""

    name: str
    description: str
    plot: Callable[[Any], "matplotlib.figure.Figure"]
    table: Callable[[Any], tuple[list[str], list[list]]]
    config: Callable[[Any], dict]

    def results(self, size: str, results_dir=None, executor=None, progress=False):
        """Run (or reuse) the figure's experiment (the registered experiment of the same name) at ``size``."""
        return run_experiment(self.name, size, results_dir=results_dir, executor=executor, progress=progress)


REGISTRY: dict[str, Figure] = {}


def register(entry: Figure) -> Figure:
    if entry.name in REGISTRY:
        raise ValueError(f"figure {entry.name!r} is already registered")
    REGISTRY[entry.name] = entry
    return entry


def compute_all_units(names, out, *, size: str = "default", executor, progress=None) -> int:
    """Compute the missing units of every config of the figures ``names`` at ``size`` on the workers
    of ``executor`` as one pool of tasks (one per unit), into ``out/results``; the figures are then
    built from the stored units. Spreading the units of several figures at once keeps every worker
    busy until the last unit, instead of leaving one idle at the end of each figure. Returns the
    number of units computed."""
    for name in names:
        check_choice("figure", name, REGISTRY)
    check_choice("size", size, SIZES)
    configs = [config for name in names for config in EXPERIMENTS[name].configs(size).values()]
    return compute_units(configs, Path(out) / "results", executor, progress=progress, desc="figures")


def build(name: str, out, *, size: str = "default", progress=None, return_results: bool = False, executor=None):
    """Compute and draw figure ``name`` into folder ``out``.

    Returns the paths written (PNG, PDF, CSV, JSON), or ``(paths, results)`` with
    ``return_results=True`` (the report reads the numbers from the results)."""
    check_choice("figure", name, REGISTRY)
    check_choice("size", size, SIZES)
    entry = REGISTRY[name]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = entry.results(size, results_dir=out / "results", executor=executor, progress=progress)
    with plt.style.context(str(STYLE)):
        fig = entry.plot(results)
        paths = []
        for ext in ("png", "pdf"):
            buf = io.BytesIO()
            fig.savefig(buf, format=ext)
            atomic_write_bytes(out / f"{name}.{ext}", buf.getvalue())
            paths.append(out / f"{name}.{ext}")
        plt.close(fig)
    header, rows = entry.table(results)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_bytes(out / f"{name}.csv", text.getvalue().encode())
    sidecar = {"figure": name, "size": size, "config": entry.config(results), "versions": versions(),
               "seconds": round(time.perf_counter() - start, 3)}
    atomic_write_bytes(out / f"{name}.json", (json.dumps(sidecar, indent=2, default=str) + "\n").encode())
    paths += [out / f"{name}.csv", out / f"{name}.json"]
    return (paths, results) if return_results else paths


# Registration: importing a figure module adds it to REGISTRY.
from . import (calibration, consistency, landscape, limit, mnist1d_scaling, new_minima, real_data, scaling_laws,  # noqa: E402,F401
               scaling_laws_mlp, validity, width_validity)
from . import perceptron, policies  # noqa: E402,F401  (issue 14: selection policies)
from . import alpha_choice, phase_diagram  # noqa: E402,F401  (issue 13: choosing alpha, phase diagrams)
from . import gap_law  # noqa: E402,F401  (issue 12: the law of the gaps)
