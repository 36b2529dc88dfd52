"""The ``theory-sim`` command line.

Verbs
-----
``limit``         distance of the kept sample to its limit (ν_r for SBPA) and to µ, as n grows (C1)
``consistency``   Monte Carlo consistency gap Δ_n with its limit Δ_∞ (C2, C3, C10, C11)
``validity``      Monte Carlo validity gap V_n with its limit V_∞ (C4-C6)
``figures``   list or build the registered figures

Errors in the input print one line on stderr and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings

from theory_sim.validation import check_choice

__all__ = ["main"]

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


class UsageError(ValueError):
    """A bad command-line value (already phrased for the user)."""


def _int_list(name):
    def parse(text):
        try:
            values = [int(v.replace("_", "")) for v in text.split(",") if v.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a comma-separated list of integers, got {text!r}")
        if not values:
            raise argparse.ArgumentTypeError(f"{name} must list at least one integer, got {text!r}")
        return tuple(values)

    return parse


def _default_workers() -> int:
    """Cores available to this process, at most 2 (the figures' experiments are not many)."""
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(2, cores))


def _build_parser() -> argparse.ArgumentParser:
    from theory_sim.core.processes import PROCESSES
    from theory_sim.core.scores import SCORES

    parser = _Parser(prog="theory-sim", description="Verify the theory of score-based data pruning "
                     "(Ayed & Hayou, arXiv 2302.06960).")
    parser.add_argument("--version", action="version", version=_version())
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    verbs.required = True

    limit = verbs.add_parser(
        "limit",
        help="distance of the kept points to the protocol's limit and to mu, as n grows (claim C1)",
        description="For each n: draw D_n from the process, score it, prune it, and print the distance of the kept "
        "(weighted) sample to the protocol's limit (nu_r = mu|A_r / r for SBPA; mu for random and EC; the AC limit "
        "density for AC) and to mu, with the empirical threshold against q_r. Distances: the function gap (max over "
        "64 fixed cosine test functions) and the largest KS statistic over 1-D projections; targets are exact "
        "samples of each measure.",
    )
    limit.add_argument("--process", required=True, help=f"one of: {', '.join(PROCESSES)}")
    limit.add_argument("--d", type=int, default=2, help="dimension of the Gaussian processes (default 2)")
    limit.add_argument("--score", required=True, help=f"one of: {', '.join(SCORES)}")
    limit.add_argument("--r", type=float, required=True, help="compression level: fraction kept, in (0, 1]")
    limit.add_argument("--protocol", default="sbpa", help="sbpa (default), random, ec or ac")
    limit.add_argument("--alpha", type=float, default=None, help="signal fraction for ec ([0, 1)) and ac ([0, 1])")
    limit.add_argument("--keep", default="lowest", help="which scores the score-based part keeps: lowest (default) "
                       "or highest")
    limit.add_argument("--n", type=_int_list("--n"), default=(1_000, 10_000, 100_000),
                       help="comma-separated sample sizes (default 1000,10000,100000)")
    limit.add_argument("--reps", type=int, default=5, help="replications per n (default 5)")
    limit.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    limit.add_argument("--quiet", action="store_true", help="no progress bar")

    for verb, what in (("consistency", "the consistency gap Delta_n = max over the net W of |L_n^A - L|"),
                       ("validity", "the validity gap V_n = L(argmin_W L_n^A) - min_W L")):
        mc = verbs.add_parser(
            verb, help=f"Monte Carlo: {what}, as n grows (claims C2-C6, C10-C12)",
            description=f"Monte Carlo estimate of {what}, for n in --n, with --reps replications; mean, 95% CI, "
            "log-log slope, and the limit it must reach (Delta_inf, V_inf), computed independently by quadrature. "
            "One result file per config under --results; a rerun reuses it, an interrupted run resumes.")
        mc.add_argument("--process", default="gaussian-logistic", help="gaussian-logistic (default) or "
                        "gaussian-mixture")
        mc.add_argument("--d", type=int, default=2, help="dimension (default 2)")
        mc.add_argument("--score", default="margin", help=f"one of: {', '.join(SCORES)} (default margin)")
        mc.add_argument("--r", type=float, default=0.1, help="compression level: fraction kept, in (0, 1] "
                        "(default 0.1)")
        mc.add_argument("--protocol", default="sbpa", help="sbpa (default), random, ec or ac")
        mc.add_argument("--alpha", type=float, default=None, help="signal fraction for ec ([0, 1)) and ac ([0, 1])")
        mc.add_argument("--keep", default="lowest", help="lowest (default) or highest")
        mc.add_argument("--n", type=_int_list("--n"), default=(1_000, 10_000, 100_000, 1_000_000),
                        help="comma-separated sample sizes (default 1000,10000,100000,1000000)")
        mc.add_argument("--reps", type=int, default=20, help="replications per n (default 20)")
        mc.add_argument("--net-size", type=int, default=256, help="points in the net W (default 256)")
        mc.add_argument("--net-radius", type=float, default=6.0, help="radius of the ball W (default 6)")
        mc.add_argument("--seed", type=int, default=0, help="seed (default 0)")
        mc.add_argument("--results", default="results", help="folder of result files (default results)")
        mc.add_argument("--quiet", action="store_true", help="no progress bar")

    report = verbs.add_parser(
        "report", help="build every figure and the claim register (index.html, claims.json)",
        description="Run the registered experiments (reusing complete result files), build every figure, run the "
        "proofs_check registry where it exists, and write DIR/index.html (self-contained) and DIR/claims.json: "
        "for each claim C1-C12 the statement, the verdict, the numbers, the figure and the command.")
    report.add_argument("--preset", default="standard", help="quick (figures at small size, ~1 minute; what CI "
                        "runs), standard (default size, ~5 minutes on 2 cores) or full (paper quality: n up to "
                        "10^7, 20-50 replications; see README for its run time)")
    report.add_argument("--out", default="report", help="output folder (default report)")
    report.add_argument("--quiet", action="store_true", help="no progress bar")
    report.add_argument("--workers", type=int, default=_default_workers(),
                        help="figures built at the same time, one process each (default: the number of cores, at "
                             "most 2 here: %(default)s); the numbers do not depend on it")
    report.add_argument("--scheduler", default=None, help="run the experiments on a dask.distributed scheduler at "
                        "this address (e.g. tcp://127.0.0.1:8786); default: locally")

    demo = verbs.add_parser("demo", help="write a teaching demo as a notebook (NAME.ipynb)",
                            description="Write one of the teaching demos (jupytext percent scripts shipped with the "
                            "package) as a Jupyter notebook to open and run.")
    demo.add_argument("name", nargs="?", help="the demo (see --list)")
    demo.add_argument("--list", action="store_true", help="list the demos and exit")
    demo.add_argument("--out", default=".", help="output folder (default: the current folder)")

    figures = verbs.add_parser("figures", help="list or build the registered figures",
                               description="Build registered figures (PNG, PDF, and the plotted numbers as CSV).")
    figures.add_argument("names", nargs="*", help="figures to build (default: all)")
    figures.add_argument("--list", action="store_true", help="list the registered figures and exit")
    figures.add_argument("--out", default="figures-out", help="output folder (default figures-out)")
    figures.add_argument("--size", default="default", help="small (seconds; what CI builds), default, or full "
                         "(paper quality)")
    figures.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def _version() -> str:
    from theory_sim.version import __version__

    return f"theory-sim {__version__}"


def _cmd_limit(args) -> int:
    from theory_sim.experiments.limit import LimitConfig, run_limit

    check_choice("--protocol", args.protocol, ("sbpa", "random", "ec", "ac"))
    check_choice("--keep", args.keep, ("lowest", "highest"))
    config = LimitConfig(process=args.process, d=args.d, score=args.score, r=args.r, protocol=args.protocol,
                         alpha=args.alpha, keep=args.keep, ns=args.n, reps=args.reps, seed=args.seed)
    result = run_limit(config, progress=False if args.quiet else None)
    limit_name = {"sbpa": "nu_r", "ac": "nu_AC", "ec": "mu", "random": "mu"}[config.protocol]
    q = result.quantile
    print(f"# process={config.process} score={config.score} r={config.r} protocol={config.protocol}"
          + (f" alpha={config.alpha}" if config.alpha is not None else "") + f" keep={config.keep} "
          f"reps={config.reps} seed={config.seed} target size={config.target_size()}")
    if q is not None:
        print(f"# q = {q.value:.10g} at level {q.level:.6g} ({q.method}"
              + (f", stderr {q.stderr:.2g})" if not q.exact else ")"))
    header = f"{'n':>10} {'k':>9} {'gap to ' + limit_name:>15} {'gap to mu':>11} {'KS to ' + limit_name:>14} " \
             f"{'KS to mu':>10} {'threshold':>11} {'q':>11} {'|thr - q|':>10}"
    print(header)
    for row in result.rows:
        thr = f"{row.threshold:11.6f}" if q is not None else f"{'-':>11}"
        qv = f"{q.value:11.6f}" if q is not None else f"{'-':>11}"
        dq = f"{abs(row.threshold - q.value):10.2e}" if q is not None else f"{'-':>10}"
        print(f"{row.n:>10} {row.k:>9} {row.gap_limit:15.5f} {row.gap_mu:11.5f} {row.ks_limit:14.5f} "
              f"{row.ks_mu:10.5f} {thr} {qv} {dq}")
    if result.fit_limit is not None:
        fl, fm = result.fit_limit, result.fit_mu
        print(f"# log-log slope of the gap to {limit_name}: {fl.slope:+.3f} (95% CI {fl.ci_low:+.3f} .. "
              f"{fl.ci_high:+.3f}); to mu: {fm.slope:+.3f} (95% CI {fm.ci_low:+.3f} .. {fm.ci_high:+.3f}); "
              f"n^(-1/2) gives -0.5")
    print(f"# {result.seconds:.1f} s")
    return 0


def _cmd_montecarlo(args) -> int:
    from theory_sim.experiments._montecarlo import MonteCarloConfig, run_montecarlo

    config = MonteCarloConfig(process=args.process, d=args.d, score=args.score, protocol=args.protocol, r=args.r,
                              alpha=args.alpha, keep=args.keep, ns=args.n, reps=args.reps, net_size=args.net_size,
                              net_radius=args.net_radius, seed=args.seed)
    result = run_montecarlo(config, results_dir=args.results, progress=False if args.quiet else None)
    lim = result.limits
    consistency = args.verb == "consistency"
    name, summary, fit = (("Delta_n", result.delta_summary, result.delta_fit) if consistency
                          else ("V_n", result.validity_summary, result.validity_fit))
    limit_name, limit = ("Delta_inf", lim.delta_inf) if consistency else ("V_inf", lim.v_inf)
    print(f"# process={config.process} d={config.d} score={config.score} protocol={config.protocol} r={config.r}"
          + (f" alpha={config.alpha}" if config.alpha is not None else "")
          + f" keep={config.keep} net={config.net_size} points in |theta| <= {config.net_radius} reps={config.reps} "
          f"seed={config.seed}")
    print(f"# {limit_name} = {limit:.6g} (quadrature)")
    print(f"{'n':>10} {name + ' mean':>14} {'95% CI':>25} {'stderr':>10}")
    for row in summary:
        print(f"{row.n:>10} {row.mean:14.6g} {'[' + format(row.ci_low, '.4g') + ', ' + format(row.ci_high, '.4g') + ']':>25}"
              f" {row.stderr:10.2g}")
    if fit is not None:
        print(f"# log-log slope: {fit.slope:+.3f} (95% CI {fit.ci_low:+.3f} .. {fit.ci_high:+.3f}); "
              f"n^(-1/2) gives -0.5, n^(-1) gives -1, a plateau 0")
    if not result.converged.all():
        print(f"# {int((~result.converged).sum())} fits did not converge")
    print(f"# result file: {result.path}  ({result.seconds:.1f} s)")
    return 0


def _cmd_report(args) -> int:
    from figures.report import PRESETS, build_report

    check_choice("--preset", args.preset, PRESETS)
    from theory_sim.executors import make_executor

    executor = make_executor(args.scheduler)
    try:
        page = build_report(args.out, preset=args.preset, progress=False if args.quiet else None, executor=executor,
                            workers=args.workers)
    finally:
        executor.close()
    claims = json.loads((page.parent / "claims.json").read_text())["claims"]
    for cid, c in claims.items():
        print(f"{cid:4s} {c['verdict']:14s} {c.get('criterion', c.get('note', ''))[:90]}")
    print(page)
    return 0


def _cmd_demo(args) -> int:
    from pathlib import Path

    from demos import DEMOS

    if args.list:
        for name, path in DEMOS.items():
            title = next((line.lstrip("# ").strip() for line in path.read_text().splitlines()
                          if line.startswith("# # ")), "")
            print(f"{name:24s} {title}")
        return 0
    if args.name is None:
        raise ValueError("NAME is required (or --list); demos: " + ", ".join(DEMOS))
    check_choice("demo", args.name, DEMOS)
    try:
        import jupytext
    except ImportError:
        raise ValueError("writing a notebook needs jupytext: pip install 'theory_sim[demos]'") from None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{args.name}.ipynb"
    jupytext.write(jupytext.read(DEMOS[args.name]), target)
    print(target)
    return 0


def _cmd_figures(args) -> int:
    import figures

    if args.list:
        for name, entry in figures.REGISTRY.items():
            print(f"{name:16s} {entry.description}")
        return 0
    names = args.names or list(figures.REGISTRY)
    for name in names:
        check_choice("figure", name, figures.REGISTRY)
    check_choice("--size", args.size, figures.SIZES)
    for name in names:
        paths = figures.build(name, args.out, size=args.size, progress=False if args.quiet else None)
        print(" ".join(str(p) for p in paths))
    return 0


def main(argv=None) -> int:
    """Entry point of ``theory-sim``; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    from theory_sim.core.limits import NonAdaptedScoreWarning

    warnings.simplefilter("always", NonAdaptedScoreWarning)
    warnings.formatwarning = lambda message, category, *rest: f"theory-sim: warning: {message}\n"
    try:
        commands = {"limit": _cmd_limit, "consistency": _cmd_montecarlo, "validity": _cmd_montecarlo,
                    "report": _cmd_report, "demo": _cmd_demo, "figures": _cmd_figures}
        return commands[args.verb](args)
    except (ValueError, TypeError) as exc:
        print(f"theory-sim {args.verb}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"theory-sim {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
