"""``theory-sim report --study FILE.toml`` (figures/study.py): a study names a plug-in file's objects."""

import json
import sys

import pytest

import theory_sim as ts
from theory_sim.cli import main


@pytest.fixture(autouse=True)
def forget_the_plugin():
    yield  # a plug-in file's names stay registered in this process: remove them for the other tests
    for name in ("study-first", "study-first-bad"):
        if name in ts.SCORES and not ts.SCORES.builtin(name):
            ts.SCORES.unregister(name)
    sys.modules.pop("theory_sim_plugin_study_plugin", None)

PLUGIN = '''
from dataclasses import dataclass
import numpy as np
import theory_sim as ts


@dataclass(frozen=True, eq=False)
class FirstCoordinate(ts.Score):
    def values(self, x, y):
        return x[:, 0]


ts.register_score("study-first", lambda process=None, **kw: FirstCoordinate("study-first", True, "lowest", dim=2))
'''

STUDY = '''title = "first coordinate"
plugins = ["study_plugin.py"]
processes = ["gaussian-logistic"]
scores = ["study-first", "margin"]
policies = ["sbpa"]
r = 0.5
sizes = [400, 1600]
reps = 2
net_size = 8
n_mc = 20000
'''


def test_study_report_writes_the_page_and_claims(tmp_path, capsys):
    (tmp_path / "study_plugin.py").write_text(PLUGIN)
    (tmp_path / "study.toml").write_text(STUDY)
    code = main(["report", "--study", str(tmp_path / "study.toml"), "--out", str(tmp_path / "out"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    claims = json.loads((tmp_path / "out" / "claims.json").read_text())["claims"]
    assert set(claims) == {"gaussian-logistic / study-first / logistic / sbpa r=0.5",
                           "gaussian-logistic / margin / logistic / sbpa r=0.5"}
    # auto: the user's score has no exact law, so Monte Carlo; margin keeps the quadrature
    assert claims["gaussian-logistic / study-first / logistic / sbpa r=0.5"]["numbers"]["method"] == "monte-carlo"
    assert claims["gaussian-logistic / margin / logistic / sbpa r=0.5"]["numbers"]["method"] == "quadrature"
    for entry in claims.values():  # decided as the claim register decides: equivalence tests, power, controls
        assert entry["verdict"] in ("supported", "not supported", "inconclusive")
        assert entry["tests"] and entry["controls"] and 0 <= entry["power"] <= 1 and "±" in entry["margin"]
        assert all(c["verdict"] != "supported" for c in entry["controls"])  # no wrong world passes
    page = (tmp_path / "out" / "index.html").read_text()
    assert "study-first" in page and "data:image/png;base64," in page


@pytest.mark.parametrize("text, needle", [
    ("processes = ['gaussian-logistic']\n", "study key 'scores' is required"),
    ("colour = 1\n", "study key 'colour' is unknown"),
    (STUDY.replace('"sbpa"', '"nope"').replace('plugins = ["study_plugin.py"]\n', "").replace('"study-first", ', ""),
     "protocol must be one of"),
    (STUDY.replace("r = 0.5", "r = 0.5\nmethod = \"quadrature\"").replace(
        'plugins = ["study_plugin.py"]\n', 'plugins = ["study_plugin.py"]\n'), "pass method='monte-carlo'"),
    ("processes = [", "not TOML"),
])
def test_a_bad_study_is_one_line_and_exit_2(tmp_path, capsys, text, needle):
    (tmp_path / "study_plugin.py").write_text(PLUGIN.replace("study-first", "study-first-bad"))
    (tmp_path / "study.toml").write_text(text.replace("study-first", "study-first-bad"))
    code = main(["report", "--study", str(tmp_path / "study.toml"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and err.count("\n") == 1, err
