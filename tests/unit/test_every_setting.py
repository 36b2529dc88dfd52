"""No option listed by ``--help`` fails later for lack of a method (issue 11).

Every registered (process, score, model, policy) combination, with both population methods, goes
through :class:`MonteCarloConfig` construction, and every (process, score, policy) through
:class:`LimitConfig`'s: a combination is either refused there with a ValueError (which must say what
is missing), or it runs: every accepted combination is run at the smallest size (one n,
2 replications — the engine's minimum — a 4-point net, 1000 draws; about a minute in all). A covering
subset was not enough: it missed soft sampling with GraNd, accepted and then failing at run time.
"""

import itertools
import warnings

import pytest

import theory_sim as ts

METHODS = ("quadrature", "monte-carlo")


def _alpha(policy):
    return 0.5 if policy in ("ec", "ac") else None


def _dims():
    return {p: ts.make_process(p).d for p in ts.PROCESSES}


def _covering(accepted, width):
    """The first accepted combinations, in order, that each bring a name not yet covered."""
    seen = [set() for _ in range(width)]
    chosen = []
    for combo in accepted:
        if any(name not in seen[i] for i, name in enumerate(combo)):
            chosen.append(combo)
            for i, name in enumerate(combo):
                seen[i].add(name)
    return chosen, seen


@pytest.fixture(scope="module")
def montecarlo_walk():
    dims, accepted, refused = _dims(), [], {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for combo in itertools.product(ts.PROCESSES, ts.SCORES, ts.MODELS, ts.POLICIES, METHODS):
            p, s, m, pol, method = combo
            try:
                ts.MonteCarloConfig(process=p, d=dims[p], score=s, model=m, protocol=pol, alpha=_alpha(pol),
                                    method=method, n_mc=1000, ns=(200,), reps=2, net_size=4)
            except ValueError as exc:
                refused[combo] = str(exc)
            else:
                accepted.append(combo)
    return accepted, refused


def test_every_combination_is_accepted_or_refused_with_the_reason(montecarlo_walk):
    accepted, refused = montecarlo_walk
    assert len(accepted) + len(refused) == 2 * len(ts.PROCESSES) * len(ts.SCORES) * len(ts.MODELS) * len(ts.POLICIES)
    for combo, message in refused.items():
        p, s, m, pol, method = combo
        # the message names the missing piece: the object at fault, or the method to pass
        assert any(f"{kind} {name!r}" in message for kind, name in (("process", p), ("score", s), ("model", m),
                                                                      ("policy", pol))), (combo, message)
        if method == "quadrature" and (p, s, m, pol, "monte-carlo") in accepted:
            assert message.endswith("pass method='monte-carlo'"), (combo, message)
    # every name has an accepted combination with Monte Carlo population losses
    for i, names in enumerate((ts.PROCESSES, ts.SCORES, ts.MODELS, ts.POLICIES)):
        assert set(names) == {c[i] for c in accepted if c[4] == "monte-carlo"}


def test_every_accepted_combination_runs(montecarlo_walk, tmp_path):
    accepted, _ = montecarlo_walk
    _, seen = _covering(accepted, 5)
    assert [set(names) for names in (ts.PROCESSES, ts.SCORES, ts.MODELS, ts.POLICIES, METHODS)] == seen
    dims = _dims()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p, s, m, pol, method in accepted:
            config = ts.MonteCarloConfig(process=p, d=dims[p], score=s, model=m, protocol=pol, alpha=_alpha(pol),
                                         method=method, n_mc=1000, ns=(200,), reps=2, net_size=4)
            res = ts.run_montecarlo(config, progress=False)
            assert res.limits.method == method and res.delta.shape == (1, 2), (p, s, m, pol, method)


def test_every_limit_combination_is_refused_up_front_or_runs():
    dims, accepted, refused = _dims(), [], {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for combo in itertools.product(ts.PROCESSES, ts.SCORES, ts.POLICIES):
            p, s, pol = combo
            try:
                ts.LimitConfig(process=p, d=dims[p], score=s, protocol=pol, alpha=_alpha(pol), ns=(200,), reps=1,
                               n_target=100)
            except ValueError as exc:
                refused[combo] = str(exc)
                assert any(f"{kind} {name!r}" in str(exc) for kind, name in (("process", p), ("score", s),
                                                                               ("policy", pol))), (combo, str(exc))
            else:
                accepted.append(combo)
        _, seen = _covering(accepted, 3)
        assert seen[0] == set(ts.PROCESSES) and seen[1] == set(ts.SCORES)
        for p, s, pol in accepted:  # all of them: about 2 s
            res = ts.run_limit(ts.LimitConfig(process=p, d=dims[p], score=s, protocol=pol, alpha=_alpha(pol),
                                              ns=(200,), reps=1, n_target=100))
            assert len(res.rows) == 1
