"""The phase_diagram experiment (docs/theory.md, "Phase diagrams"): the logistic quadrature against independent
computations, the line's boundary against scaling_laws', the verdict rule with its shifted-boundary control, the
experiment at tiny and small size, bad input."""

import math

import numpy as np
import pytest

from theory_sim.core.processes import make_process
from theory_sim.core.scores import make_score
from theory_sim.experiments import phase_diagram as pd
from theory_sim.experiments.scaling_laws import predicted_crossover
from theory_sim.models.logistic_prediction import logistic_design, logistic_excess
from theory_sim.models.population import population_loss

MU = make_process("gaussian-logistic")


def test_logistic_excess_equals_population_quadrature():
    # source: population_loss, an independent quadrature (trapezoid in the orthogonal coordinate, error ≤ 1e-10)
    thetas = np.array([[2.0, 1.0, 0.5], [1.0, 0.5, 0.0], [3.0, -1.0, 1.0], [-5.0, 2.0, 1.0], [0.0, 0.0, 0.0]])
    ref = population_loss(MU, thetas, method="quadrature").values
    np.testing.assert_allclose(logistic_excess(MU, thetas), ref - ref[0], atol=1e-9)


def test_random_constant_is_d_plus_one_over_two_and_label_free_limit_is_the_truth():
    # source: closed form — well specified, Σ_µ = H_µ, so ½ tr(H H⁻¹ Σ H⁻¹) = (d + 1)/2; a label-free region keeps
    # P(y | x), so θ* minimises L_ν and V_∞ = 0 (docs/theory.md, "Phase diagrams")
    margin = make_score("margin", MU)
    assert abs(logistic_design(MU, margin, "random", 0.5).constant - 1.5) < 1e-9
    for r in (0.1, 0.5, 0.9):
        d = logistic_design(MU, margin, "sbpa-hard", r)
        np.testing.assert_allclose(d.theta, [2.0, 1.0, 0.5], atol=1e-9)
        assert d.v_inf < 1e-12


def test_sandwich_constant_against_monte_carlo():
    # source: an independent Monte Carlo of H_ν and Σ_ν from 4·10⁵ draws of µ restricted to A_r (margin |u*| ≤ q_r,
    # keep-hard, r = 0.5); the Monte Carlo constant has a relative standard error ≈ 1% here, the check allows 6%
    # (false-failure rate < 1e-6 for a normal estimate)
    margin = make_score("margin", MU)
    r = 0.5
    d = logistic_design(MU, margin, "sbpa-hard", r)
    rng = np.random.default_rng(5)
    data = MU.sample(400_000, rng=rng)
    g = margin(data.x)
    keep = g <= np.quantile(g, r)
    phi = np.c_[data.x, np.ones(len(g))]
    p = 1.0 / (1.0 + np.exp(-(phi @ d.theta)))
    h_mu = (phi * (p * (1 - p))[:, None]).T @ phi / len(g)
    k_phi, k_res = phi[keep], (p - data.y)[keep]
    h_nu = (k_phi * (p * (1 - p))[keep][:, None]).T @ k_phi / keep.sum()
    sigma = (k_phi * (k_res**2)[:, None]).T @ k_phi / keep.sum()
    hinv = np.linalg.inv(h_nu)
    mc = 0.5 * np.trace(h_mu @ hinv @ sigma @ hinv)
    assert abs(mc / d.constant - 1) < 0.06, (mc, d.constant)


def test_line_boundary_is_scaling_laws_prediction():
    # source: scaling_laws.predicted_crossover (V_∞ plus the O(1/n) terms by quadrature), reused, not copied
    cfg = pd.PhaseConfig(setting="line", rs=(0.1, 0.3, 0.5), ns=(100, 1000, 100000), reps=2)
    got = pd.predicted_boundary(cfg)
    for r in cfg.rs:
        assert got[r]["sbpa-hard"] == predicted_crossover(pd._line_config(cfg, r), r, "sbpa-hard", per_decade=30)


def _c(status, star, lo, hi, predicted_status="crossover", predicted=1000.0):
    return {"r": 0.3, "status": status, "n_star": star, "ci_low": lo, "ci_high": hi,
            "boot_fraction": 1.0 if status == "crossover" else 0.0,
            "predicted_status": predicted_status, "predicted_n_star": predicted}


def test_agreement_rule_and_its_shifted_control():
    inside = _c("crossover", 1200.0, 600.0, 2500.0)
    assert pd.agrees(inside) is True
    assert pd.agrees(inside, 10.0, 1e5) is False and pd.agrees(inside, 0.1, 1e5) is False  # the control rejects
    assert pd.agrees(_c("crossover", 1200.0, 1100.0, 1300.0)) is False  # prediction outside the interval
    assert pd.agrees(_c("never-better", math.nan, math.nan, math.nan)) is False  # status differs
    assert pd.agrees(_c("never-better", math.nan, math.nan, math.nan, "never-better", math.nan)) is True
    # a shift beyond the range turns the predicted status into 'no-crossover-in-range'
    far = _c("no-crossover-in-range", math.nan, math.nan, math.nan, "crossover", 5e4)
    assert pd.agrees(far) is False and pd.agrees(far, 10.0, 1e5) is True
    # a measured status that fewer than 90% of the bootstrap resamples share decides nothing
    assert pd.agrees({**inside, "boot_fraction": 0.6}) is None
    assert pd.agrees({**_c("never-better", math.nan, math.nan, math.nan, "never-better", math.nan),
                      "boot_fraction": 0.3}) is None
    assert pd.agrees(_c("crossover", 1.0, 1.0, 1.0, None, math.nan)) is None
    assert pd.agrees(_c("crossover", 1.0, 1.0, 1.0, "undetermined", math.nan)) is None


def test_tiny_runs_every_setting(tmp_path):
    res = pd.PhaseResults({name: pd.run_phase_diagram(cfg, results_dir=tmp_path) for name, cfg in
                           pd.configs("tiny").items()})
    for name, result in res.results.items():
        cfg = result.config
        assert result.excess.shape == (len(cfg.rs), len(pd.STRATEGIES), len(cfg.ns), cfg.reps)
        assert np.isfinite(result.excess).all() and (result.excess >= -1e-12).all()
        assert ((result.alpha >= 0) & (result.alpha <= 1)).all()
        assert (result.predicted is None) == (name == "mlp")
    again = pd.run_phase_diagram(pd.configs("tiny")["line"], results_dir=tmp_path)  # reused: same bits
    assert np.array_equal(again.excess, res.results["line"].excess)


@pytest.mark.slow
def test_small_size_boundary_agrees_and_control_is_rejected(tmp_path):
    # The small size (30 replications, n = 10², 10³, 10⁴): each quadrature setting agrees at more r than it
    # disagrees, and the boundary shifted ×10 / ÷10 is rejected at ≥ 2 r (fixed seeds; the bootstrap intervals are
    # 95%, so a correct boundary fails at one r with probability ≈ 5%, which the majority rule tolerates)
    from theory_sim.claims import evaluate
    from theory_sim.experiments import run

    res = run("phase_diagram", "small", results_dir=tmp_path)
    _, per_setting, shifted = pd.agreement(res)
    assert set(per_setting) == {"line", "logistic-margin", "logistic-loss"}
    for name, (agree, disagree) in per_setting.items():
        assert agree > disagree, (name, agree, disagree)
    assert sum(shifted) >= 2
    entry = evaluate("phase_diagram", res)["phase diagram"]
    assert entry["verdict"] in ("supported", "inconclusive")


@pytest.mark.parametrize("kwargs, match", [
    (dict(setting="ridge"), "setting"),
    (dict(rs=(0.05,), ns=(20, 40, 80)), "too small"),
    (dict(ns=(100, 1000)), "ns"),
    (dict(reps=1), "reps"),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pd.PhaseConfig(**kwargs)


def test_figures_workers_flag_rejects_zero(tmp_path, capsys):
    from theory_sim.cli import main

    assert main(["figures", "phase_diagram", "--size", "small", "--workers", "0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "workers" in err[0]
