r"""Write the golden files: every constant a test asserts that ``proofs_check`` produces.

Run from anywhere (re-runnable; the output depends on nothing but the code and mpmath)::

    python -m proofs_check.make_golden            # writes proofs_check/golden/*.json
    python -m proofs_check.make_golden --out DIR  # elsewhere, e.g. to compare

Each entry carries its parameters, its value (50 significant digits, or an exact fraction
"p/q") and the equation it solves or evaluates, so a reader can recompute it by other means.
``tests/proofs/test_golden.py`` regenerates the files in memory and compares them with the
stored ones (to 45 digits), and asserts ``theory_sim``'s numbers against them.

Files
-----
``c1_quantiles.json``
    q_r of ``distance`` on ``exponential`` (closed form) and of ``margin`` on
    ``gaussian-logistic`` d = 2 (folded normal, solved at 60 digits).
``c5_c6_logistic.json``
    The 1-D gaussian-logistic worked cases of C5 (margin) and C6 (EL2N keep-highest): the
    threshold, L_{ν_r}(θ*) and ∇L_{ν_r}(θ*).
``c9_nfl.json``
    Exact no-free-lunch errors (fractions).
``p1_p4_policies.json``
    Exact values of the general limit law of selection policies (P1, P2, P4; ours).
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path

__all__ = ["GOLDEN_DIR", "build", "write", "main"]

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
GENERATOR = "python -m proofs_check.make_golden"


def _header(description: str) -> dict:
    import mpmath

    from ._mp import DIGITS, WORK_DPS

    return {"generator": GENERATOR, "description": description, "digits": DIGITS, "working_dps": WORK_DPS,
            "mpmath": mpmath.__version__}


def _c1() -> dict:
    import mpmath

    from ._mp import WORK_DPS, fmt
    from .limits import C1_RS, EXP_RATES, MARGIN_PROCESS, margin_quantiles_mp

    entries = []
    with mpmath.workdps(WORK_DPS):
        for lam in EXP_RATES:
            for r in C1_RS:
                for keep, p in (("lowest", mpmath.mpf(r)), ("highest", 1 - mpmath.mpf(r))):
                    entries.append({
                        "name": "q_r", "process": "exponential", "params": {"rate": lam}, "score": "distance",
                        "r": r, "keep": keep, "value": fmt(-mpmath.log(1 - p) / mpmath.mpf(lam)),
                        "equation": "F(t) = 1 - exp(-lambda t) = p, p = r (lowest) or 1 - r (highest): "
                                    "q = -log(1 - p)/lambda (sympy, proofs_check.limits.exponential_quantile_symbolic)",
                    })
    for row in margin_quantiles_mp():
        for keep in ("lowest", "highest"):
            entries.append({
                "name": "q_r", "process": "gaussian-logistic",
                "params": {"d": MARGIN_PROCESS["d"], "w_star": list(MARGIN_PROCESS["w_star"]),
                           "b_star": MARGIN_PROCESS["b_star"]},
                "score": "margin", "r": row["r"], "keep": keep, "value": fmt(row[f"q_{keep}"]),
                "equation": "Phi((q - b*)/s) - Phi((-q - b*)/s) = p, s = |w*|, p = r (lowest) or 1 - r (highest); "
                            "Illinois root at 60 digits (proofs_check._mp.folded_normal_quantile)",
            })
    return {**_header("C1: thresholds q_r of SBPA's acceptance region"), "entries": entries}


def _c5_c6() -> dict:
    import mpmath

    from ._mp import WORK_DPS, fmt
    from .logistic import B_STAR, C5_R, C6_RS, W_STAR, worked_case

    params = {"d": 1, "w_star": [W_STAR], "b_star": B_STAR}
    entries = []
    cases = [("margin", "lowest", C5_R)] + [("el2n", "highest", r) for r in C6_RS]
    for score, keep, r in cases:
        case = worked_case(score, r, from_loss=False)
        base = {"process": "gaussian-logistic", "params": params, "score": score, "keep": keep, "r": r}
        region = ("A = {|u*| <= q}" if score == "margin"
                  else "A = {y=1, u* <= a} u {y=0, u* >= -a}, q = sigma(-a)")
        with mpmath.workdps(WORK_DPS):
            entries.append({**base, "name": "threshold", "value": fmt(case["threshold"]),
                            "equation": ("folded normal: P(|u*| <= q) = r, u* ~ N(b*, w*^2)" if score == "margin"
                                         else "G(a) = P(y=1, u* <= a) + P(y=0, u* >= -a) = r, q = sigma(-a) "
                                              "(proofs_check._mp.el2n_threshold)")})
            if score == "el2n":
                entries.append({**base, "name": "a", "value": fmt(case["a"]), "equation": "G(a) = r, as above"})
            entries.append({**base, "name": "loss_nu_at_theta_star", "value": fmt(case["loss"]),
                            "equation": f"L_nu(theta*) = (1/r) E_mu[f(z; theta*) 1_A], {region}, "
                                        "f = softplus(-(2y-1) u*), tanh-sinh quadrature at 60 digits"})
            for j, comp in enumerate(("w", "b")):
                entries.append({**base, "name": f"grad_{comp}", "value": fmt(case["grad"][j]),
                                "equation": f"dL_nu/d{comp}(theta*) = (1/r) E_mu[x~_{comp} (sigma(u*) - y) 1_A], "
                                            f"{region}, x~ = (x, 1)"})
    return {**_header("C5/C6: SBPA limit loss and its gradient at theta* (1-D gaussian-logistic)"),
            "entries": entries}


def _c9() -> dict:
    from .nfl import SCORE_FAMILIES, finite_errors, limit_errors

    entries = []
    for name, (score, label_free) in SCORE_FAMILIES.items():
        entries.append({"name": "err_sbpa_limit", "family": name, "label_free": label_free, "K": 10, "r": "0.31",
                        "value": str(limit_errors(score, 10, Fraction("0.31"))),
                        "equation": "(1/2^K) sum_h (1/(2K)) sum_x P_inf(x unseen | h) (proofs_check.nfl.limit_errors)"})
    for name in ("label-free ties g=floor(x/2)", "label-dependent hash g=((7x+5y(x+1)) mod 5)/5"):
        score = SCORE_FAMILIES[name][0]
        for n in (2, 4, 8, 14):
            sbpa, rand = finite_errors(score, 4, Fraction("0.5"), n)
            entries.append({"name": "err_sbpa_finite", "family": name, "K": 4, "r": "0.5", "n": n,
                            "value": str(sbpa), "equation": "exact enumeration of cell counts and labellings "
                                                            "(proofs_check.nfl.finite_errors)"})
            entries.append({"name": "err_random_finite", "K": 4, "r": "0.5", "n": n, "value": str(rand),
                            "equation": "1/2 (1 - 1/K)^floor(r n)"})
    return {**_header("C9: exact expected errors of the no-free-lunch model"), "entries": entries}


def _policies() -> dict:
    from .policies import F, MU, PI

    pibar = sum(p * u for p, u in zip(PI, MU))
    ef = sum(u * v for u, v in zip(MU, F))
    base = {"mu": [str(u) for u in MU], "pi": [str(p) for p in PI], "f": [str(v) for v in F]}
    entries = [{**base, "name": "p1_density", "point": j, "value": str(PI[j] / pibar),
                "equation": "P1: d nu_pi / d mu (z_j) = pi_j / sum_i pi_i mu_i"} for j in range(len(MU))]
    entries.append({**base, "name": "p2_variance", "value": str(sum(u * v * v / q for u, v, q in zip(MU, F, PI)) - ef**2),
                    "equation": "P2: per-point variance of 1{U <= pi} f / pi: E_mu[f^2/pi] - (E_mu f)^2"})
    entries.append({**base, "name": "p2_ht_limit_pi0_on_z1", "value": str(ef - MU[0] * F[0]),
                    "equation": "P2 with pi_1 = 0: the HT limit E_mu[f 1{pi > 0}]"})
    r, alpha = Fraction(3, 10), Fraction(1, 2)
    for name, value, eq in (("p4_ac_inside", 1 / r, "s_1/(r m_1), s_1 = m_1 = alpha r"),
                            ("p4_ac_outside", (1 - alpha) * r / (r * (1 - alpha * r)),
                             "s_2/(r m_2), s_2 = (1 - alpha) r, m_2 = 1 - alpha r")):
        entries.append({"name": name, "r": str(r), "alpha": str(alpha), "value": str(value),
                        "equation": f"P4 special case AC: {eq}"})
    return {**_header("P1-P4: exact values of the general limit law of selection policies (ours)"),
            "entries": entries}


def build() -> dict:
    """{file name: payload} of every golden file, computed now."""
    return {"c1_quantiles.json": _c1(), "c5_c6_logistic.json": _c5_c6(), "c9_nfl.json": _c9(),
            "p1_p4_policies.json": _policies()}


def write(out_dir=GOLDEN_DIR) -> list[Path]:
    """Compute and write the golden files into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, payload in build().items():
        path = out_dir / name
        path.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m proofs_check.make_golden",
                                     description="Write the golden files of proofs_check.")
    parser.add_argument("--out", type=Path, default=GOLDEN_DIR, help=f"output folder (default {GOLDEN_DIR})")
    args = parser.parse_args(argv)
    for path in write(args.out):
        print(path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
