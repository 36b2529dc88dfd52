"""The ``proofs-check`` command line (also ``python -m proofs_check``).

Usage::

    proofs-check [--json PATH] [--only C5,C9]

Runs the registered checks (all, or those listed in ``--only``, in register order), prints one
row per claim — claim, method, verdict, seconds, key evidence — and, with ``--json``, writes
every result (statement, full evidence, timing) and the package versions to PATH (atomically:
a temporary file, then a rename).

Exit codes: 0 when no check fails ('pass' and 'numeric-only' only), 1 when at least one check
fails, 2 for bad arguments (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from .registry import claim_ids, proposition_ids, run_checks

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _claim_list(text: str) -> tuple[str, ...]:
    known = claim_ids() + proposition_ids()
    wanted = [part.strip().upper() for part in text.split(",") if part.strip()]
    if not wanted:
        raise argparse.ArgumentTypeError(f"--only must list claim ids such as C5,C9; got {text!r}")
    bad = [w for w in wanted if w not in known]
    if bad:
        raise argparse.ArgumentTypeError(f"--only got unknown claim id(s) {', '.join(bad)}; allowed: "
                                         f"{', '.join(known)}")
    return tuple(dict.fromkeys(wanted))


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="proofs-check", description="Exact and symbolic checks of the claims C1-C12 of "
                     "score-based data pruning (Ayed & Hayou, arXiv 2302.06960).")
    parser.add_argument("--json", metavar="PATH", type=Path, default=None,
                        help="write the results (statement, evidence, timing, versions) to this JSON file")
    parser.add_argument("--only", metavar="IDS", type=_claim_list, default=None,
                        help="comma-separated claim ids to run, e.g. C5,C9 (default: all)")
    return parser


def _versions() -> dict:
    import mpmath
    import numpy
    import sympy

    import theory_sim

    return {"theory_sim": theory_sim.__version__, "sympy": sympy.__version__, "mpmath": mpmath.__version__,
            "numpy": numpy.__version__, "python": platform.python_version()}


def _write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=1)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def format_table(results) -> str:
    """The printed table: claim, method, verdict, seconds, key evidence (the ``summary`` entry)."""
    w_method = max([len("method")] + [len(r.method) for r in results])
    lines = [f"{'claim':<5}  {'method':<{w_method}}  {'verdict':<12}  {'sec':>5}  key evidence"]
    for r in results:
        lines.append(f"{r.claim:<5}  {r.method:<{w_method}}  {r.verdict:<12}  {r.seconds:5.1f}  "
                     f"{r.evidence.get('summary', '')}")
    return "\n".join(lines)


def main(argv=None) -> int:
    """Entry point of ``proofs-check``; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.json is not None and args.json.is_dir():
        print(f"proofs-check: error: --json must be a file path, got the directory {str(args.json)!r}",
              file=sys.stderr)
        return EXIT_USAGE
    start = time.perf_counter()
    results = run_checks(args.only)
    total = time.perf_counter() - start
    print(format_table(results))
    counts = {v: sum(r.verdict == v for r in results) for v in ("pass", "numeric-only", "fail")}
    print(f"# {counts['pass']} pass, {counts['numeric-only']} numeric-only, {counts['fail']} fail "
          f"in {total:.1f} s")
    for r in results:
        if r.verdict == "fail":
            print(f"# {r.claim} failed: {json.dumps(r.evidence)}", file=sys.stderr)
    if args.json is not None:
        try:
            _write_json(args.json, {"results": [r.to_dict() for r in results], "seconds": total,
                                    "versions": _versions()})
        except OSError as exc:
            print(f"proofs-check: error: cannot write --json {str(args.json)!r}: {exc.strerror or exc}",
                  file=sys.stderr)
            return EXIT_USAGE
        print(f"# results written to {args.json}")
    return EXIT_FAILED if counts["fail"] else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
