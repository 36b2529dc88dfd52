"""The command line: output, exit codes, one-line errors."""

import subprocess
import sys

import pytest

from theory_sim.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_limit_prints_rows_and_slopes(capsys):
    code, out, err = run(capsys, "limit", "--process", "exponential", "--score", "distance", "--r", "0.2",
                         "--n", "500,2000,8000", "--reps", "2", "--quiet")
    assert code == 0, err
    lines = [line for line in out.splitlines() if not line.startswith("#")]
    assert len(lines) == 1 + 3  # header + one row per n
    assert "closed-form" in out  # the exponential/distance quantile is -log(1 - r)
    assert "log-log slope" in out


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["limit", "--process", "nope", "--score", "margin", "--r", "0.1"], "process must be one of"),
        (["limit", "--process", "gaussian-logistic", "--score", "margin", "--r", "0"], "r must be in"),
        (["limit", "--process", "gaussian-logistic", "--score", "margin", "--r", "1.5"], "r must be in"),
        (["limit", "--process", "gaussian-logistic", "--score", "nope", "--r", "0.1"], "score must be one of"),
        (["limit", "--process", "gaussian-logistic", "--score", "margin", "--r", "0.1", "--n", "5"], "too small"),
        (["limit", "--process", "gaussian-logistic", "--score", "margin", "--r", "0.1", "--protocol", "ec"],
         "alpha is required"),
        (["limit", "--process", "gaussian-logistic", "--score", "margin", "--r", "0.1", "--protocol", "ec",
          "--alpha", "1"], "alpha must be in"),
        (["limit", "--process", "gaussian-logistic", "--score", "margin", "--r", "0.1", "--protocol", "x"],
         "--protocol must be one of"),
        (["limit", "--process", "gaussian-logistic", "--score", "margin", "--r", "0.1", "--keep", "top"],
         "--keep must be one of"),
        (["limit", "--process", "gaussian-logistic", "--score", "margin", "--r", "0.1", "--n", "a,b"],
         "comma-separated list of integers"),
        (["limit", "--process", "gaussian-logistic", "--score", "margin", "--r", "abc"], "invalid float"),
        (["limit", "--process", "sine-regression", "--score", "margin", "--r", "0.1"], "regression process"),
        (["limit", "--process", "gaussian-logistic", "--score", "margin", "--r", "0.1", "--reps", "0"], "reps"),
        (["figures", "nope"], "figure must be one of"),
        (["figures", "--size", "huge"], "--size must be one of"),
        (["nope"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, needle):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors (parse-time types, unknown verbs)
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert needle in err
    assert len(err.strip().splitlines()) == 1, err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["limit", "--process", "gaussian-logistic"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "required" in err


def test_help_on_every_verb(capsys):
    for verb in ([], ["limit"], ["figures"]):
        with pytest.raises(SystemExit) as info:
            main([*verb, "--help"])
        assert info.value.code == 0
        assert "usage:" in capsys.readouterr().out


def test_console_script_and_module_entry_points():
    """The installed entry points exit 2 with one line on a bad value (no traceback)."""
    proc = subprocess.run([sys.executable, "-m", "figures", "nope"], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "theory_sim.cli", "limit", "--process", "gaussian-logistic",
                           "--score", "margin", "--r", "2"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "r must be in" in proc.stderr


def test_figures_list(capsys):
    code, out, _ = run(capsys, "figures", "--list")
    import figures

    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == list(figures.REGISTRY)
    assert {"limit", "consistency", "validity", "calibration"} <= set(figures.REGISTRY)


def _limit_argv():
    return ["limit", "--process", "exponential", "--score", "distance", "--r", "0.2", "--n", "500", "--reps", "2",
            "--quiet"]


def test_a_bug_is_exit_1_with_a_hint_and_debug_prints_the_traceback(capsys, monkeypatch):
    """A ValueError raised during the work (not by the checks) is a bug, not bad input."""
    import theory_sim.cli as cli

    def broken(config, **kw):
        raise ValueError("internal inconsistency")

    monkeypatch.setattr(cli, "run_limit", broken)
    assert main(_limit_argv()) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--debug" in err and "internal inconsistency" in err
    assert "Traceback" not in err
    assert main(["--debug", *_limit_argv()]) == 1
    assert "Traceback" in capsys.readouterr().err
    assert main([*_limit_argv(), "--debug"]) == 1  # also after the verb
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize("exc, code, needle", [
    (KeyboardInterrupt(), 130, "interrupted"),
    (OSError(28, "No space left on device", "/some/file.json"), 1, "/some/file.json: No space left on device"),
    (PermissionError(13, "Permission denied", "/x"), 1, "/x: Permission denied"),
    (MemoryError(), 1, "out of memory"),
])
def test_environment_failures_and_ctrl_c_during_the_work(capsys, monkeypatch, exc, code, needle):
    import theory_sim.cli as cli

    def fail(config, **kw):
        raise exc

    monkeypatch.setattr(cli, "run_limit", fail)
    assert main(_limit_argv()) == code
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_warnings_are_formatted_inside_main_only(capsys, monkeypatch):
    import warnings

    import theory_sim.cli as cli

    before = (warnings.formatwarning, warnings.showwarning)

    def warn(config, **kw):
        warnings.warn("something to know\nover two lines", UserWarning)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_limit", warn)
    assert main(_limit_argv()) == 130
    err = capsys.readouterr().err
    assert "theory-sim: warning: something to know over two lines" in err
    assert (warnings.formatwarning, warnings.showwarning) == before


def test_theory_sim_does_not_import_figures():
    """figures is a package above theory_sim: the CLI imports it only when a verb needs it, and
    ``python -m figures`` does not import the CLI back."""
    code = "import sys, theory_sim.cli; assert 'figures' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    code = "import sys, figures.__main__; assert 'theory_sim.cli' not in sys.modules, 'cycle'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_workers_above_the_cores_are_capped_with_a_warning(capsys, monkeypatch, tmp_path):
    import figures.report

    import theory_sim.cli as cli

    seen = {}

    def fake_build_report(out, *, workers, **kw):
        seen["workers"] = workers
        raise KeyboardInterrupt  # nothing to build: the check is what is tested

    monkeypatch.setattr(figures.report, "build_report", fake_build_report)
    assert main(["report", "--preset", "quick", "--workers", "1000", "--out", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert seen["workers"] == cli._cores() and "--workers 1000 is more than the" in err
