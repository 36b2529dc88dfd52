"""Resource bounds: sizes are checked against the machine before anything is allocated, and no
sampler loops unboundedly (issue 17, item 3)."""

import os
import time

import pytest

import theory_sim as ts
from theory_sim import validation
from theory_sim.experiments._montecarlo import MonteCarloConfig
from theory_sim.experiments.limit import LimitConfig


def test_check_memory_names_the_parameter_and_the_machine():
    validation.check_memory("n", 10, 1000)  # fits
    with pytest.raises(ValueError, match=r"^n=1000 needs ~8 PiB of memory; this machine has .*; use a smaller n$"):
        validation.check_memory("n", 1000, 8 * 2**50)


def test_total_memory_falls_back_when_sysconf_does_not_know(monkeypatch):
    assert validation.total_memory() > 2**28

    def unknown(name):
        raise ValueError(name)

    monkeypatch.setattr(os, "sysconf", unknown)
    assert validation.total_memory() == 16 * 2**30


def test_sample_limit_at_a_tiny_r_stops_at_once_with_a_message():
    mu = ts.make_process("gaussian-logistic", d=2)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"r=1e-09: 10 draws .* need ~1e\+10 proposals, more than the bound"):
        ts.sample_limit(mu, ts.make_score("margin", mu), 1e-9, 10, rng=0)
    assert time.perf_counter() - start < 5


def test_limit_target_size_is_unchanged_for_the_figures_and_no_longer_grows_with_1_over_r():
    # the limit figure's configs (r = 0.1): 20 k or the floor of 200 000, as before
    assert LimitConfig(r=0.1, ns=(1_000, 10_000, 100_000, 1_000_000)).target_size() == 2_000_000
    assert LimitConfig(r=0.1, ns=(1_000, 3_000, 10_000)).target_size() == 200_000
    assert LimitConfig(r=0.01, ns=(1_000,)).target_size() == 200_000
    # a tiny r with small n: the floor costs at most 2e7 proposals, not 200 000 / r = 2e9
    assert LimitConfig(r=1e-4, ns=(10_000, 20_000)).target_size() == 2_000


@pytest.mark.parametrize("make, needle", [
    (lambda: LimitConfig(d=1000), r"^d=1000 needs ~\d+ GiB of memory"),
    (lambda: LimitConfig(ns=(10**12,)), r"^n=1000000000000 needs ~\d+ PiB"),
    (lambda: MonteCarloConfig(ns=(10**12,)), r"^n=1000000000000 needs"),
    (lambda: MonteCarloConfig(net_size=10**9), r"^net_size=1000000000 needs"),
    (lambda: MonteCarloConfig(d=10**6), r"^d must be an integer in \[1, 10000\]"),  # the Halton net would hang
])
def test_huge_sizes_are_refused_before_allocating(make, needle):
    start = time.perf_counter()
    with pytest.raises(ValueError, match=needle):
        make()
    assert time.perf_counter() - start < 1


def test_score_quantile_checks_n_mc():
    mu = ts.make_process("gaussian-mixture", d=2)
    with pytest.raises(ValueError, match="^n_mc=10000000000000 needs"):
        ts.score_quantile(mu, ts.make_score("distance", mu), 0.1, method="monte-carlo", n_mc=10**13)
