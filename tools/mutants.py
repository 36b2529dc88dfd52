#!/usr/bin/env python
"""Mutation check: does the test suite notice known faults in pruning and in the limit sampler?

Each mutant is a (file, exact old text, new text) triple against ``theory_sim/core/pruning.py`` or
``theory_sim/core/limits.py``. The script

1. copies the repository (ignoring .git, .venv, __pycache__, *.egg-info, caches) to a fresh
   ``tempfile.mkdtemp`` folder — the working tree is never edited;
2. checks that every old text occurs **exactly once** in the copy, and stops (exit 2) naming
   the mutant if one does not: a mutant that silently applies nowhere would "survive" nothing;
3. checks that ``theory_sim`` and ``proofs_check`` import from the copy (PYTHONPATH = the copy,
   which comes before the editable install's finder);
4. runs the selected tests once unmutated (the baseline must pass, else exit 2);
5. for each mutant: applies it, runs ``python -m pytest -x -q -p no:cacheprovider <tests>`` in
   the copy, records killed (the suite failed) or survived (it passed), restores the file;
6. prints the report; exit 1 if any mutant survived, else 0.

Usage (by hand; a few minutes)::

    python tools/mutants.py [--tests PATH ...] [--only NAME ...] [--keep-copy] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TESTS = (
    "tests/unit/test_pruning.py",
    "tests/properties",
    "tests/theory/test_limit_sampler.py",
    "tests/theory/test_c1_limit.py",
    "tests/proofs",
)
TIMEOUT = 900  # seconds per pytest run; a mutant that hangs the suite counts as killed, and is flagged
IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", "__pycache__", "*.egg-info", ".pytest_cache", ".hypothesis",
                                "results", "figures-out")


@dataclass(frozen=True)
class Mutant:
    name: str
    fault: str
    path: str
    old: str
    new: str


MUTANTS = (
    Mutant(
        "ec-weights-swapped", "EC weights swapped between S and E", "theory_sim/core/pruning.py",
        "weights = np.where(signal, 1.0 / n, (n - k_signal) / (n * k_explore) if k_explore else 0.0)",
        "weights = np.where(signal, (n - k_signal) / (n * k_explore) if k_explore else 0.0, 1.0 / n)",
    ),
    Mutant(
        "budget-plus-one", "budget off by one (k = floor(r n) + 1)", "theory_sim/core/pruning.py",
        "    k = budget(r, n)\n",
        "    k = budget(r, n) + 1\n",
    ),
    Mutant(
        "budget-minus-one", "budget off by one (k = floor(r n) - 1)", "theory_sim/core/pruning.py",
        "    k = budget(r, n)\n",
        "    k = budget(r, n) - 1\n",
    ),
    Mutant(
        "orientation-flipped", "orientation flipped (keep='lowest' keeps the highest and vice versa)",
        "theory_sim/core/pruning.py",
        'scores = g if keep == "lowest" else -g',
        'scores = -g if keep == "lowest" else g',
    ),
    Mutant(
        "exploration-from-all", "exploration drawn from all of D_n instead of D_n \\ S", "theory_sim/core/pruning.py",
        "        chosen = rng.choice(n - k_signal, size=k_explore, replace=False)\n"
        "        kept = np.zeros(n, dtype=bool)\n"
        "        if k_signal > 0:\n"
        "            kept[signal_idx] = True\n"
        "            chosen = np.flatnonzero(~kept)[chosen]\n",
        "        chosen = rng.choice(n, size=k_explore, replace=False)\n"
        "        kept = np.zeros(n, dtype=bool)\n"
        "        if k_signal > 0:\n"
        "            kept[signal_idx] = True\n",
    ),
    Mutant(
        "ties-by-index", "ties at the threshold broken by index instead of at random", "theory_sim/core/pruning.py",
        "tied = np.sort(tied[rng.permutation(tied.shape[0])[:missing]])",
        "tied = tied[:missing]",
    ),
    Mutant(
        "sampler-accepts-above-q", "the nu_r sampler (acceptance region) accepting g >= q_r for keep='lowest'",
        "theory_sim/core/limits.py",
        'return g <= q if self.keep == "lowest" else g >= q',
        'return g >= q if self.keep == "lowest" else g >= q',
    ),
)


@dataclass
class Outcome:
    name: str
    fault: str
    path: str
    status: str  # 'killed', 'survived', 'killed (timeout)'
    seconds: float
    evidence: str


def _copy_repository(src: Path) -> Path:
    dst = Path(tempfile.mkdtemp(prefix="theory_sim-mutants-")) / "repo"
    shutil.copytree(src, dst, ignore=IGNORE)
    return dst


def _env(copy: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("HYPOTHESIS_PROFILE", "ci")
    return env


def _check_imports(copy: Path, env: dict) -> None:
    code = "import theory_sim, proofs_check; print(theory_sim.__file__); print(proofs_check.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=copy, env=env, capture_output=True, text=True, check=True)
    for line in out.stdout.split():
        if not Path(line).resolve().is_relative_to(copy.resolve()):
            raise SystemExit(f"mutants: error: {line} is imported from outside the copy {copy}; the mutants would "
                             "not be tested")


def _check_mutants(copy: Path, mutants) -> None:
    for m in mutants:
        text = (copy / m.path).read_text(encoding="utf-8")
        count = text.count(m.old)
        if count != 1:
            raise SystemExit(f"mutants: error: mutant {m.name!r}: its old text occurs {count} times in {m.path} "
                             f"(must be exactly once); update the mutant to the current code:\n{m.old}")


def _pytest(copy: Path, env: dict, tests) -> tuple[int | None, float, str]:
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=copy, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - start, f"timeout after {TIMEOUT} s"
    seconds = time.perf_counter() - start
    lines = proc.stdout.splitlines()
    failed = [ln for ln in lines if ln.startswith(("FAILED", "ERROR"))]
    tail = lines[-1] if lines else (proc.stderr.strip().splitlines() or [""])[-1]
    return proc.returncode, seconds, failed[0] if failed else tail


def run(tests=DEFAULT_TESTS, only=None, keep_copy=False, src=ROOT, log=print) -> list[Outcome]:
    mutants = [m for m in MUTANTS if only is None or m.name in only]
    if only is not None and len(mutants) != len(set(only)):
        known = ", ".join(m.name for m in MUTANTS)
        raise SystemExit(f"mutants: error: --only names unknown mutants; known: {known}")
    copy = _copy_repository(Path(src))
    log(f"# copy: {copy}")
    try:
        env = _env(copy)
        _check_mutants(copy, mutants)
        _check_imports(copy, env)
        code, seconds, evidence = _pytest(copy, env, tests)
        log(f"# baseline (no mutant): exit {code} in {seconds:.0f} s: {evidence}")
        if code != 0:
            raise SystemExit("mutants: error: the unmutated suite does not pass in the copy; fix that first")
        outcomes = []
        for m in mutants:
            path = copy / m.path
            original = path.read_text(encoding="utf-8")
            path.write_text(original.replace(m.old, m.new, 1), encoding="utf-8")
            try:
                code, seconds, evidence = _pytest(copy, env, tests)
            finally:
                path.write_text(original, encoding="utf-8")
            status = "killed (timeout)" if code is None else ("survived" if code == 0 else "killed")
            outcomes.append(Outcome(m.name, m.fault, m.path, status, seconds, evidence))
            log(f"# {m.name}: {status} in {seconds:.0f} s")
        return outcomes
    finally:
        if keep_copy:
            log(f"# kept the copy at {copy}")
        else:
            shutil.rmtree(copy.parent, ignore_errors=True)


def report(outcomes, tests) -> str:
    lines = [f"tests: {' '.join(tests)}", "",
             f"{'mutant':<26} {'file':<22} {'status':<17} {'sec':>5}  first failure"]
    for o in outcomes:
        lines.append(f"{o.name:<26} {o.path.split('/')[-1]:<22} {o.status:<17} {o.seconds:5.0f}  {o.evidence}")
    survived = [o.name for o in outcomes if o.status == "survived"]
    lines += ["", f"{len(outcomes) - len(survived)}/{len(outcomes)} killed; survived: "
                  f"{', '.join(survived) if survived else 'none'}"]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="tools/mutants.py", description=__doc__.splitlines()[0])
    parser.add_argument("--tests", nargs="+", default=list(DEFAULT_TESTS), help="test files or folders to run")
    parser.add_argument("--only", nargs="+", default=None, help="mutant names (default: all)")
    parser.add_argument("--keep-copy", action="store_true", help="keep the temporary copy (for debugging)")
    parser.add_argument("--json", type=Path, default=None, help="also write the outcomes as JSON")
    args = parser.parse_args(argv)
    outcomes = run(args.tests, args.only, args.keep_copy)
    text = report(outcomes, args.tests)
    print(text)
    if args.json is not None:
        args.json.write_text(json.dumps([o.__dict__ for o in outcomes], indent=1) + "\n")
    return 1 if any(o.status == "survived" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
