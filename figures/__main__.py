"""``python -m figures [NAMES] [--out DIR] [--size small|default|full] [--list]``.

Its own small parser: ``theory_sim.cli`` imports this package (the ``figures`` and ``report``
verbs), so this package does not import ``theory_sim.cli`` back. Bad input exits 2 with one
line, an environment failure (an ``OSError``) exits 1 with one line naming the path.
"""

import argparse
import sys

from . import REGISTRY, SIZES, build
from theory_sim.validation import check_choice


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m figures", description="Build registered figures.")
    parser.add_argument("names", nargs="*", help="figures to build (default: all)")
    parser.add_argument("--list", action="store_true", help="list the registered figures and exit")
    parser.add_argument("--out", default="figures-out", help="output folder (default figures-out)")
    parser.add_argument("--size", default="default", help=f"one of {', '.join(SIZES)} (default: default)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.list:
        for name, entry in REGISTRY.items():
            print(f"{name:16s} {entry.description}")
        return 0
    try:
        names = [check_choice("figure", name, REGISTRY) for name in args.names] or list(REGISTRY)
        check_choice("--size", args.size, SIZES)
        if not args.out.strip():
            raise ValueError(f"--out must name a folder, got {args.out!r}")
    except ValueError as exc:
        print(f"python -m figures: error: {exc}", file=sys.stderr)
        return 2
    try:
        for name in names:
            print(" ".join(map(str, build(name, args.out, size=args.size, progress=False if args.quiet else None))))
    except OSError as exc:
        cause = "exists and is not a folder" if isinstance(exc, FileExistsError) else exc.strerror
        print(f"python -m figures: error: {f'{exc.filename}: {cause}' if exc.filename else exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("python -m figures: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
