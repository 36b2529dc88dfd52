"""The ``theory-sim`` command line.

Verbs
-----
``limit``         distance of the kept sample to its limit (ν_r for SBPA) and to µ, as n grows (C1)
``consistency``   Monte Carlo consistency gap Δ_n with its limit Δ_∞ (C2, C3, C10, C11)
``validity``      Monte Carlo validity gap V_n with its limit V_∞ (C4-C6)
``report``        every figure and the claim register
``demo``          write a teaching demo as a notebook
``figures``       list or build the registered figures

Exit codes
----------
Each command runs in two phases. The *checks* turn the arguments into configs (whose
constructors validate every value) and check the output folders, before anything is computed;
the *work* computes and prints.

- 0: done.
- 2: bad input: an argparse error, or a ``ValueError``/``TypeError`` raised by the checks. One
  line on stderr, naming the option.
- 1: the environment failed (an ``OSError``: a file where a folder is expected, no permission,
  a full disk; a ``MemoryError``): one line naming the path and the cause. Or a bug (any other
  exception, also a ``ValueError`` raised during the work): one line, and ``--debug`` prints the
  traceback.
- 130: interrupted (Ctrl-C).

Extending: ``--plugin FILE.py`` (repeatable, before or after the verb) runs a user's file that
registers processes, scores, models or policies (``theory_sim.register_*``) before the options are
read, so its names are accepted and listed by ``--help``; installed plug-ins (entry points in the
groups ``theory_sim.processes``, ``.scores``, ``.models``, ``.policies``) are found by name.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

from theory_sim.version import __version__
from theory_sim.core.limits import NonAdaptedScoreWarning, check_pair
from theory_sim.core.policies import POLICIES
from theory_sim.core.processes import PROCESSES, make_process
from theory_sim.core.scores import SCORES, make_score
from theory_sim.executors import make_executor
from theory_sim.experiments import MonteCarloConfig, run_montecarlo
from theory_sim.experiments.limit import LimitConfig, run_limit
from theory_sim.models.linear import MODELS
from theory_sim.registry import load_plugin_file
from theory_sim.validation import check_choice, check_int

__all__ = ["main"]

EXIT_ENVIRONMENT = 1  # also an unexpected error (a bug)
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


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


def _cores() -> int:
    """Cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _default_workers() -> int:
    """Cores available to this process, at most 2 (the figures' experiments are not many)."""
    return min(2, _cores())


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="theory-sim", description="Verify the theory of score-based data pruning "
                     "(Ayed & Hayou, arXiv 2302.06960).")
    parser.add_argument("--version", action="version", version=f"theory-sim {__version__}")
    parser.add_argument("--debug", action="store_true", help="on an unexpected error, print the traceback")
    parser.add_argument("--plugin", action="append", default=[], metavar="FILE.py", help="a Python file that "
                        "registers processes, scores, models or policies (theory_sim.register_*); repeatable")
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
    limit.add_argument("--protocol", default="sbpa", help="sbpa (default), random, ec, ac or a registered policy "
                       "whose limit is of the region form: " + ", ".join(_region_policies()))
    limit.add_argument("--alpha", type=float, default=None, help="signal fraction for ec ([0, 1)) and ac ([0, 1])")
    limit.add_argument("--keep", default="lowest", help="which scores the score-based part keeps: lowest (default) "
                       "or highest")
    limit.add_argument("--n", type=_int_list("--n"), default=(1_000, 10_000, 100_000),
                       help="comma-separated sample sizes (default 1000,10000,100000)")
    limit.add_argument("--reps", type=int, default=5, help="replications per n (default 5)")
    limit.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    limit.add_argument("--quiet", action="store_true", help="no progress bar")

    for verb, what in (("consistency", "the consistency gap Delta_n = max over the net W of abs(L_n^A - L)"),
                       ("validity", "the validity gap V_n = L(argmin_W L_n^A) - min_W L")):
        mc = verbs.add_parser(
            verb, help=f"Monte Carlo: {what}, as n grows (claims C2-C6, C10-C12)",
            description=f"Monte Carlo estimate of {what}, for n in --n, with --reps replications; mean, 95% CI, "
            "log-log slope, and the limit it must reach (Delta_inf, V_inf), computed independently by quadrature. "
            "One result file per config under --results; a rerun reuses it, an interrupted run resumes.")
        mc.add_argument("--process", default="gaussian-logistic", help=f"one of: {', '.join(PROCESSES)} (default "
                        "gaussian-logistic; quadrature on gaussian-logistic and gaussian-mixture)")
        mc.add_argument("--d", type=int, default=2, help="dimension (default 2)")
        mc.add_argument("--score", default="margin", help=f"one of: {', '.join(SCORES)} (default margin)")
        mc.add_argument("--r", type=float, default=0.1, help="compression level: fraction kept, in (0, 1] "
                        "(default 0.1)")
        mc.add_argument("--protocol", default="sbpa", help=f"one of: {', '.join(POLICIES)} (default sbpa)")
        mc.add_argument("--model", default="logistic", help=f"one of: {', '.join(MODELS)} (default logistic)")
        mc.add_argument("--alpha", type=float, default=None, help="signal fraction for ec ([0, 1)) and ac ([0, 1])")
        mc.add_argument("--keep", default="lowest", help="lowest (default) or highest")
        mc.add_argument("--n", type=_int_list("--n"), default=(1_000, 10_000, 100_000, 1_000_000),
                        help="comma-separated sample sizes (default 1000,10000,100000,1000000)")
        mc.add_argument("--reps", type=int, default=20, help="replications per n (default 20)")
        mc.add_argument("--net-size", type=int, default=256, help="points in the net W (default 256)")
        mc.add_argument("--net-radius", type=float, default=6.0, help="radius of the ball W (default 6)")
        mc.add_argument("--seed", type=int, default=0, help="seed (default 0)")
        mc.add_argument("--method", default="quadrature", help="population losses (Delta_inf, V_inf): quadrature "
                        "(default; refused with the reason where it does not exist) or monte-carlo")
        mc.add_argument("--n-mc", type=int, default=1_000_000, help="draws of mu for --method monte-carlo "
                        "(default 1000000)")
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
    report.add_argument("--study", default=None, metavar="FILE.toml", help="a study file naming the processes, "
                        "scores, models, policies, r, alpha and sizes to check (figures/study.py); --preset is then "
                        "not used")
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
    figures.add_argument("--workers", type=int, default=1, help="processes that compute the figures' experiments: "
                         "the units (restarts, seeds, n) of every named figure are spread over them, each stored as "
                         "it arrives (default 1; the numbers do not depend on it)")
    choose = verbs.add_parser(
        "choose-alpha", help="choose the signal fraction alpha of EC or AC from a file of scores and pilot losses",
        description="Read FILE (.npy: a 2-D array; .csv: comma-separated numbers, an optional header line), one "
        "row per data point: column 1 the score g, the other columns the pilot fit's loss (one column) or its "
        "whitened gradient (several). Print the alpha minimising the predicted variance of the EC risk (rule "
        "neyman) or the bias^2 + variance of AC (rule bias-variance), with the profile over alpha "
        "(docs/theory.md, 'Choosing alpha'); the same answer as theory_sim.choose_alpha.")
    choose.add_argument("file", help="a .npy or .csv file of scores and pilot losses")
    choose.add_argument("--r", type=float, required=True, help="compression level: fraction kept, in (0, 1)")
    choose.add_argument("--protocol", default="ec", help="ec (default) or ac")
    choose.add_argument("--keep", default="lowest", help="which scores the score-based part keeps: lowest "
                        "(default) or highest")
    for sub in verbs.choices.values():  # --debug also after the verb; SUPPRESS keeps a global --debug
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="on an unexpected "
                         "error, print the traceback")
        sub.add_argument("--plugin", action="append", default=argparse.SUPPRESS, metavar="FILE.py",
                         help="a Python file that registers processes, scores, models or policies; repeatable")
    return parser


def _region_policies():
    """The registered policies whose limit is of the region form (the limit verb draws from it)."""
    out = []
    for name in POLICIES:
        try:
            policy = POLICIES[name]
            alpha = 0.5 if name in ("ec", "ac") else None
            if policy.limit(0.5, policy.check_alpha(alpha)) is not None:
                out.append(name)
        except (ValueError, TypeError):
            out.append(name)  # a policy with its own alpha rule: listed, checked when the config is built
    return out


def _plugin_files(argv) -> list:
    """The ``--plugin`` files named in ``argv`` (read before the parser is built, so that their names are
    listed by --help and accepted as choices)."""
    files = []
    for i, arg in enumerate(argv):
        if arg == "--plugin" and i + 1 < len(argv):
            files.append(argv[i + 1])
        elif arg.startswith("--plugin="):
            files.append(arg.split("=", 1)[1])
    return files


# ---------------------------------------------------------------------------------------------
# The checks: each ``_check_<verb>(args)`` validates everything it can before any work and
# returns the work as a function of no arguments. Its ValueError/TypeError are bad input (exit 2).

def _check_folder(option: str, path) -> Path:
    """An output folder that can be written: created now (the work would create it anyway)
    and probed with a temporary file, so that a file in its place, a missing permission or a
    read-only file system is found before anything is computed."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"{option} must name a folder, got {path!r}")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{option} {folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except (FileExistsError, NotADirectoryError):
        raise NotADirectoryError(f"{option} {folder}: a part of the path is a file, not a folder") from None
    except OSError as exc:
        raise OSError(exc.errno, f"{option} {folder}: cannot write there ({exc.strerror or exc})") from None
    return folder


def _check_limit(args):
    config = LimitConfig(process=args.process, d=args.d, score=args.score, r=args.r, protocol=args.protocol,
                         alpha=args.alpha, keep=args.keep, ns=args.n, reps=args.reps, seed=args.seed)
    mu = make_process(config.process, **({} if config.process in ("sine-regression", "exponential")
                                          else {"d": config.d}))
    check_pair(mu, make_score(config.score, mu))
    return lambda: _run_limit(config, args)


def _run_limit(config, args) -> int:
    result = run_limit(config, progress=False if args.quiet else None)
    limit_name = {"sbpa": "nu_r", "ac": "nu_AC", "ec": "mu", "random": "mu"}.get(config.protocol, "nu")
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


def _check_montecarlo(args):
    config = MonteCarloConfig(process=args.process, d=args.d, score=args.score, protocol=args.protocol, r=args.r,
                              alpha=args.alpha, keep=args.keep, ns=args.n, reps=args.reps, net_size=args.net_size,
                              net_radius=args.net_radius, seed=args.seed, model=args.model, method=args.method,
                              n_mc=args.n_mc)
    results = _check_folder("--results", args.results)
    return lambda: _run_montecarlo(config, results, args)


def _run_montecarlo(config, results, args) -> int:
    result = run_montecarlo(config, results_dir=results, progress=False if args.quiet else None)
    lim = result.limits
    consistency = args.verb == "consistency"
    name, summary, fit = (("Delta_n", result.delta_summary, result.delta_fit) if consistency
                          else ("V_n", result.validity_summary, result.validity_fit))
    limit_name, limit = ("Delta_inf", lim.delta_inf) if consistency else ("V_inf", lim.v_inf)
    print(f"# process={config.process} d={config.d} score={config.score} protocol={config.protocol} r={config.r}"
          + (f" alpha={config.alpha}" if config.alpha is not None else "")
          + f" keep={config.keep}" + (f" model={config.model}" if config.model != "logistic" else "")
          + f" net={config.net_size} points in |theta| <= {config.net_radius} reps={config.reps} "
          f"seed={config.seed}")
    se = lim.delta_inf_se if consistency else lim.v_inf_se
    print(f"# {limit_name} = {limit:.6g} " + ("(quadrature)" if lim.method == "quadrature" else
          f"(Monte Carlo, n_mc={config.n_mc}, stderr {se:.2g} including the threshold's)"))
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


_SCHEDULER = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


def _check_workers(workers) -> int:
    """``--workers``: at least 1; more than the cores is capped at the cores, with a warning."""
    workers = check_int("workers", workers, low=1)
    cores = _cores()
    if workers > cores:
        print(f"theory-sim: warning: --workers {workers} is more than the {cores} cores of this machine; "
              f"using {cores}", file=sys.stderr)
    return min(workers, cores)


def _check_report(args):
    # figures is a package above theory_sim (it imports theory_sim): imported at call time so
    # that theory_sim never imports it at import time.
    from figures.report import PRESETS, build_report

    if args.study is not None:
        return _check_study(args)
    check_choice("preset", args.preset, PRESETS)
    workers = _check_workers(args.workers)
    if args.scheduler is not None and not _SCHEDULER.match(args.scheduler):
        raise ValueError(f"scheduler must be an address such as 'tcp://127.0.0.1:8786', got {args.scheduler!r}")
    out = _check_folder("--out", args.out)
    _check_folder("--out", str(out / "results"))

    def work():
        executor = make_executor(args.scheduler)  # an unreachable scheduler is a ConnectionError: exit 1
        try:
            page = build_report(out, preset=args.preset, progress=False if args.quiet else None,
                                executor=executor, workers=workers)
        finally:
            executor.close()
        return _print_verdicts(page, lambda cid, c: f"{cid:4s} {c['verdict']:14s} "
                                                    f"{c.get('criterion', c.get('note', ''))[:90]}")

    return work


def _print_verdicts(page, line) -> int:
    """One line per claim of the report's claims.json, then the page's path; exit code 0."""
    for key, claim in json.loads((page.parent / "claims.json").read_text())["claims"].items():
        print(line(key, claim))
    print(page)
    return 0


def _check_study(args):
    from figures.study import build_study_report, read_study

    read_study(args.study)  # every config built: bad input is exit 2 before any work
    out = _check_folder("--out", args.out)

    def work():
        page = build_study_report(args.study, out, progress=False if args.quiet else None)
        return _print_verdicts(page, lambda key, c: f"{c['verdict']:14s} {key}")

    return work


def _check_demo(args):
    # demos is a package of scripts shipped beside theory_sim, above it: imported when used.
    from demos import DEMOS

    if args.list:
        return lambda: _list_demos(DEMOS)
    if args.name is None:
        raise ValueError("NAME is required (or --list); demos: " + ", ".join(DEMOS))
    check_choice("demo", args.name, DEMOS)
    try:
        import jupytext  # an optional dependency
    except ImportError:
        raise ValueError("writing a notebook needs jupytext: pip install 'theory_sim[demos]'") from None
    out = _check_folder("--out", args.out)
    target = out / f"{args.name}.ipynb"
    if target.is_dir():
        raise IsADirectoryError(f"{target}: is a folder, expected a file")

    def work():
        jupytext.write(jupytext.read(DEMOS[args.name]), target)
        print(target)
        return 0

    return work


def _list_demos(demos) -> int:
    for name, path in demos.items():
        title = next((line.lstrip("# ").strip() for line in path.read_text().splitlines()
                      if line.startswith("# # ")), "")
        print(f"{name:24s} {title}")
    return 0


def _check_figures(args):
    # figures is a package above theory_sim (it imports theory_sim): imported at call time so
    # that theory_sim never imports it at import time.
    import figures

    if args.list:
        return lambda: _list_figures(figures.REGISTRY)
    names = args.names or list(figures.REGISTRY)
    for name in names:
        check_choice("figure", name, figures.REGISTRY)
    check_choice("size", args.size, figures.SIZES)
    out = _check_folder("--out", args.out)
    _check_folder("--out", str(out / "results"))

    workers = _check_workers(args.workers)

    def work():
        from theory_sim.executors import ProcessExecutor

        executor = ProcessExecutor(workers) if workers > 1 else None
        try:
            if executor is not None:  # the units of every named figure in one pool of tasks
                figures.compute_all_units(names, out, size=args.size, executor=executor,
                                          progress=False if args.quiet else None)
            for name in names:
                paths = figures.build(name, out, size=args.size, progress=False if args.quiet else None,
                                      executor=executor)
                print(" ".join(str(p) for p in paths))
        finally:
            if executor is not None:
                executor.close()
        return 0

    return work


def _list_figures(registry) -> int:
    for name, entry in registry.items():
        print(f"{name:16s} {entry.description}")
    return 0


def read_score_file(path) -> tuple:
    """(g, values) from a .npy or .csv file: column 1 the scores, the rest the pilot values.

    Anything a user can get wrong (a missing file, another extension, a ragged or non-numeric
    row, fewer than 2 columns or 3 rows, NaN) is a ``ValueError`` naming the file and the fault.
    """
    import numpy as np

    path = Path(path)
    if path.suffix.lower() not in (".npy", ".csv"):
        raise ValueError(f"FILE must end in .npy or .csv, got {str(path)!r}")
    if not path.is_file():
        raise ValueError(f"FILE {path}: no such file")
    try:
        if path.suffix.lower() == ".npy":
            table = np.load(path, allow_pickle=False)
        else:
            lines = [line for line in path.read_text().splitlines() if line.strip()]
            try:
                [float(v) for v in lines[0].split(",")] if lines else None
            except ValueError:
                lines = lines[1:]  # a header line
            rows = [[float(v) for v in line.split(",")] for line in lines]
            if len({len(row) for row in rows}) > 1:
                raise ValueError("rows have different numbers of columns")
            table = np.array(rows, dtype=float)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"FILE {path}: not a table of numbers ({_one_line(exc)})") from None
    if table.dtype.kind not in "biuf" or table.ndim != 2 or table.shape[1] < 2 or table.shape[0] < 3:
        raise ValueError(f"FILE {path}: must be a 2-D table of numbers with at least 3 rows and 2 columns (score, "
                         f"pilot loss), got shape {table.shape} of dtype {table.dtype}")
    table = table.astype(float)
    if not np.isfinite(table).all():
        row = int(np.flatnonzero(~np.isfinite(table).all(axis=1))[0])
        raise ValueError(f"FILE {path}: row {row + 1} holds a NaN or infinite value")
    values = table[:, 1] if table.shape[1] == 2 else table[:, 1:]
    return table[:, 0], values


def _check_choose_alpha(args):
    from theory_sim.core.alpha_choice import choose_alpha

    g, values = read_score_file(args.file)
    choice = choose_alpha(g, values, args.r, args.protocol, keep=args.keep)

    def work():
        kind = "variance" if choice.protocol == "ec" else "bias^2 + variance"
        print(f"# n={choice.n} r={choice.r} protocol={choice.protocol} keep={args.keep} rule={choice.rule}: "
              f"predicted {kind} of the pruned risk estimate")
        print(f"{'alpha':>6} {'predicted':>14}")
        for a, v in zip(choice.alphas, choice.profile):
            print(f"{a:6.2f} {v:14.6g}")
        print(f"alpha_hat={choice.alpha:g} predicted={choice.predicted_variance:.10g} "
              f"random={choice.random_variance:.10g} ratio={choice.predicted_variance / choice.random_variance:.4f}")
        return 0

    return work


_CHECKS = {"choose-alpha": _check_choose_alpha, "limit": _check_limit, "consistency": _check_montecarlo, "validity": _check_montecarlo,
           "report": _check_report, "demo": _check_demo, "figures": _check_figures}
_ALIASES = {"ns": "n", "dim": "d"}  # parameter names of the configs that differ from the option's


def _options(parser, verb) -> dict:
    """Parameter name -> option (``net_size`` -> ``--net-size``) of the verb's options."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[verb]
    names = {a.dest: a.option_strings[0] for a in sub._actions if a.option_strings and a.dest != "help"}
    names.update({alias: names[name] for alias, name in _ALIASES.items() if name in names})
    return names


def _name_options(message: str, options: dict) -> str:
    """The validation messages name parameters (``net_size must be ...``); say the option instead."""
    if not options:
        return message
    pattern = r"(?<![\w.'\"-])(" + "|".join(sorted(map(re.escape, options), key=len, reverse=True)) + \
        r")(=?)(?=(?<==)|[;,]| (?:must|is|needs|applies|has|or)\b|$)"
    return re.sub(pattern, lambda m: options[m.group(1)] + (" " if m.group(2) else ""), message)


def _one_line(text) -> str:
    return " ".join(str(text).split())


def _environment_message(exc: BaseException) -> str:
    """One line naming the path and the cause of an OSError."""
    if isinstance(exc, MemoryError):
        return f"out of memory ({exc or 'MemoryError'}); use smaller sizes"
    if getattr(exc, "filename", None) is not None:
        cause = "exists and is not a folder" if isinstance(exc, FileExistsError) else exc.strerror
        return f"{exc.filename}: {cause or exc}"
    return str(exc) or type(exc).__name__


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"theory-sim: warning: {_one_line(message)}", file=sys.stderr if file is None else file)


def main(argv=None) -> int:
    """Entry point of ``theory-sim``; returns the exit code (module docstring)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    for file in _plugin_files(argv):
        try:
            load_plugin_file(file)
        except ValueError as exc:
            print(f"theory-sim: error: --plugin: {_one_line(exc)}", file=sys.stderr)
            return EXIT_USAGE
    parser = _build_parser()
    args = parser.parse_args(argv)
    prefix = f"theory-sim {args.verb}: error:"
    with warnings.catch_warnings():  # restores the warning filters and showwarning on exit
        warnings.simplefilter("always", NonAdaptedScoreWarning)
        warnings.showwarning = _show_warning
        try:
            try:
                work = _CHECKS[args.verb](args)
            except (ValueError, TypeError) as exc:
                print(f"{prefix} {_one_line(_name_options(str(exc), _options(parser, args.verb)))}", file=sys.stderr)
                return EXIT_USAGE
            return work()
        except KeyboardInterrupt:
            print(f"theory-sim {args.verb}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except (OSError, MemoryError) as exc:
            print(f"{prefix} {_one_line(_environment_message(exc))}", file=sys.stderr)
            return EXIT_ENVIRONMENT
        except Exception as exc:
            if args.debug:
                traceback.print_exc()
            print(f"{prefix} unexpected {type(exc).__name__}: {_one_line(exc)[:300]} (a bug; rerun with --debug "
                  "for the traceback)" if not args.debug else f"{prefix} unexpected {type(exc).__name__}",
                  file=sys.stderr)
            return EXIT_ENVIRONMENT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
