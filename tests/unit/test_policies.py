"""Pruning policies (theory_sim.core.policies) and the four registries.

The four protocols became policies without changing a number: every output of ``prune`` over a
grid of 1152 cases (seeds, n, ties or not, r, α, keep) and the Generator's state after it hash
to the digest the pre-refactor code (commit 89eeec7, ``prune`` in core/pruning.py) gave.
"""

import hashlib
import itertools

import numpy as np
import pytest

import theory_sim as ts
from theory_sim.core.policies import MU, RegionLimit, Selection, get_policy

# SHA-256 of the grid below, computed with the pre-refactor prune at commit 89eeec7.
OLD_DIGEST = "e3bfcf6e7ee697cdfd7b12394e327b3f813aa9c7bea218f460ff3bd0a5972357"


def _cases():
    for seed, n in itertools.product(range(4), (1, 7, 100, 1001)):
        base = np.random.default_rng(1000 + seed)
        for kind in ("continuous", "ties"):
            g = base.standard_normal(n) if kind == "continuous" else base.integers(0, 4, n).astype(float)
            for r in (0.05, 0.3, 1.0):
                if int(r * n) < 1:
                    continue
                for protocol, alpha in (("random", None), ("sbpa", None), ("ec", 0.0), ("ec", 0.5), ("ec", 0.9),
                                        ("ac", 0.0), ("ac", 0.5), ("ac", 1.0)):
                    for keep in ("lowest", "highest"):
                        yield g, r, protocol, alpha, keep, seed


def test_the_four_protocols_as_policies_change_no_number():
    h, count = hashlib.sha256(), 0
    for g, r, protocol, alpha, keep, seed in _cases():
        rng = np.random.default_rng(seed)
        sel = ts.prune(g, r, protocol, alpha=alpha, keep=keep, rng=rng)
        for arr in (sel.indices, sel.weights, sel.signal,
                    np.array([sel.threshold, sel.alpha, sel.k, sel.k_signal, sel.n]), rng.random(2)):
            h.update(np.ascontiguousarray(arr).tobytes())
        count += 1
    assert count == 1152
    assert h.hexdigest() == OLD_DIGEST


def test_builtin_policies_declare_their_limits():
    assert [get_policy(p).limit(0.2, a) for p, a in (("random", None), ("ec", 0.5), ("ac", 0.0))] == [MU] * 3
    assert get_policy("sbpa").limit(0.2, None) == RegionLimit(0.2, 1.0, 0.2, 0.0)
    ac = get_policy("ac").limit(0.2, 0.5)
    assert ac == RegionLimit(0.1, 0.5, 0.2, 0.5 / 0.9)
    # dν/dµ integrates to 1: µ(A)/scale + outside (1 − µ(A)), and ν(A) = µ(A)/scale
    assert ac.level / ac.scale + ac.outside * (1 - ac.level) == pytest.approx(1.0, abs=1e-15)
    assert ac.level / ac.scale == pytest.approx(ac.p_inside, abs=1e-15)


class KeepEveryOther(ts.Policy):
    """A policy of the test: every other point in score order from the kept end, weights ∝ 1/rank."""

    def select(self, g, r, *, alpha, keep, rng):
        order = np.argsort(g if keep == "lowest" else -g, kind="stable")
        kept = order[: 2 * int(r * g.shape[0]): 2]
        w = 1.0 / np.arange(1, kept.shape[0] + 1)
        return kept, w / w.sum()


@pytest.fixture
def every_other():
    policy = ts.register_policy("every-other", KeepEveryOther())
    yield policy
    ts.POLICIES.unregister("every-other")


def test_a_registered_policy_runs_by_name(every_other):
    g = np.array([5.0, 1.0, 4.0, 2.0, 3.0, 0.0])
    sel = ts.prune(g, 0.5, "every-other", rng=0)
    assert isinstance(sel, Selection) and sel.protocol == "every-other"
    assert sel.indices.tolist() == [2, 3, 5]  # score order 5, 1, 3, 4, 2, 0: ranks 1, 3, 5 are 5, 3, 2
    assert sel.weights[sel.indices.tolist().index(5)] == pytest.approx(1 / (1 + 1 / 2 + 1 / 3))
    assert not sel.weights.flags.writeable
    assert "every-other" in ts.POLICIES and every_other.name == "every-other"


def test_registry_refuses_builtins_duplicates_and_unknown_names(every_other):
    with pytest.raises(ValueError, match="'sbpa' is a built-in"):
        ts.register_policy("sbpa", KeepEveryOther())
    with pytest.raises(ValueError, match="already registered; pass replace=True"):
        ts.register_policy("every-other", KeepEveryOther())
    with pytest.raises(ValueError, match=r"^protocol must be one of 'random', 'sbpa', 'ec', 'ac', 'ccs', 'moderate', "
                                         r"'soft', 'soft-ht', 'soft-wor', 'infobatch', 'infobatch-unweighted', "
                                         r"'every-other'; got 'nope'$"):
        ts.prune(np.zeros(4), 0.5, "nope")
    with pytest.raises(TypeError, match="policy 'bad' must be a theory_sim.Policy"):
        ts.register_policy("bad", object())
    with pytest.raises(ValueError, match="alpha does not apply to policy 'every-other'"):
        ts.prune(np.zeros(4), 0.5, "every-other", alpha=0.5)
    for register, kind in ((ts.register_process, "process"), (ts.register_score, "score"),
                           (ts.register_model, "model")):
        with pytest.raises(TypeError, match=f"^{kind} 'x' must be"):
            register("x", 3)


class BadPolicy(ts.Policy):
    def __init__(self, out):
        self.out = out

    def select(self, g, r, *, alpha, keep, rng):
        return self.out


@pytest.mark.parametrize("out, error, pattern", [
    (np.zeros(3), TypeError, "must return a Selection or a pair"),
    (([0, 0], [0.5, 0.5]), ValueError, "not distinct integers in \\[0, 4\\)"),
    (([0, 9], [0.5, 0.5]), ValueError, "not distinct integers"),
    (([0, 1], [0.5, -0.5]), ValueError, "weights that are not finite and >= 0"),
    (([0.5, 1], [0.5, 0.5]), ValueError, "not a 1-d integer array"),
    (([0, 1], [0.5]), ValueError, "weights of policy 'bad' must have shape \\(2,\\)"),
])
def test_what_a_policy_returns_is_checked(out, error, pattern):
    ts.register_policy("bad", BadPolicy(out))
    try:
        with pytest.raises(error, match=pattern):
            ts.prune(np.arange(4.0), 0.5, "bad", rng=0)
    finally:
        ts.POLICIES.unregister("bad")


def test_process_score_and_model_registered_by_name_are_built_by_name():
    from dataclasses import dataclass

    @dataclass(frozen=True, eq=False)
    class Square(ts.Process):
        task = "regression"
        dim: int = 2

        @property
        def d(self):
            return self.dim

        def _sample(self, n, rng):
            x = rng.uniform(-1.0, 1.0, size=(n, self.dim))
            return ts.Data(x, x.sum(axis=1))

    @dataclass(frozen=True, eq=False)
    class FirstCoordinate(ts.Score):
        def values(self, x, y):
            return x[:, 0]

    ts.register_process("square", Square)
    ts.register_score("first", lambda process=None: FirstCoordinate("first", True, "lowest", dim=process.d))
    ts.register_model("half-square", lambda d: ts.make_model("linear", d))
    try:
        mu = ts.make_process("square", d=3)
        assert mu.d == 3 and "square" in ts.PROCESSES and list(ts.SCORES)[-1] == "first"
        x = mu.sample(5, rng=0).x
        assert np.array_equal(ts.make_score("first", mu)(x), x[:, 0])
        assert ts.make_model("half-square", 3) == ts.make_model("linear", 3)
        with pytest.raises(TypeError, match="unknown parameter 'sigma' for process 'square'; allowed: d"):
            ts.make_process("square", sigma=1.0)
    finally:
        ts.PROCESSES.unregister("square")
        ts.SCORES.unregister("first")
        ts.MODELS.unregister("half-square")
    with pytest.raises(ValueError, match="^process must be one of 'gaussian-logistic', .*'exponential'; got 'square'$"):
        ts.make_process("square")
