"""The report: one page and claims.json with every claim; an interrupted run resumes.

The register and its criteria are :mod:`theory_sim.claims`; :func:`theory_sim.claims.assess`
is tested here on stand-in evidence (fast), and the structure of a quick report's claims.json
on the real thing (slow)."""

import json
import shutil
import subprocess

import numpy as np
import pytest

import figures
from figures.report import build_report
from theory_sim.claims import CLAIMS, EVIDENCE, VERDICTS as REGISTER_VERDICTS, assess, evaluate
from theory_sim.cli import main

VERDICTS = {"supported", "not supported", "inconclusive", "not checked"}


@pytest.mark.slow
def test_claims_json_has_every_claim(quick_report):
    out, _ = quick_report
    payload = json.loads((out / "claims.json").read_text())
    assert list(payload["claims"]) == [f"C{i}" for i in range(1, 13)] == list(CLAIMS)
    for cid, claim in payload["claims"].items():
        assert claim["verdict"] in VERDICTS, cid
        assert claim["statement"]
        if claim["verdict"] != "not checked":
            assert claim["criterion"] and "numbers" in claim, cid
            assert claim["command"].startswith(("theory-sim", "proofs-check")), cid
        else:
            assert "no landed part" in claim["note"]
    # the claims the landed engine checks are evaluated, not left blank
    assert all(payload["claims"][c]["verdict"] != "not checked"
               for c in ("C1", "C2", "C3", "C5", "C6", "C7", "C8", "C9", "C10", "C12"))
    # the real-data headline is reported in its own section, with a number per (dataset, r ≤ 0.3, SBPA variant)
    real = payload["other_checks"]["real data"]
    assert real["verdict"] == "reported" and real["figure"] == "real_data"
    from theory_sim.experiments.real_data import configs

    expected = sum(2 for cfg in configs("small").values() for r in cfg.rs if r <= 0.3)
    assert len(real["numbers"]) == expected


# The structure of claims.json: top-level keys, each entry's keys in order, and the keys of the
# numbers of each claim that an experiment decides (the exact checks' evidence is proofs_check's).
ENTRY_KEYS = ["claim", "statement", "verdict", "criterion", "numbers", "figure", "command", "exact_check"]
# a statistical verdict also states its margin, its power at the measured variance, the smallest deviation it
# detects, its tests and its negative controls (issue 12; docs/theory.md, "Statistics")
DECIDED_KEYS = ["claim", "statement", "verdict", "criterion", "margin", "power", "min_detectable", "tests", "controls",
                "numbers", "figure", "command", "exact_check"]
DECIDED = ("C1", "C2", "C3", "C4", "C5", "C6", "C8", "C10", "C11")
EXACT_ENTRY_KEYS = ["claim", "statement", "exact_check", "verdict", "criterion", "numbers", "command"]
NUMBER_KEYS = {
    "C1": ["slope_to_nu_r", "slope_ci", "n_max", "gap_to_nu_r", "gap_to_mu", "threshold", "q_r", "threshold_z",
           "threshold_z_se", "scaled_gap_by_n", "scaled_gap_se_by_n", "law_e_max_by_n", "law_slope"],
    "C2": ["delta_inf", "n_max", "delta_n", "stderr"],
    "C3": ["slope", "slope_ci"],
    "C4": [],
    "C5": ["r=0.1", "r=0.3"],
    "C6": ["r=0.1", "r=0.3"],
    "C7": ["theta0", "grad_nu_norm", "grad_mu_norm", "hessian_nu_min_eig", "L_nu", "L_mu", "validity_gap",
           "width_validity_excess"],
    "C8": ["r=0.1", "r=0.2", "r=0.3"],
    "C10": ["slope", "slope_ci"],
    "C11": ["delta_inf_ac", "n_max", "delta_n", "stderr"],
}
C8_KEYS = ["random_slope", "random_slope_ci", "sbpa_hard_tail_slope", "sbpa_hard_tail_ci", "predicted_tail_slope",
           "sbpa_hard_excess_at_n_max", "predicted_at_n_max", "V_inf", "n_star", "n_star_ci95", "n_star_predicted",
           "failed"]


@pytest.mark.slow
def test_claims_json_structure_is_unchanged(quick_report):
    out, _ = quick_report
    payload = json.loads((out / "claims.json").read_text())
    assert list(payload) == ["preset", "size", "versions", "seconds", "claims", "other_checks", "result_files"]
    assert (payload["preset"], payload["size"]) == ("quick", "small")
    # every result file the numbers came from, each with the checksum its content matches
    files = payload["result_files"]
    assert sorted(files) == sorted(p.name for p in (out / "results").glob("*.json"))
    assert all(isinstance(v, str) and len(v) == 64 for v in files.values())
    for cid, keys in NUMBER_KEYS.items():
        entry = payload["claims"][cid]
        assert list(entry) == (DECIDED_KEYS if cid in DECIDED else ENTRY_KEYS), cid
        assert list(entry["numbers"]) == keys, cid
        assert entry["statement"] == CLAIMS[cid]
    for cid in ("C9", "C12"):  # decided by their exact check
        assert list(payload["claims"][cid]) == EXACT_ENTRY_KEYS, cid
    assert list(payload["claims"]["C5"]["numbers"]["r=0.1"]) == ["v_inf", "v_n", "slope", "slope_ci"]
    assert list(payload["claims"]["C6"]["numbers"]["r=0.1"]) == ["v_inf", "v_n"]
    assert all(list(v) == C8_KEYS for v in payload["claims"]["C8"]["numbers"].values())
    assert list(payload["claims"]["C7"]["numbers"]["width_validity_excess"])[0].startswith("sine-regression, ")
    assert sorted(payload["other_checks"]) == ["MNIST-1D", "alpha choice", "gap law", "perceptron", "phase diagram",
                                              "policies", "real data"]
    for key in ("real data", "MNIST-1D", "policies", "perceptron", "phase diagram", "gap law"):
        assert list(payload["other_checks"][key]) == ["title", "statement", "verdict", "criterion", "numbers",
                                                      "figure", "command"]
    assert list(payload["other_checks"]["alpha choice"]) == ["title", "statement"] + DECIDED_KEYS[2:-1]  # a decision


class _Proof:
    def __init__(self, verdict, method="sympy"):
        self.verdict, self.method, self.evidence = verdict, method, {"summary": verdict}


def _entry(verdict, **numbers):
    return {"verdict": verdict, "criterion": "stand-in", "numbers": dict(numbers), "figure": "f", "command": "c"}


def test_assess_combines_evidence_and_exact_checks():
    evidence = {"new_minima": {"C7": _entry("supported", a=1.0)},
                "width_validity": {"C7 (width)": _entry("not supported", b=2.0)},
                "real_data": {"real data": _entry("reported")},
                "landscape": {}}
    proofs = {"C7": _Proof("numeric-only", "numeric test"), "C9": _Proof("pass"), "C12": _Proof("fail"),
              "C3": _Proof("numeric-only", "numeric test")}
    claims, other = assess(evidence, proofs)
    assert list(claims) == list(CLAIMS)
    assert {c["verdict"] for c in claims.values()} <= set(REGISTER_VERDICTS)
    # C7: both criteria must hold; the width numbers are nested, the criteria joined
    c7 = claims["C7"]
    assert c7["verdict"] == "not supported" and c7["criterion"] == "stand-in; and stand-in"
    assert c7["numbers"] == {"a": 1.0, "width_validity_excess": {"b": 2.0}}
    assert c7["exact_check"]["method"] == "numeric test" and c7["exact_check"]["verdict"] == "numeric-only"
    # a claim no experiment decides takes its exact check's verdict, when there is one
    assert claims["C9"]["verdict"] == "supported" and claims["C9"]["command"] == "proofs-check --only C9"
    assert claims["C12"]["verdict"] == "not supported"
    assert claims["C3"]["verdict"] == "not checked" and "no landed part" in claims["C3"]["note"]
    assert claims["C3"]["exact_check"]["verdict"] == "numeric-only"
    assert other == {"real data": evidence["real_data"]["real data"]}
    # the width part alone stands for C7
    claims, _ = assess({"width_validity": {"C7 (width)": _entry("supported")}}, {})
    assert claims["C7"]["verdict"] == "supported" and claims["C7"]["figure"] == "f"


def test_evaluate_knows_every_experiment_with_evidence():
    assert evaluate("landscape", object()) == {}
    assert set(EVIDENCE) <= set(figures.REGISTRY)


@pytest.mark.slow
def test_page_is_self_contained(quick_report):
    _, page = quick_report
    text = page.read_text()
    for cid in CLAIMS:
        assert f"<b>{cid}</b>" in text
    assert text.count("data:image/png;base64,") >= 4
    assert "src=\"http" not in text and "href=\"http" not in text  # nothing fetched by the page


def test_bad_preset(tmp_path, capsys):
    with pytest.raises(ValueError, match="preset must be one of 'quick', 'standard'"):
        build_report(tmp_path, preset="huge")
    assert main(["report", "--preset", "huge", "--out", str(tmp_path)]) == 2
    assert "--preset must be one of" in capsys.readouterr().err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Flags for a sandboxed, offline machine: no GPU, no sandbox (root in CI), and no background
# networking, whose refused connections otherwise stall the start-up.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def _pixels_of(rgb, image, tol=0.02):
    """Number of pixels within ``tol`` (per channel, in [0, 1]) of the colour ``rgb`` (hex)."""
    target = np.array([int(rgb[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return int(np.all(np.abs(image[..., :3] - target) <= tol, axis=-1).sum())


def _screenshot(page, tmp_path, name):
    from matplotlib.image import imread

    shot = tmp_path / f"{name}.png"
    subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
                    "--window-size=1400,6000", page.resolve().as_uri()],
                   capture_output=True, timeout=120, check=True)
    return imread(shot)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: .ci/run installs Debian's package where it can")
def test_page_renders_in_headless_chromium(quick_report, tmp_path):
    """Chromium renders the page: the verdict colours and the embedded figures are on screen."""
    import re

    _, page = quick_report
    image = _screenshot(page, tmp_path, "page")
    assert image.shape[:2] == (6000, 1400)
    payload = json.loads((page.parent / "claims.json").read_text())
    verdicts = {c["verdict"] for c in payload["claims"].values()}
    # The verdict words are drawn in their colour (report._html): every verdict on the page shows.
    colours = {"supported": "#009E73", "not supported": "#D55E00", "inconclusive": "#E69F00",
               "not checked": "#999999"}
    # > 20 pixels: one verdict word in bold 13 px covers a few hundred pixels of its colour; 20
    # leaves room for antialiasing while a missing word, or a page that did not render, gives 0.
    for verdict in verdicts:
        assert _pixels_of(colours[verdict], image) > 20, verdict
    # The figures are decoded and drawn: the first colour of the figures' cycle (style.mplstyle),
    # which no text of the page uses, covers many pixels. Control: the same page with its images
    # emptied shows (almost) none, so the count comes from the figures.
    drawn = _pixels_of("#0072B2", image, tol=0.08)
    blank = tmp_path / "blank.html"
    blank.write_text(re.sub(r'src="data:image/png;base64,[^"]*"', 'src=""', page.read_text()))
    control = _pixels_of("#0072B2", _screenshot(blank, tmp_path, "blank"), tol=0.08)
    # the factor 10 over a floor of 30 pixels of stray antialiasing keeps the test meaningful if a
    # figure changes
    assert control < 50 and drawn > 10 * max(control, 30), (drawn, control)


@pytest.mark.slow
def test_two_worker_processes_give_the_same_report(quick_report, tmp_path):
    """Figures built in two spawned processes: same verdicts and the same numbers, bit for bit."""
    out, _ = quick_report
    build_report(tmp_path, preset="quick", progress=False, workers=2)
    one = json.loads((out / "claims.json").read_text())
    two = json.loads((tmp_path / "claims.json").read_text())
    for cid in CLAIMS:
        assert one["claims"][cid].get("verdict") == two["claims"][cid].get("verdict"), cid
        assert one["claims"][cid].get("numbers") == two["claims"][cid].get("numbers"), cid
    assert one["other_checks"] == two["other_checks"]
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == sorted(p.name for p in (out / "results").iterdir())


class _Chosen(Exception):
    pass


@pytest.mark.parametrize("executor", [None, "local"])
def test_local_runs_use_worker_processes(tmp_path, monkeypatch, executor):
    """The CLI passes a LocalExecutor: with workers > 1 the figures still go to worker processes."""
    from figures import report
    from theory_sim.executors import LocalExecutor

    def chosen(*args, **kwargs):
        raise _Chosen

    monkeypatch.setattr(report, "_build_in_processes", chosen)
    with pytest.raises(_Chosen):
        build_report(tmp_path, preset="quick", progress=False, workers=2,
                     executor=LocalExecutor() if executor == "local" else None)


def test_remote_executor_builds_in_this_process(tmp_path, monkeypatch):
    from figures import report

    class Remote:  # stands for a DaskExecutor: the figures are built here, the experiments go there
        def map(self, fn, items):
            return [fn(item) for item in items]

    def in_process(*args, **kwargs):
        raise _Chosen

    monkeypatch.setattr(report, "_build_in_processes", lambda *a, **k: pytest.fail("worker processes used"))
    monkeypatch.setattr(figures, "build", in_process)
    with pytest.raises(_Chosen):
        build_report(tmp_path, preset="quick", progress=False, workers=2, executor=Remote())


@pytest.mark.slow
def test_every_entry_has_its_section_and_the_summary_is_short(quick_report):
    """Each entry of the quick report is presented by its registered section (no fall-back), and
    every decimal number of the summary has at most 4 significant digits (figures/sections.py)."""
    import re

    from figures.sections import SECTIONS

    out, page = quick_report
    payload = json.loads((out / "claims.json").read_text())
    for key, entry in {**payload["claims"], **payload["other_checks"]}.items():
        if entry["verdict"] != "not checked":
            assert SECTIONS[key].rows(entry), key  # raises if the section does not fit its entry
    summary = re.search(r'<div id="summary">(.*?)</div>', page.read_text(), re.S).group(1)
    assert all(f"<b>{cid}</b>" in summary for cid in CLAIMS)
    decimals = [m.group(1) for m in re.finditer(r"(\d+\.\d+)", re.sub(r"<[^>]+>", " ", summary))]
    assert decimals and all(len(d.replace(".", "").lstrip("0")) <= 4 for d in decimals), decimals


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: .ci/run installs Debian's package where it can")
def test_summary_fits_one_screen(quick_report, tmp_path):
    """At 1400×900 the last row of the claims' summary is on screen. Its cells are painted a colour
    no page uses; control: pushed down by one screen height, the colour is gone."""
    _, page = quick_report
    mark = ".ts-summary tr:last-child td{background:#ff00ff !important}</style>"
    text = page.read_text().replace("</style>", mark.replace(".ts-summary", "#summary .ts-summary"), 1)
    marked, pushed = tmp_path / "marked.html", tmp_path / "pushed.html"
    marked.write_text(text)
    pushed.write_text(text.replace("<body>", '<body><div style="height:900px"></div>', 1))

    def shot(path):
        from matplotlib.image import imread

        png = tmp_path / f"{path.stem}.png"
        subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
                        "--window-size=1400,900", path.resolve().as_uri()], capture_output=True, timeout=120, check=True)
        return imread(png)

    # a table row is ≥ 20 px high and ≥ 1000 px wide at this size: thousands of pixels
    assert _pixels_of("#ff00ff", shot(marked)) > 5000
    assert _pixels_of("#ff00ff", shot(pushed)) == 0


def test_every_statistical_verdict_states_margin_power_and_a_failing_control(quick_report):
    """Issue 12: each statistical verdict is an equivalence decision with its power, and each of its negative
    controls (a deliberately wrong world at the preset's own size) comes out 'not supported', or 'inconclusive'
    with the reason stated. Nothing is recomputed: the quick report's claims.json is read."""
    out, page = quick_report
    claims = json.loads((out / "claims.json").read_text())["claims"]
    for cid in DECIDED:
        entry = claims[cid]
        assert entry["verdict"] in ("supported", "not supported", "inconclusive"), cid
        assert 0.0 <= entry["power"] <= 1.0 and entry["margin"] and entry["controls"], cid
        assert "contains" not in entry["criterion"] and "standard errors" not in entry["criterion"], cid
        for test in entry["tests"]:
            if "estimate" in test:  # the rule: inside the margin, outside, or neither
                inside = test["target"] - test["margin"] <= test["ci_low"] and test["ci_high"] <= test["target"] + \
                    test["margin"]
                outside = test["ci_high"] < test["target"] - test["margin"] or test["ci_low"] > test["target"] + \
                    test["margin"]
                assert test["verdict"] == ("supported" if inside else "not supported" if outside else "inconclusive")
        for control in entry["controls"]:
            assert control["verdict"] != "supported", (cid, control["world"])
            if control["verdict"] == "inconclusive":
                assert "smallest deviation this preset detects" in control["note"], (cid, control["world"])
    # the ones whose wrong world is far off are refuted at the quick size already
    refuted = {cid: [c["verdict"] for c in claims[cid]["controls"]] for cid in DECIDED}
    assert refuted["C3"] == refuted["C10"] == ["not supported"]
    assert refuted["C2"][0] == refuted["C11"][0] == "not supported"
    assert "negative control" in page.read_text()
