"""Golden values of ``proofs_check`` (``proofs_check/golden/*.json``, written by
``python -m proofs_check.make_golden``): they regenerate, and ``theory_sim`` agrees with them.

Sources and tolerances:

* regeneration: the stored 50-digit strings must match a fresh computation to 45 significant
  digits (the last digits may depend on the mpmath version); fractions exactly;
* ``score_quantile``: relative 1e-12 for the exponential closed form (−log1p(−p)/λ in
  float64), 1e-10 for the folded normal and EL2N roots (Brent's method to ~1e-15 on a CDF
  computed to ~1e-13);
* ``population_loss`` (quadrature, stated accuracy 1e-10): L_{ν_r}(θ*) to 1e-10, and a 5-point
  finite-difference gradient (h = 1e-3, truncation ~1e-12, quadrature error amplified by 1/h
  to ≤ 1e-7) to 1e-6.
"""

from __future__ import annotations

import json
from fractions import Fraction

import mpmath
import numpy as np
import pytest

import theory_sim as ts
from proofs_check import make_golden
from proofs_check.logistic import theory_sim_gradient

GOLDEN = {name: json.loads((make_golden.GOLDEN_DIR / name).read_text(encoding="utf-8"))
          for name in ("c1_quantiles.json", "c5_c6_logistic.json", "c9_nfl.json", "p1_p4_policies.json")}


def _entries(file, **match):
    return [e for e in GOLDEN[file]["entries"] if all(e.get(k) == v for k, v in match.items())]


def _same(stored: str, fresh: str, digits: int = 45) -> bool:
    if "/" in stored or "/" in fresh or stored.lstrip("-").isdigit():
        return Fraction(stored) == Fraction(fresh)
    with mpmath.workdps(60):
        a, b = mpmath.mpf(stored), mpmath.mpf(fresh)
        return a == b or abs(a - b) <= mpmath.mpf(10) ** (-digits) * max(abs(a), abs(b))


@pytest.mark.slow
def test_golden_files_regenerate():
    fresh = make_golden.build()
    assert set(fresh) == set(GOLDEN)
    for name, payload in fresh.items():
        stored = GOLDEN[name]
        assert payload["generator"] == stored["generator"] == "python -m proofs_check.make_golden"
        assert len(payload["entries"]) == len(stored["entries"]), name
        for new, old in zip(payload["entries"], stored["entries"]):
            assert {k: v for k, v in new.items() if k != "value"} == {k: v for k, v in old.items() if k != "value"}
            assert _same(old["value"], new["value"]), (name, old, new["value"])


def test_every_golden_entry_cites_its_equation():
    for payload in GOLDEN.values():
        assert payload["entries"]
        for entry in payload["entries"]:
            assert entry["equation"] and entry["value"]


def test_write_goes_where_asked(tmp_path, monkeypatch):
    monkeypatch.setattr(make_golden, "build", lambda: {"x.json": {"entries": []}})
    paths = make_golden.write(tmp_path / "g")
    assert [p.name for p in paths] == ["x.json"] and json.loads(paths[0].read_text()) == {"entries": []}


@pytest.mark.parametrize("entry", _entries("c1_quantiles.json", process="exponential"),
                         ids=lambda e: f"rate{e['params']['rate']}-r{e['r']}-{e['keep']}")
def test_exponential_quantile_matches_golden(entry):
    mu = ts.make_process("exponential", rate=float(entry["params"]["rate"]))
    q = ts.score_quantile(mu, ts.make_score("distance", mu), float(entry["r"]), keep=entry["keep"])
    np.testing.assert_allclose(q.value, float(entry["value"]), rtol=1e-12)


@pytest.mark.parametrize("entry", _entries("c1_quantiles.json", process="gaussian-logistic"),
                         ids=lambda e: f"r{e['r']}-{e['keep']}")
def test_margin_quantile_matches_golden(entry):
    p = entry["params"]
    mu = ts.make_process("gaussian-logistic", d=p["d"], w_star=np.array([float(v) for v in p["w_star"]]),
                         b_star=float(p["b_star"]))
    q = ts.score_quantile(mu, ts.make_score("margin", mu), float(entry["r"]), keep=entry["keep"])
    np.testing.assert_allclose(q.value, float(entry["value"]), rtol=1e-10)


def _logistic_cases():
    out = {}
    for e in GOLDEN["c5_c6_logistic.json"]["entries"]:
        out.setdefault((e["score"], e["keep"], e["r"]), {})[e["name"]] = float(e["value"])
    return out


@pytest.mark.parametrize("key", sorted(_logistic_cases()), ids=lambda k: f"{k[0]}-{k[1]}-r{k[2]}")
def test_population_loss_and_threshold_match_golden(key):
    score, keep, r = key
    gold = _logistic_cases()[key]
    mu = ts.make_process("gaussian-logistic", d=1, w_star=np.array([2.0]), b_star=0.5)
    q = ts.score_quantile(mu, ts.make_score(score, mu), float(r), keep=keep)
    np.testing.assert_allclose(q.value, gold["threshold"], rtol=1e-10)
    loss, grad = theory_sim_gradient(score, float(r), keep)
    np.testing.assert_allclose(loss, gold["loss_nu_at_theta_star"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(grad, [gold["grad_w"], gold["grad_b"]], rtol=0, atol=1e-6)


def test_nfl_golden_values_are_exact_fractions():
    for e in GOLDEN["c9_nfl.json"]["entries"]:
        value = Fraction(e["value"])
        # every value is an expected 0-1 error = ½ × the unseen mass under the uniform prior on
        # label functions (proofs_check/nfl.py, "The bound"), hence in [0, ½]
        assert 0 <= value <= Fraction(1, 2)
    rand = {e["n"]: Fraction(e["value"]) for e in _entries("c9_nfl.json", name="err_random_finite")}
    assert rand[8] == Fraction(1, 2) * Fraction(3, 4) ** 4  # ½ (1 − 1/K)^⌊r n⌋, K = 4, r = 1/2


def test_policy_profiles_match_golden():
    """theory_sim's P1 profile (poisson_profile) and P4's AC special case (protocol_profile) take the
    exact values of proofs_check/golden/p1_p4_policies.json (relative 1e-12: the profile's mass is a
    numerical integral of a step function)."""
    from fractions import Fraction

    from theory_sim.core.selection_laws import poisson_profile, protocol_profile

    mu = [Fraction(v) for v in _entries("p1_p4_policies.json", name="p1_density")[0]["mu"]]
    pi = [float(Fraction(v)) for v in _entries("p1_p4_policies.json", name="p1_density")[0]["pi"]]
    edges = np.cumsum([0.0] + [float(u) for u in mu])
    prof = poisson_profile(lambda t: np.asarray(pi)[np.clip(np.searchsorted(edges, t) - 1, 0, 2)], edges=tuple(edges))
    for entry in _entries("p1_p4_policies.json", name="p1_density"):
        j = entry["point"]
        got = float(prof(np.array([(edges[j] + edges[j + 1]) / 2]))[0])
        assert got == pytest.approx(float(Fraction(entry["value"])), rel=1e-12)
    (inside,) = _entries("p1_p4_policies.json", name="p4_ac_inside")
    (outside,) = _entries("p1_p4_policies.json", name="p4_ac_outside")
    ac = protocol_profile("ac", 0.3, 0.5)
    assert ac(np.array([0.1]))[0] == pytest.approx(float(Fraction(inside["value"])), rel=1e-12)
    assert ac(np.array([0.9]))[0] == pytest.approx(float(Fraction(outside["value"])), rel=1e-12)
