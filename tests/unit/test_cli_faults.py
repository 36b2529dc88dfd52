"""Fault injection through the command line: a table of bad inputs and broken environments.

Each case runs ``theory_sim.cli.main`` in this process and must end in its exit code (2: bad
input; 1: the environment), exactly one line on stderr (two where a warning comes first)
containing the expected text, and no traceback. Every case fails in the checks that run before
any work, so the table runs in seconds. Placeholders in argv: ``{dir}`` a fresh folder,
``{file}`` an existing file, ``{ro}`` a folder that cannot be written.
"""

import os
from pathlib import Path

import pytest

from theory_sim.cli import main

LIMIT = ["limit", "--process", "gaussian-logistic", "--score", "margin", "--r", "0.1"]
CONS = ["consistency", "--results", "{dir}"]
VAL = ["validity", "--results", "{dir}"]

# (argv, exit code, text the message contains[, lines on stderr])
CASES = [
    # limit: every option
    (LIMIT + ["--n", "0"], 2, "--n must be an integer in [1, inf]"),
    (LIMIT + ["--n", "-5"], 2, "--n must be an integer in [1, inf]"),
    (LIMIT + ["--n", "1000000000000"], 2, "--n 1000000000000 needs ~"),
    (LIMIT + ["--n", "5"], 2, "--n 5 is too small for --r 0.1"),
    (LIMIT + ["--n", "1000,100"], 2, "strictly increasing"),
    (LIMIT + ["--n", "a,b"], 2, "--n must be a comma-separated list of integers"),
    (LIMIT[:-1] + ["0"], 2, "--r must be in (0.0, 1.0]"),
    (LIMIT[:-1] + ["1.5"], 2, "--r must be in (0.0, 1.0]"),
    (LIMIT[:-1] + ["nan"], 2, "--r must be a finite number"),
    (LIMIT[:-1] + ["abc"], 2, "invalid float value: 'abc'"),
    (LIMIT[:-1] + ["1e-7"] + ["--n", "10000000"], 2, "--r 1e-07: 20 draws of the limit by rejection"),
    (LIMIT + ["--protocol", "ec"], 2, "--alpha is required for protocol 'ec'"),
    (LIMIT + ["--protocol", "ec", "--alpha", "1"], 2, "--alpha must be in [0.0, 1.0)"),
    (LIMIT + ["--protocol", "ac", "--alpha", "-0.5"], 2, "--alpha must be in [0.0, 1.0]"),
    (LIMIT + ["--protocol", "random", "--alpha", "0.5"], 2, "--alpha applies to protocols 'ec' and 'ac' only"),
    (LIMIT + ["--protocol", "nope"], 2, "--protocol must be one of"),
    (["limit", "--process", "nope", "--score", "margin", "--r", "0.1"], 2, "--process must be one of"),
    (["limit", "--process", "gaussian-logistic", "--score", "nope", "--r", "0.1"], 2, "--score must be one of"),
    (["limit", "--process", "sine-regression", "--score", "margin", "--r", "0.1"], 2, "is a regression process"),
    (LIMIT + ["--keep", "top"], 2, "--keep must be one of 'lowest', 'highest'"),
    (LIMIT + ["--reps", "0"], 2, "--reps must be an integer in [1, inf]"),
    (LIMIT + ["--seed", "-1"], 2, "--seed must be an integer in [0, inf]"),
    (LIMIT + ["--d", "0"], 2, "--d must be an integer in [1, inf]"),
    (LIMIT + ["--d", "1000"], 2, "--d 1000 needs ~"),
    (LIMIT + ["--d", "1000000"], 2, "--d 1000000 needs ~"),
    (["limit", "--process", "gaussian-logistic"], 2, "the following arguments are required: --score, --r"),
    # consistency and validity: every option, and the results folder
    (CONS + ["--n", "0"], 2, "--n must be an integer in [1, inf]"),
    (VAL + ["--n", "1000000000000"], 2, "--n 1000000000000 needs ~"),
    (VAL + ["--n", "5"], 2, "--n 5 is too small"),
    (CONS + ["--net-size", "0"], 2, "--net-size must be at least 1"),
    (CONS + ["--net-size", "1000000000"], 2, "--net-size 1000000000 needs ~"),
    (CONS + ["--net-radius", "-1"], 2, "--net-radius must be in (0.0, inf)"),
    (CONS + ["--d", "1000000"], 2, "--d must be an integer in [1, 10000]"),
    (CONS + ["--reps", "1"], 2, "--reps must be an integer in [2, inf]"),
    (CONS + ["--process", "exponential"], 2, "--d must be 1 for process 'exponential', got 2"),
    (CONS + ["--process", "exponential", "--d", "1"], 2, "declares no population-loss quadrature: population losses "
     "will use Monte Carlo; pass --method 'monte-carlo'"),
    (CONS + ["--process", "nope"], 2, "--process must be one of"),
    (VAL + ["--score", "nope"], 2, "--score must be one of"),
    (CONS + ["--protocol", "ac"], 2, "--alpha is required for protocol 'ac'"),
    (VAL + ["--r", "-0.1"], 2, "--r must be in (0.0, 1.0]"),
    (VAL + ["--keep", "middle"], 2, "--keep must be one of"),
    (CONS + ["--seed", "x"], 2, "invalid int value: 'x'"),
    (["consistency", "--results", ""], 2, "--results must name a folder, got ''"),
    (["consistency", "--results", "{file}"], 1, "exists and is not a folder"),
    (["validity", "--results", "{file}/sub"], 1, "a part of the path is a file"),
    (["consistency", "--results", "{ro}"], 1, "cannot write there"),
    # report
    (["report", "--preset", "huge", "--out", "{dir}"], 2, "--preset must be one of 'quick', 'standard', 'full'"),
    (["report", "--workers", "0", "--out", "{dir}"], 2, "--workers must be an integer in [1, inf], got 0"),
    (["report", "--workers", "-3", "--out", "{dir}"], 2, "--workers must be an integer in [1, inf]"),
    (["report", "--workers", "two", "--out", "{dir}"], 2, "invalid int value: 'two'"),
    (["report", "--scheduler", "garbage", "--out", "{dir}"], 2, "--scheduler must be an address such as"),
    (["report", "--out", ""], 2, "--out must name a folder, got ''"),
    (["report", "--out", "{file}"], 1, "exists and is not a folder"),
    (["report", "--out", "{file}/x"], 1, "a part of the path is a file"),
    (["report", "--out", "{dir_with_results_file}"], 1, "results: exists and is not a folder"),
    (["report", "--out", "{ro}"], 1, "cannot write there"),
    (["report", "--workers", "1000", "--out", "{file}"], 1, "more than the", 2),  # warns and caps, then fails
    # figures
    (["figures", "nope", "--out", "{dir}"], 2, "figure must be one of"),
    (["figures", "--size", "huge", "--out", "{dir}"], 2, "--size must be one of 'small', 'default', 'full'"),
    (["figures", "limit", "--out", "{file}"], 1, "exists and is not a folder"),
    (["figures", "limit", "--out", ""], 2, "--out must name a folder"),
    (["figures", "limit", "--out", "{ro}"], 1, "cannot write there"),
    # demo
    (["demo", "nope", "--out", "{dir}"], 2, "demo must be one of"),
    (["demo"], 2, "NAME is required (or --list)"),
    (["demo", "limit_nu_r", "--out", "{file}"], 1, "exists and is not a folder"),
    (["demo", "limit_nu_r", "--out", ""], 2, "--out must name a folder"),
    # no verb, unknown verb, unknown option
    ([], 2, "the following arguments are required: VERB"),
    (["nope"], 2, "invalid choice: 'nope'"),
    (LIMIT + ["--unknown"], 2, "unrecognized arguments: --unknown"),
]


@pytest.fixture
def paths(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    (tmp_path / "with-results-file" / "results").parent.mkdir()
    (tmp_path / "with-results-file" / "results").write_text("not a folder")
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
    else:  # chmod does not stop root: a folder no one may create (sysfs refuses, even to root)
        ro = Path("/sys/theory_sim_cli_test")
        try:
            ro.mkdir()
        except OSError:
            pass
        else:  # pragma: no cover
            ro.rmdir()
            ro = None
    yield {"dir": str(tmp_path / "out"), "file": str(tmp_path / "file"), "ro": ro and str(ro),
           "dir_with_results_file": str(tmp_path / "with-results-file")}
    if os.geteuid() != 0:
        (tmp_path / "ro").chmod(0o700)


@pytest.mark.parametrize("case", CASES, ids=[" ".join(c[0])[:70] or "(empty)" for c in CASES])
def test_cli_case(case, paths, capsys):
    argv, code, needle, lines = (*case, 1) if len(case) == 3 else case
    if "{ro}" in " ".join(argv) and paths["ro"] is None:
        pytest.skip("running as root on a machine where no folder refuses root's writes")
    argv = [a.format(**paths) for a in argv]
    try:
        got = main(argv)
    except SystemExit as exc:  # argparse's own errors
        got = exc.code
    err = capsys.readouterr().err
    assert got == code, err
    assert needle in err
    assert len(err.strip().splitlines()) == lines, err
    assert "Traceback" not in err


def test_the_table_is_large():
    assert len(CASES) >= 40
