"""choose_alpha (docs/theory.md, "Choosing α"): the Neyman-type rule against C12's formula, the AC rule
against a direct computation from prune's selection, the oracle's large-n form, the cross-fitted rule,
bad input, and the ``theory-sim choose-alpha`` command (same answer as the API)."""

import numpy as np
import pytest

import theory_sim as ts
from theory_sim.cli import main
from theory_sim.core.alpha_choice import alpha_profile, default_alphas


def _data(n=2_000, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.normal(size=n)
    return g, np.exp(g) + 0.1 * rng.normal(size=n), rng.normal(size=n)  # spread at the top; unrelated


def test_neyman_profile_is_c12_formula_plus_the_sampling_of_d_n():
    # source: ec_variance is C12's formula (checked by enumeration in proofs_check.calibration); σ²/n the
    # variance of L_n (law of total variance)
    g, f, _ = _data()
    for keep in ("lowest", "highest"):
        alphas, prof = alpha_profile(g, f, 0.2, "ec", keep=keep)
        ref = [ts.ec_variance(f, g, 0.2, a, keep=keep) + f.var() / f.size for a in alphas]
        np.testing.assert_allclose(prof, ref, rtol=1e-12)


def test_gradient_columns_add_up():
    g, f, u = _data()
    _, both = alpha_profile(g, np.c_[f, u], 0.3, "ec", keep="highest")
    _, one = alpha_profile(g, f, 0.3, "ec", keep="highest")
    _, two = alpha_profile(g, u, 0.3, "ec", keep="highest")
    np.testing.assert_allclose(both, one + two, rtol=1e-12)


def test_ac_profile_against_prune_selection():
    # α = 0: random pruning, the same as EC; α = 1: SBPA, no conditional variance, bias = mean over S − mean
    g, f, _ = _data(n=1_000)
    n, r = f.size, 0.2
    _, ac = alpha_profile(g, f, r, "ac", keep="highest", alphas=[0.0, 1.0])
    _, ec = alpha_profile(g, f, r, "ec", keep="highest", alphas=[0.0])
    assert ac[0] == pytest.approx(ec[0], rel=1e-12)
    sel = ts.prune(g, r, "sbpa", keep="highest", rng=0)
    k = sel.k
    rho = np.zeros(n)
    rho[sel.indices] = n / k
    fc = f - f.mean()
    b = np.mean((rho - 1) * fc)
    var_b = np.mean(((rho - 1) * fc) ** 2) - b**2
    var_mean = np.mean((rho * fc) ** 2) - b**2
    assert ac[1] == pytest.approx(b**2 - var_b / n + var_mean / n, rel=1e-10)


def test_oracle_is_the_large_n_form_of_the_finite_rule():
    # source: the large-n limit of C12's formula (proofs_check.alpha_choice, item 4): on the same M points with
    # weights 1/M and n = M, the two differ by O(1/M) relative terms only (k_s rounding, N − 1)
    g, f, _ = _data(n=100_000, seed=1)
    alphas = np.arange(10) * 0.1
    _, finite = alpha_profile(g, f, 0.2, "ec", keep="highest", alphas=alphas)
    _, pop = alpha_profile(g, f, 0.2, "ec", keep="highest", alphas=alphas, sample_weight=np.full(g.size, 1 / g.size),
                           n=g.size)
    np.testing.assert_allclose(pop, finite, rtol=1e-3)
    oracle = ts.choose_alpha(g, f, 0.2, "ec", "oracle", keep="highest", alphas=alphas,
                             sample_weight=np.full(g.size, 1 / g.size), n=500)
    assert oracle.n == 500 and oracle.alpha == alphas[np.argmin(finite)]


def test_interior_when_the_kept_end_is_spread_and_zero_when_unrelated():
    # derivation (proofs_check.alpha_choice): α* > 0 when v > σ²/r at the kept end. f = exp(g): v/σ² ≫ 1/r at
    # the top; f independent of g (negative control): every α > 0 inflates the variance by (1 − αr)/(1 − α) > 1
    # while σ_R² stays σ² up to O(n^-1/2) relative noise, far below the 4% of the first step (n = 20000).
    g, f, u = _data(n=20_000)
    assert ts.choose_alpha(g, f, 0.2, "ec", keep="highest").alpha > 0
    assert ts.choose_alpha(g, u, 0.2, "ec", keep="highest").alpha == 0.0
    assert ts.choose_alpha(g, f, 0.2, "ec", keep="lowest").alpha == 0.0  # the calm end: no gain


def test_cv_rule_uses_common_random_numbers_and_is_seeded():
    g, f, _ = _data(n=600)
    calls = []

    def evaluate(train_idx, weights, test_idx):  # the weighted-mean estimate of the mean, scored on the fold
        calls.append(len(train_idx))
        return float((np.dot(weights, f[train_idx]) - f[test_idx].mean()) ** 2)

    a = ts.choose_alpha(g, evaluate, 0.2, "ec", "cv", keep="highest", folds=3, rng=4)
    b = ts.choose_alpha(g, evaluate, 0.2, "ec", "cv", keep="highest", folds=3, rng=4)
    assert a.alpha == b.alpha and np.array_equal(a.profile, b.profile)
    assert len(calls) == 2 * 3 * len(default_alphas("ec"))
    assert a.alpha == a.alphas[np.argmin(a.profile)]


@pytest.mark.parametrize("kwargs, needle", [
    (dict(protocol="ac", rule="neyman"), "rule 'neyman' is for protocol 'ec'"),
    (dict(rule="bogus"), "rule must be one of"),
    (dict(r=1.0), "r must be < 1"),
    (dict(rule="oracle"), "needs sample_weight"),
    (dict(alphas=[0.5, 1.0]), "alpha"),
    (dict(protocol="sbpa"), "protocol must be one of"),
])
def test_bad_input_names_the_parameter(kwargs, needle):
    g, f, _ = _data(n=100)
    args = dict(protocol="ec", r=0.2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=needle):
        ts.choose_alpha(g, f, args.pop("r"), args.pop("protocol"), **args)
    with pytest.raises(ValueError, match="values must have shape"):
        ts.choose_alpha(g, f[:-1], 0.2)


def _cli(capsys, *argv):
    code = main(["choose-alpha", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_answer_equals_the_api(tmp_path, capsys):
    g, f, _ = _data(n=500)
    np.save(tmp_path / "s.npy", np.c_[g, f])
    np.savetxt(tmp_path / "s.csv", np.c_[g, f], delimiter=",", header="score,loss", comments="", fmt="%.17g")
    api = ts.choose_alpha(g, f, 0.2, "ec", keep="highest")
    for name in ("s.npy", "s.csv"):
        code, out, err = _cli(capsys, tmp_path / name, "--r", 0.2, "--keep", "highest")
        assert code == 0, err
        last = dict(kv.split("=") for kv in out.strip().splitlines()[-1].split())
        assert float(last["alpha_hat"]) == api.alpha
        assert float(last["predicted"]) == pytest.approx(api.predicted_variance, rel=1e-9)
    code, out, _ = _cli(capsys, tmp_path / "s.npy", "--r", 0.2, "--keep", "highest", "--protocol", "ac")
    ac = ts.choose_alpha(g, f, 0.2, "ac", keep="highest")
    assert code == 0 and float(out.strip().splitlines()[-1].split()[0].split("=")[1]) == ac.alpha


@pytest.mark.parametrize("content, needle", [
    ("1,2\n3\n4,5\n", "different numbers of columns"),
    ("1,2\n3,x\n4,5\n", "not a table of numbers"),
    ("1\n2\n3\n", "at least 3 rows and 2 columns"),
    ("1,2\n3,nan\n4,5\n", "row 2 holds a NaN"),
    (None, "no such file"),
])
def test_cli_malformed_files_are_one_line_exit_2(tmp_path, capsys, content, needle):
    path = tmp_path / "bad.csv"
    if content is not None:
        path.write_text(content)
    code, out, err = _cli(capsys, path, "--r", 0.2)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    np.save(tmp_path / "obj.npy", np.array([[1, 2], [3, 4]], dtype=object), allow_pickle=True)
    code, _, err = _cli(capsys, tmp_path / "obj.npy", "--r", 0.2)
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, _, err = _cli(capsys, tmp_path / "x.txt", "--r", 0.2)
    assert code == 2 and "must end in .npy or .csv" in err
