"""The report: one page and claims.json with every claim; an interrupted run resumes."""

import json

import pytest

import figures
from figures.report import CLAIMS, build_report
from theory_sim import montecarlo
from theory_sim.cli import main

VERDICTS = {"supported", "not supported", "inconclusive", "not checked"}


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    page = build_report(out, preset="quick", progress=False)
    return out, page


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
               for c in ("C1", "C2", "C3", "C5", "C6", "C7", "C9", "C10", "C12"))


@pytest.mark.slow
def test_page_is_self_contained(quick_report):
    _, page = quick_report
    text = page.read_text()
    for cid in CLAIMS:
        assert f"<b>{cid}</b>" in text
    assert text.count("data:image/png;base64,") >= 4
    assert "src=\"http" not in text and "href=\"http" not in text  # nothing fetched by the page


@pytest.mark.slow
def test_interrupted_report_resumes_without_recomputing(tmp_path, monkeypatch):
    real_build = figures.build
    built = []

    def interrupt_at_third(name, out, **kw):
        if len(built) == 2:
            raise KeyboardInterrupt
        built.append(name)
        return real_build(name, out, **kw)

    monkeypatch.setattr(figures, "build", interrupt_at_third)
    with pytest.raises(KeyboardInterrupt):
        build_report(tmp_path, preset="quick", progress=False)
    done = sorted(tmp_path.glob("results/montecarlo-*.json"))
    assert done and all(json.loads(p.read_text())["complete"] for p in done)
    assert not list(tmp_path.rglob(".*.tmp"))

    monkeypatch.setattr(figures, "build", real_build)
    calls = []
    real_rep = montecarlo._replication
    monkeypatch.setattr(montecarlo, "_replication", lambda *a: (calls.append(a[0].hash), real_rep(*a))[1])
    build_report(tmp_path, preset="quick", progress=False)
    finished_before = {json.loads(p.read_text())["config_hash"] for p in done}
    assert not finished_before & set(calls)  # nothing complete was recomputed
    assert (tmp_path / "index.html").exists()


def test_bad_preset(tmp_path, capsys):
    with pytest.raises(ValueError, match="preset must be one of 'quick', 'standard'"):
        build_report(tmp_path, preset="huge")
    assert main(["report", "--preset", "huge", "--out", str(tmp_path)]) == 2
    assert "--preset must be one of" in capsys.readouterr().err
