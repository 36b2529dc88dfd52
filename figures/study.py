"""A study: the consistency, validity and limit checks on settings the user names (issue 11).

``theory-sim report --study my_study.toml`` reads a TOML file (:mod:`tomllib`) such as::

    title = "Uniform design, slanted score"
    plugins = ["my_plugin.py"]        # files that call theory_sim.register_* (relative to the study file)
    processes = ["uniform-square"]    # registered names: built-in, --plugin files, installed entry points
    scores = ["slant"]
    models = ["logistic"]             # default ["logistic"]
    policies = ["sbpa", "random"]
    r = [0.2]                         # a number or a list
    alpha = 0.5                       # for the policies that take one (ec, ac), default 0.5
    keep = "lowest"                   # default "lowest"
    sizes = [500, 2000, 8000]         # the sample sizes n
    reps = 4
    method = "auto"                   # population losses: auto (quadrature where it exists), quadrature, monte-carlo
    n_mc = 200000                     # draws of µ for Monte Carlo population losses
    net_size = 32
    seed = 0

Every (process, score, model, policy, r) becomes a :class:`theory_sim.MonteCarloConfig` (and, when
the policy's limit is of the region form, a :class:`theory_sim.LimitConfig`); all are built — so
every value is checked — before anything runs. The report is the verification report's page and
``claims.json`` (:mod:`figures.report`), one entry per setting: Δ_n and V_n against their limits
Δ_∞ and V_∞ (the paper's C2–C6 on this setting), and the kept sample against ν (C1), each decided
as the claim register decides (:mod:`theory_sim.claims`: equivalence tests with its margins, power
and a negative control).
"""

from __future__ import annotations

import io
import itertools
import math
import sys
import time
from pathlib import Path

import numpy as np

import figures
import theory_sim as ts
from theory_sim.claims import DELTA_MARGIN, LIMIT_MARGIN, SLOPE_MARGIN, V_SLOPE_MARGIN, _control, _decided, \
    _scaled_limit, _slope_test, _test
from theory_sim.core.policies import POLICIES
from theory_sim.experiments import MonteCarloConfig, run_montecarlo
from theory_sim.experiments.limit import LimitConfig, run_limit
from theory_sim.provenance import versions
from theory_sim.registry import load_plugin_file
from theory_sim.store import atomic_write_bytes, atomic_write_json

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Study", "build_study_report", "read_study"]

KEYS = {"title": str, "plugins": list, "processes": list, "scores": list, "models": list, "policies": list,
        "r": (float, int, list), "alpha": (float, int), "keep": str, "sizes": list, "reps": int, "method": str,
        "n_mc": int, "net_size": int, "seed": int}
REQUIRED = ("processes", "scores", "policies", "r", "sizes")


class Study:
    """A study read from a TOML file: its title and its configs (built, so checked)."""

    def __init__(self, title, montecarlo: dict, limit: dict, source: Path):
        self.title, self.montecarlo, self.limit, self.source = title, montecarlo, limit, source


def _as_list(key, value):
    return [value] if not isinstance(value, list) else value


def read_study(path) -> Study:
    """Read and check a study file; every config is built here. Bad input: ValueError naming the key."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"study {str(path)!r}: no such file")
    try:
        raw = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"study {str(path)!r}: not TOML ({exc})") from None
    for key, value in raw.items():
        if key not in KEYS:
            raise ValueError(f"study key {key!r} is unknown; allowed: {', '.join(KEYS)}")
        if not isinstance(value, KEYS[key]) or isinstance(value, bool):
            raise ValueError(f"study key {key!r} has the wrong type: got {value!r}")
    for key in REQUIRED:
        if key not in raw:
            raise ValueError(f"study key {key!r} is required")
    for plugin in raw.get("plugins", []):
        load_plugin_file(path.parent / plugin)
    method = raw.get("method", "auto")
    if method not in ("auto", "quadrature", "monte-carlo"):
        raise ValueError(f"study key 'method' must be one of 'auto', 'quadrature', 'monte-carlo', got {method!r}")
    common = dict(ns=tuple(raw["sizes"]), reps=raw.get("reps", 4), keep=raw.get("keep", "lowest"),
                  seed=raw.get("seed", 0))
    montecarlo, limit = {}, {}
    for process, score, model, policy, r in itertools.product(
            *(_as_list(k, raw.get(k, ["logistic"] if k == "models" else None))
              for k in ("processes", "scores", "models", "policies", "r"))):
        d = ts.make_process(process).d if process in ts.PROCESSES else 2
        alpha = raw.get("alpha", 0.5) if policy in ("ec", "ac") else None
        key = f"{process} / {score} / {model} / {policy} r={r}"
        setting = dict(process=process, d=d, score=score, protocol=policy, alpha=alpha, r=r, **common)
        mc = dict(setting, model=model, net_size=raw.get("net_size", 32), n_mc=raw.get("n_mc", 200_000))
        try:
            montecarlo[key] = MonteCarloConfig(**mc, method="quadrature" if method == "auto" else method)
        except ValueError as exc:
            if method != "auto" or not str(exc).endswith("pass method='monte-carlo'"):
                raise ValueError(f"study setting {key}: {exc}") from None
            montecarlo[key] = MonteCarloConfig(**mc, method="monte-carlo")
        region = POLICIES[policy].limit(montecarlo[key].r, POLICIES[policy].check_alpha(alpha)) if policy in POLICIES \
            else None
        lkey = f"{process} / {score} / {policy} r={r}"
        if region is not None and region.level is not None and lkey not in limit:
            limit[lkey] = LimitConfig(**setting)
    return Study(raw.get("title", path.stem), montecarlo, limit, path)


def _gap_tests(name, summary, fit, limit, se_limit, reps, lim, slope):
    """The tests of one gap (Δ or V) and its negative control, as the claim register decides them
    (theory_sim.claims: equivalence, TOST at 5% per side, margins stated in docs/theory.md)."""
    positive = limit > 1e-9 + 1.6449 * se_limit  # the limit is shown > 0 (exact, or one-sided 5% for Monte Carlo)
    margin = DELTA_MARGIN if name == "Δ" else LIMIT_MARGIN  # the register's margins (docs/theory.md, "Statistics")
    if positive:
        last = summary[-1]
        se = math.hypot(last.stderr, se_limit)  # the limit's own Monte Carlo error counts
        test = _test(f"{name}_n at the largest n vs {name}_∞", last.mean, se, limit, margin * limit,
                     dof=max(reps - 1, 1))
        wrong = 1.02 * limit if name == "V" else _scaled_limit(lim, 1.02)
        control = _control("the limit density off by 2%" if name == "Δ" else "V_∞ off by 2%",
                           [_test(f"{name}_n vs the wrong limit", last.mean, se, wrong, margin * wrong,
                                  dof=max(reps - 1, 1))], abs(wrong - limit))
        rule = f"{name}_n at the largest n within ±{margin:.2%} of {name}_∞ (relative)"
        return test, control, rule
    target, margin = slope
    if fit is None or not math.isfinite(fit.stderr):
        return {"name": f"log-log slope of {name}_n", "verdict": "inconclusive", "power": 0.0,
                "note": "fewer than 3 points"}, None, f"{name}_n slope within {target:g} ± {margin:g}"
    test = _slope_test(f"log-log slope of {name}_n", fit, target, margin)
    control = _control(f"a plateau passed off as a decay ({name}_n slope 0)",
                       [_test(f"log-log slope of {name}_n vs 0", fit.slope, fit.stderr, 0.0, margin, dof=fit.dof)])
    return test, control, f"{name}_n slope within {target:g} ± {margin:g} ({name}_∞ = 0)"


def _entry(key, res, lim_res):
    lim, reps = res.limits, res.config.reps
    tests, controls, rules = [], [], []
    for name, summary, fit, limit, se, slope in (
            ("Δ", res.delta_summary, res.delta_fit, lim.delta_inf, lim.delta_inf_se, (-0.5, SLOPE_MARGIN)),
            ("V", res.validity_summary, res.validity_fit, lim.v_inf, lim.v_inf_se, (-1.0, V_SLOPE_MARGIN))):
        test, control, rule = _gap_tests(name, summary, fit, limit, se, reps, lim, slope)
        tests.append(test)
        controls += [control] if control else []
        rules.append(rule)
    numbers = {"method": lim.method, "delta_inf": lim.delta_inf, "delta_inf_se": lim.delta_inf_se,
               "delta_n": res.delta_summary[-1].mean, "v_inf": lim.v_inf, "v_inf_se": lim.v_inf_se,
               "v_n": res.validity_summary[-1].mean, "n_max": res.delta_summary[-1].n}
    if lim_res is not None and lim_res.fit_limit is not None:
        tests.append(_slope_test("log-log slope of the gap to ν", lim_res.fit_limit, -0.5, SLOPE_MARGIN))
        controls.append(_control("µ passed off as the limit (the gap to µ)",
                                 [_slope_test("log-log slope of the gap to µ", lim_res.fit_mu, -0.5, SLOPE_MARGIN)]))
        rules.append(f"the gap to ν: slope within −1/2 ± {SLOPE_MARGIN:g}")
        numbers.update(gap_to_nu=lim_res.rows[-1].gap_limit, gap_to_mu=lim_res.rows[-1].gap_mu)
    cfg = res.config
    command = (f"theory-sim consistency --process {cfg.process} --d {cfg.d} --score {cfg.score} --model {cfg.model} "
               f"--protocol {cfg.protocol} --r {cfg.r}" + (f" --alpha {cfg.alpha}" if cfg.alpha is not None else "")
               + f" --keep {cfg.keep} --method {cfg.method}")
    return dict(claim=key, title=key, statement="Δ_n → Δ_∞ and V_n → V_∞ (the limits of docs/theory.md, 'Limits')"
                + (", and the kept sample approaches the policy's limit ν (C1)" if len(tests) == 3 else ""),
                **_decided(tests, "; ".join(rules), controls, numbers=numbers, figure="study", command=command,
                           criterion="equivalence (TOST, 5% per side) of each: " + "; ".join(rules)))


def draw_gaps(axes, results, colors=None) -> None:
    """Δ_n and V_n of Monte Carlo results (mean, 95% interval) against n on two log-log axes, each
    limit dashed in its colour; ``results`` maps a label to a :class:`theory_sim.MonteCarloResult`.
    (The ``bring_your_own`` demo draws the same plot in its own cell: importing ``figures`` selects
    matplotlib's Agg backend, which would keep a notebook from showing its figures.)"""
    import matplotlib.pyplot as plt

    colors = colors or plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (key, res) in enumerate(results.items()):
        c = colors[i % len(colors)]
        for ax, summary, limit in ((axes[0], res.delta_summary, res.limits.delta_inf),
                                   (axes[1], res.validity_summary, res.limits.v_inf)):
            n = np.array([s.n for s in summary])
            mean = np.array([s.mean for s in summary])
            ax.errorbar(n, np.maximum(mean, 1e-12), yerr=1.96 * np.array([s.stderr for s in summary]), marker="o",
                        capsize=2, color=c, label=key)
            if limit > 1e-12:
                ax.axhline(limit, color=c, ls="--", lw=1.0)
    for ax, name in zip(axes, ("$\\Delta_n$ (dashed: $\\Delta_\\infty$)", "$V_n$ (dashed: $V_\\infty$)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
        ax.set_xlabel("n (sample size before pruning)")
        ax.set_ylabel(name)


def _plot(results):
    import matplotlib.pyplot as plt

    with plt.style.context(str(figures.STYLE)):
        fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.4), layout="constrained")
        draw_gaps(axes, results)
        axes[0].legend(fontsize=6)
        fig.suptitle("Study: consistency and validity gaps against their limits (mean, 95% CI)", fontsize=9)
        return fig


def build_study_report(study_file, out="report", *, progress=None) -> Path:
    """Run a study (:func:`read_study`) and write ``out/index.html`` and ``out/claims.json``; returns the page."""
    from .report import _html, _jsonable

    study = read_study(study_file)
    out = Path(out)
    start = time.perf_counter()
    results = {key: run_montecarlo(cfg, results_dir=out / "results", progress=progress)
               for key, cfg in study.montecarlo.items()}
    limits = {key: run_limit(cfg, out / "results", progress=progress) for key, cfg in study.limit.items()}
    entries = {}
    for key, res in results.items():
        cfg = res.config
        lkey = f"{cfg.process} / {cfg.score} / {cfg.protocol} r={cfg.r}"
        entries[key] = _entry(key, res, limits.get(lkey))
    fig = _plot(results)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_bytes(out / "study.png", buf.getvalue())
    payload = _jsonable({"preset": f"study {study.title!r} ({study.source.name})", "size": "study",
                         "versions": versions(), "seconds": time.perf_counter() - start, "claims": entries,
                         "other_checks": {},
                         "configs": {k: c.to_dict() for k, c in {**study.montecarlo, **study.limit}.items()}})
    atomic_write_json(out / "claims.json", payload, sort_keys=False)
    atomic_write_bytes(out / "index.html", _html(payload, {"study": out / "study.png"}).encode())
    return out / "index.html"
