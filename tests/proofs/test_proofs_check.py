"""The claim registry of ``proofs_check`` and its command line.

Every registered check must return 'pass' (claims with an exact check) or 'numeric-only'
(claims without one, whose evidence names the numeric test); the ids C1-C12 must all be
registered, in order. The CLI must exit 0 when nothing fails, 1 when a check fails (forced here
by replacing a check function), and 2 on bad arguments with one line on stderr.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import proofs_check
from proofs_check import CHECKS, CheckResult, claim_ids, get_check, run_check, run_checks
from proofs_check.cli import format_table, main
from theory_sim.claims import CLAIMS

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_IDS = tuple(f"C{i}" for i in range(1, 13))
NUMERIC_ONLY = {"C2", "C3", "C4", "C7", "C8"}


def test_registry_holds_c1_to_c12_in_order():
    assert claim_ids() == EXPECTED_IDS
    for check in CHECKS:
        assert check.statement and check.method
        assert callable(check.load())


def test_registry_states_the_claims_of_the_one_register():
    """The ids are the register's (theory_sim.claims.CLAIMS); a claim with no exact check states the claim."""
    assert claim_ids() == tuple(CLAIMS)
    for check in CHECKS:
        assert check.claim_statement == CLAIMS[check.claim]
        if check.claim in NUMERIC_ONLY:
            assert check.statement == CLAIMS[check.claim]


@pytest.mark.parametrize(
    "claim", [pytest.param(c.claim, marks=pytest.mark.slow) if c.slow else c.claim for c in CHECKS]
)
def test_each_check_passes_or_is_numeric_only(claim):
    result = run_check(claim)
    expected = "numeric-only" if claim in NUMERIC_ONLY else "pass"
    assert result.verdict == expected, json.dumps(result.evidence, indent=1)
    assert result.claim == claim and result.seconds >= 0
    assert result.evidence.get("summary")
    for key, value in result.evidence.items():  # JSON scalars only
        assert isinstance(key, str) and isinstance(value, (bool, int, float, str)), (key, value)
    _assert_numeric_tests_exist(claim, result.evidence["numeric_tests"])
    json.dumps(result.to_dict())


def _assert_numeric_tests_exist(claim, text):
    """Every check names the numeric tests of its claim; they exist."""
    if claim == "C9":  # exact only, and it says so
        assert text.startswith("none: ")
        return
    for ref in text.split(", "):
        path, name = ref.split("::")
        assert f"def {name}(" in (ROOT / path).read_text(), ref


def test_check_result_refuses_an_unknown_verdict():
    with pytest.raises(ValueError, match="verdict must be one of 'pass', 'fail', 'numeric-only'; got 'ok'"):
        CheckResult("C1", "s", "m", "ok", {}, 0.0)


def test_unknown_claim_is_a_value_error():
    with pytest.raises(ValueError, match="claim must be one of C1, .*C12, P1, .*P6; got 'C13'"):
        get_check("C13")
    with pytest.raises(ValueError, match="got 'C0'"):
        run_checks(["C11", "C0"])


def test_a_check_that_raises_is_a_failure_with_the_error_as_evidence(monkeypatch):
    def broken():
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("proofs_check.limits.check_c11", broken)
    result = run_check("C11")
    assert result.verdict == "fail"
    assert "ZeroDivisionError: boom" in result.evidence["summary"]


def test_table_has_one_row_per_result():
    results = [CheckResult("C1", "s", "sympy", "pass", {"summary": "ok"}, 1.0),
               CheckResult("C2", "s", "numeric test", "numeric-only", {}, 0.0)]
    lines = format_table(results).splitlines()
    assert len(lines) == 3 and lines[0].startswith("claim") and "ok" in lines[1]


# --------------------------------------------------------------------------------------- CLI


def test_cli_exit_0_and_json_written(tmp_path, capsys):
    path = tmp_path / "sub" / "out.json"
    code = main(["--only", "c11,C10", "--json", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = [line.split()[0] for line in out.splitlines()[1:] if not line.startswith("#")]
    assert rows == ["C10", "C11"]  # register order, whatever the order asked
    payload = json.loads(path.read_text())
    assert [r["claim"] for r in payload["results"]] == ["C10", "C11"]
    assert {r["verdict"] for r in payload["results"]} == {"pass"}
    assert set(payload["versions"]) >= {"theory_sim", "sympy", "mpmath"}
    assert not list(path.parent.glob(".*.tmp"))  # atomic write leaves no temporary file


def test_cli_exit_1_when_a_check_fails(monkeypatch, capsys):
    monkeypatch.setattr("proofs_check.limits.check_c11", lambda: (False, {"summary": "forced failure"}))
    code = main(["--only", "C11"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "fail" in out and "forced failure" in out
    assert "C11 failed" in err


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--only", "C13"], "unknown claim id(s) C13"),
        (["--only", ","], "--only must list claim ids"),
        (["--bogus"], "unrecognized arguments"),
        (["--json"], "expected one argument"),
    ],
)
def test_cli_bad_arguments_exit_2_one_line(argv, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_cli_json_pointing_at_a_directory_exits_2(tmp_path, capsys):
    assert main(["--only", "C11", "--json", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--json must be a file path" in err and len(err.strip().splitlines()) == 1


def test_python_dash_m_runs_the_cli():
    proc = subprocess.run([sys.executable, "-m", "proofs_check", "--only", "C11"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "C11" in proc.stdout and "pass" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "proofs_check", "--only", "X"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_console_script_is_declared():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["proofs-check"] == "proofs_check.cli:main"
    assert proofs_check.cli.main is main


# --------------------------------------------------------------------------------------- helpers' inputs


def test_helpers_refuse_bad_input_with_actionable_messages():
    from fractions import Fraction

    from proofs_check.logistic import worked_case
    from proofs_check.nfl import SCORE_FAMILIES, finite_errors, limit_errors

    score = SCORE_FAMILIES["label-free distinct g=x/K"][0]
    with pytest.raises(ValueError, match="score must be one of 'margin', 'el2n'; got 'loss'"):
        worked_case("loss", "0.3")
    with pytest.raises(ValueError, match=r"r must be in \(0.0, 1.0\], got 1.5"):
        worked_case("margin", "1.5")
    with pytest.raises(TypeError, match="r must be a fractions.Fraction"):
        limit_errors(score, 3, 0.5)
    with pytest.raises(ValueError, match=r"r must be in \(0, 1\), got 1"):
        limit_errors(score, 3, Fraction(1))
    with pytest.raises(ValueError, match=r"K must be an integer in \[1, inf\], got 0"):
        finite_errors(score, 0, Fraction(1, 2), 4)
    with pytest.raises(ValueError, match="n is too small for the budget"):
        finite_errors(score, 3, Fraction(1, 2), 1)


# The project's own propositions P1-P4 (docs/theory.md, "Selection policies: a general limit law (ours)").
@pytest.mark.parametrize("pid", ["P1", "P2", "P3", "P4", "P5", pytest.param("P6", marks=pytest.mark.slow)])
def test_each_proposition_check_passes(pid):
    result = run_check(pid)
    assert result.verdict == "pass", json.dumps(result.evidence, indent=1)
    assert result.evidence.get("summary")
    _assert_numeric_tests_exist(pid, result.evidence["numeric_tests"])


def test_propositions_are_registered_apart_from_the_claims():
    from proofs_check import proposition_ids

    assert proposition_ids() == ("P1", "P2", "P3", "P4", "P5", "P6")
    assert not set(proposition_ids()) & set(CLAIMS)
    assert [r.claim for r in run_checks(["P3", "P1"])] == ["P1", "P3"]  # register order


def test_p5_fails_when_the_threshold_term_is_dropped(monkeypatch):
    """Broken on purpose: without the threshold's term (1 − r)(E_ν f − f(q))², σ² no longer equals Var(h)/r."""
    from proofs_check import kept_mean

    full = kept_mean.sigma2
    monkeypatch.setattr(kept_mean, "sigma2", lambda fa, fb=None: full(fa, fb) - (1 - kept_mean.R) * (
        sum(p * x for p, x in zip(kept_mean._nu(), fa)) - fa[kept_mean.Q]) * (
        sum(p * x for p, x in zip(kept_mean._nu(), fa if fb is None else fb)) - (fa if fb is None else fb)[kept_mean.Q]))
    passed, evidence = kept_mean.check_p5()
    assert not passed and "NO" in evidence["summary"]


@pytest.mark.slow
def test_p6_fails_with_a_wrong_ec_or_ac_formula(monkeypatch):
    """Broken on purpose: EC without its data-sampling term r Cov_µ, or AC without its exploration term, and the
    exact k Cov no longer approaches the formula (P6 fails)."""
    from proofs_check import gap_law

    right = gap_law.sigma
    for protocol in ("ec", "ac"):
        def wrong(p, fa, fb, r=gap_law.R, alpha=gap_law.ALPHA, _broken=protocol):
            value = right(p, fa, fb, r, alpha)
            if p != _broken:
                return value
            if p == "ec":
                return value - r * gap_law._cov(gap_law.MU, fa, fb)
            rho = alpha * r
            _, outside = gap_law._below(rho)
            return value - (1 - alpha) * (1 - r) / (1 - rho) * gap_law._cov([q / (1 - rho) for q in outside], fa, fb)

        monkeypatch.setattr(gap_law, "sigma", wrong)
        passed, evidence = gap_law.check_p6()
        assert not passed and "NOT decreasing" in evidence["summary"], evidence["summary"]
