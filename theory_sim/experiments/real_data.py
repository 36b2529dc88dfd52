r"""Score-based pruning on real data: scikit-learn's bundled data sets, small numpy MLPs.

The theory (docs/theory.md, "Definitions") is about data with a known µ; this experiment asks the same question on
two small real data sets shipped with scikit-learn (read from the installed package, no
download): does score-based pruning (SBPA) at high compression (r ≤ 0.3) do worse than random
pruning, for a network trained on the kept points?

Data sets (binary tasks: the MLP has one scalar logit)
------------------------------------------------------
``breast_cancer``
    :func:`sklearn.datasets.load_breast_cancer`: 569 tumours, 30 features, y = 1 for benign
    (212 malignant, 357 benign).
``digits``
    :func:`sklearn.datasets.load_digits`: 1797 8×8 images, 64 pixel features, **relabelled as
    the binary task "digit ≥ 5"**: y = 1 for the digits 5–9, y = 0 for 0–4 (the ten classes are
    not used).

Protocol, per seed s = 0, …, S − 1
----------------------------------
1. A stratified train/test split (fraction ``test_fraction`` for the test part), seeded;
   features standardised with the mean and standard deviation of the **training part only**
   (a feature constant on the training part — blank digit pixels — is centred, not scaled).
2. Probe scores on the training part (:func:`theory_sim.models.probe.probe_scores`: a probe MLP
   trained for ``probe_steps`` full-batch Adam steps, averaged over ``probe_inits`` initialisations).
3. For each r and each protocol, a selection of k = ⌊r n_train⌋ training points
   (:func:`theory_sim.core.protocols.prune_label`):

   =============  ===========================================================================
   ``random``     a uniform k-subset, p_i = 1/k
   ``sbpa-hard``  SBPA keeping the k hardest points by the score (e.g. highest EL2N)
   ``sbpa-easy``  SBPA keeping the k easiest points
   ``ec``         exact calibration, signal fraction α, signal = the hardest points
   ``ac``         approximate calibration, same S and E as EC, p_i = 1/k
   =============  ===========================================================================

   The orientation is the score's declared one (:attr:`theory_sim.models.probe.ProbeScores.HARD`).
4. A one-hidden-layer tanh MLP (cross-entropy) trained on the kept points with the selection's
   weights, by full-batch Adam for **exactly** ``steps`` steps from an initialisation shared by
   every protocol at this (s, r) (a paired design); measured at the **final step** (never the
   best step): test accuracy (ŷ = 1{v > 0}), mean test cross-entropy, and the weighted training
   loss. A network trained on the whole training part (r = 1) gives a reference per seed.

Summaries are means over seeds with a Student-t 95 % interval (:func:`theory_sim.stats.t_interval`),
and the paired difference random − SBPA per r (positive: random is better) with its t interval.

Random streams (docs/theory.md, "Randomness"; ``STREAMS``): split ← ``(0, s)`` (its first 32-bit
word is sklearn's ``random_state``); probe ← ``(1, s)``; pruning ← ``(2, s, ⌊10⁶ r⌉, protocol
number)``; initialisation at r ← ``(3, s, ⌊10⁶ r⌉)``; full-data reference ← ``(4, s)``. Keys do not
depend on which other r or protocols the config lists, so adding one changes no other number.

Result files: one per config through :class:`theory_sim.store.Store`, each seed s a unit (the
arrays of shape (protocols, rs) and the per-seed scalars); the result stacks them along a last
axis of seeds.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split

from theory_sim.core.protocols import prune_label
from theory_sim.experiments._framework import Experiment, ExperimentConfig, one_blas_thread, register, register_runner
from theory_sim.models.batch_training import train_many
from theory_sim.models.mlp import MLP
from theory_sim.models.probe import PROBE_SCORES, probe_scores
from theory_sim.rng import Streams, r_key
from theory_sim.stats import t_interval
from theory_sim.store import Store
from theory_sim.validation import (as_tuple, budget, check_alpha, check_array, check_choice, check_int, check_r,
                                   check_real)

__all__ = ["DATASETS", "REALDATA_PROTOCOLS", "SIZES", "STREAMS", "RealDataConfig", "RealDataResult", "Split",
           "configs", "load_dataset", "run_real_data", "split_standardise"]

DATASETS = ("breast_cancer", "digits")
DATASET_TITLES = {"breast_cancer": "breast_cancer (malignant vs benign)",
                  "digits": "digits, binary task: digit ≥ 5 vs digit ≤ 4"}
REALDATA_PROTOCOLS = ("random", "sbpa-hard", "sbpa-easy", "ec", "ac")
METRICS = ("accuracy", "test_loss", "train_loss")


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _load(name):
    if name == "breast_cancer":
        x, y = datasets.load_breast_cancer(return_X_y=True)
    else:
        x, y = datasets.load_digits(return_X_y=True)
        y = y >= 5  # the documented binary task: digits 5–9 against 0–4
    x, y = np.ascontiguousarray(x, dtype=np.float64), y.astype(np.float64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def load_dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The features x, shape (n, d), and binary labels y ∈ {0, 1}, shape (n,), of a bundled data set.

    ``breast_cancer``: y = 1 for benign. ``digits``: y = 1{digit ≥ 5}. Read-only arrays.
    """
    return _load(check_choice("dataset", name, DATASETS))


@dataclass(frozen=True, eq=False)
class Split:
    """A stratified train/test split, standardised with training-part statistics only.

    Attributes
    ----------
    x_train, x_test : ndarray
        (x − mean) / scale for the training and the test rows.
    y_train, y_test : ndarray
    train_index, test_index : ndarray of int
        Rows of the original data.
    mean, scale : ndarray, shape (d,)
        The training part's feature means and standard deviations (1 where a feature is
        constant on the training part).
    """

    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    train_index: np.ndarray
    test_index: np.ndarray
    mean: np.ndarray
    scale: np.ndarray


def split_standardise(x, y, test_fraction: float, rng) -> Split:
    """Stratified split of (x, y) (sklearn's ``train_test_split``), then training-only standardisation.

    Parameters
    ----------
    x : ndarray, shape (n, d)
    y : ndarray, shape (n,)
        Class labels (the strata).
    test_fraction : float in (0, 1)
    rng : SeedSequence or int
        ``random_state`` of the split is the first 32-bit word of ``SeedSequence(rng)``.
    """
    test_fraction = check_real("test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    seq = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(check_int("rng", rng, low=0))
    state = int(seq.generate_state(1)[0])
    train_index, test_index = train_test_split(np.arange(len(y)), test_size=test_fraction, stratify=y,
                                               random_state=state)
    train_index, test_index = np.sort(train_index), np.sort(test_index)
    x_train = x[train_index]
    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0)
    scale[scale == 0.0] = 1.0  # a feature constant on the training part carries nothing to scale
    return Split((x_train - mean) / scale, (x[test_index] - mean) / scale, y[train_index], y[test_index],
                 train_index, test_index, mean, scale)


# ---------------------------------------------------------------------------------------
# Config and result
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RealDataConfig(ExperimentConfig):
    r"""Pruning on a real data set: S seeds × rs × protocols MLP trainings (see the module docstring).

    Attributes
    ----------
    dataset : {'breast_cancer', 'digits'}
    rs : tuple of float in (0, 1], strictly increasing
        Compression levels r (fraction of the training part kept).
    protocols : tuple of str, from ``REALDATA_PROTOCOLS``
    score : str, from ``theory_sim.models.probe.PROBE_SCORES``
        The difficulty score g (default EL2N).
    alpha : float in [0, 1)
        Signal fraction of EC and AC.
    seeds : int ≥ 2
        S, independent (split, probe, pruning, initialisation) replications.
    test_fraction : float in (0, 1)
    width : int ≥ 1
        Hidden width of the trained network (and of the probe).
    steps : int ≥ 1
        Adam steps of the trained network (fixed: metrics are read at the last step).
    lr : float > 0
        Adam step size, for the network and the probe.
    probe_steps : int ≥ 1
        Adam steps of the probe (its "epochs"; forgetting is recorded after each).
    probe_inits : int ≥ 1
        Probe initialisations the scores are averaged over.
    seed : int ≥ 0
    """

    dataset: str = "breast_cancer"
    rs: tuple = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
    protocols: tuple = REALDATA_PROTOCOLS
    score: str = "el2n"
    alpha: float = 0.5
    seeds: int = 5
    test_fraction: float = 0.25
    width: int = 32
    steps: int = 300
    lr: float = 1e-2
    probe_steps: int = 50
    probe_inits: int = 2
    seed: int = 0

    def __post_init__(self):
        check_choice("dataset", self.dataset, DATASETS)
        rs = tuple(check_r(r, "r") for r in as_tuple("rs", self.rs))
        if not rs:
            raise ValueError("rs must list at least one compression level, got ()")
        if list(rs) != sorted(set(rs)):
            raise ValueError(f"rs must be strictly increasing, got {rs}")
        object.__setattr__(self, "rs", rs)
        protocols = tuple(check_choice("protocol", p, REALDATA_PROTOCOLS) for p in as_tuple("protocols",
                                                                                             self.protocols))
        if not protocols:
            raise ValueError("protocols must list at least one protocol, got ()")
        if len(set(protocols)) != len(protocols):
            raise ValueError(f"protocols must not repeat a protocol, got {protocols}")
        object.__setattr__(self, "protocols", protocols)
        check_choice("score", self.score, PROBE_SCORES)
        check_alpha(self.alpha, allow_one=False)
        check_int("seeds", self.seeds, low=2)  # a t interval needs two values
        check_real("test_fraction", self.test_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
        check_int("width", self.width, low=1)
        check_int("steps", self.steps, low=1)
        check_real("lr", self.lr, low=0.0, low_open=True)
        check_int("probe_steps", self.probe_steps, low=1)
        check_int("probe_inits", self.probe_inits, low=1)
        check_int("seed", self.seed, low=0)
        n = len(load_dataset(self.dataset)[1])
        n_test = int(np.ceil(self.test_fraction * n))  # sklearn rounds the test part up
        n_train = n - n_test
        if n_test < 2 or n_train < 2 or budget(rs[0], n_train) < 1:
            raise ValueError(f"test_fraction={self.test_fraction} and r={rs[0]} leave {n_test} test and "
                             f"{n_train} training points, keeping floor(r n_train) = "
                             f"{budget(rs[0], max(n_train, 0))}: need ≥ 2, ≥ 2 and ≥ 1")

    KIND = "real-data"


@dataclass(frozen=True, eq=False)
class RealDataResult:
    """Result of :func:`run_real_data`. Arrays of shape (protocols, rs, seeds) unless stated.

    Attributes
    ----------
    config : RealDataConfig
    accuracy : ndarray
        Test accuracy of the network at its final step.
    test_loss : ndarray
        Mean test cross-entropy at the final step.
    train_loss : ndarray
        Weighted training loss Σ p_i f(z_i; θ_T) on the kept points.
    kept_positive : ndarray
        Fraction of the kept points with y = 1.
    finite : ndarray of bool
        Training ran all ``steps`` steps without a non-finite loss.
    full_accuracy, full_test_loss : ndarray, shape (seeds,)
        The same network trained on the whole training part (r = 1), a reference.
    probe_accuracy : ndarray, shape (seeds,)
        Training accuracy of the probe(s), averaged over probe initialisations.
    n_train, n_test, d : int
    seconds : float
    path : Path or None
    """

    config: RealDataConfig
    accuracy: np.ndarray
    test_loss: np.ndarray
    train_loss: np.ndarray
    kept_positive: np.ndarray
    finite: np.ndarray
    full_accuracy: np.ndarray
    full_test_loss: np.ndarray
    probe_accuracy: np.ndarray
    n_train: int
    n_test: int
    d: int
    seconds: float
    path: object = None

    def metric(self, name: str) -> np.ndarray:
        return getattr(self, check_choice("metric", name, METRICS))

    def summary(self, metric: str = "accuracy", level: float = 0.95):
        """(mean, low, high) over seeds, each of shape (protocols, rs): the t interval."""
        return t_interval(self.metric(metric), axis=-1, level=level)

    def paired_difference(self, first: str = "random", second: str = "sbpa-hard", metric: str = "accuracy",
                          level: float = 0.95):
        """Per-seed differences first − second, shape (rs, seeds), and their (mean, low, high) per r.

        Both protocols share the split, the probe and the initialisation at each (seed, r), so
        the difference is paired. For accuracy a positive value means ``first`` is better.
        """
        protocols = self.config.protocols
        a = protocols.index(check_choice("first", first, protocols))
        b = protocols.index(check_choice("second", second, protocols))
        diff = self.metric(metric)[a] - self.metric(metric)[b]
        return (diff, *t_interval(diff, axis=-1, level=level))


# ---------------------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------------------
_ARRAYS = ("accuracy", "test_loss", "train_loss", "kept_positive", "finite", "full_accuracy", "full_test_loss",
           "probe_accuracy")
_SIZES = ("n_train", "n_test", "d")
STREAMS = Streams(split=0, probe=1, pruning=2, init=3, init_full=4)
# r enters the keys in units of 1e-6 here, not theory_sim.rng.R_UNIT = 1e-9: this experiment's keys were
# defined so before R_UNIT existed, and they are part of its numbers (changing the unit changes every seed).
R_KEY_UNIT = 10**6


def _measure(mlp, fit, split, config):
    """Test accuracy, test loss, training loss, and whether every step was taken, of one trained network."""
    v = mlp.output(fit.params, split.x_test)
    accuracy = float(np.mean((v > 0.0) == (split.y_test == 1.0)))
    test_loss = float(np.mean(mlp.losses(fit.params, split.x_test, split.y_test)))
    return accuracy, test_loss, fit.loss, fit.n_iter == config.steps


def _run_seed(config: RealDataConfig, s: int) -> dict:
    """All trainings of seed s: arrays of shape (protocols, rs) and the per-seed scalars."""
    x, y = load_dataset(config.dataset)
    split = split_standardise(x, y, config.test_fraction, STREAMS(config.seed, "split", s))
    probe = probe_scores(split.x_train, split.y_train, hidden=(config.width,), epochs=config.probe_steps,
                         lr=config.lr, inits=config.probe_inits, rng=STREAMS(config.seed, "probe", s))
    g = probe.score(config.score)
    hard = probe.keep(config.score, "hard")
    mlp = MLP(split.x_train.shape[1], (config.width,), "tanh", "cross-entropy")
    shape = (len(config.protocols), len(config.rs))
    out = {k: np.empty(shape) for k in ("accuracy", "test_loss", "train_loss", "kept_positive")}
    out["finite"] = np.empty(shape, dtype=bool)
    cells, jobs, starts = [], [], []
    for i, r in enumerate(config.rs):
        rk = r_key(r, unit=R_KEY_UNIT)
        theta0 = mlp.init(STREAMS(config.seed, "init", s, rk))  # shared by every protocol: paired
        for p, protocol in enumerate(config.protocols):
            sel = prune_label(protocol, g, r, hard=hard, alpha=config.alpha,
                              rng=STREAMS(config.seed, "pruning", s, rk, REALDATA_PROTOCOLS.index(protocol)))
            xk, yk = split.x_train[sel.indices], split.y_train[sel.indices]
            cells.append((p, i))
            jobs.append((xk, yk, sel.weights))
            starts.append(theta0)
            out["kept_positive"][p, i] = yk.mean()
    jobs.append((split.x_train, split.y_train, None))  # the unpruned reference
    starts.append(mlp.init(STREAMS(config.seed, "init_full", s)))
    # independent trainings: train_many stacks those of equal kept size (each fit bitwise train's)
    fits = train_many(mlp, jobs, theta0=starts, optimizer="adam", lr=config.lr, max_iter=config.steps, tol=0.0)
    for (p, i), fit in zip(cells, fits):
        (out["accuracy"][p, i], out["test_loss"][p, i], out["train_loss"][p, i],
         out["finite"][p, i]) = _measure(mlp, fit, split, config)
    full = _measure(mlp, fits[-1], split, config)
    out.update(full_accuracy=full[0], full_test_loss=full[1], probe_accuracy=float(probe.train_accuracy.mean()),
               n_train=len(split.y_train), n_test=len(split.y_test), d=split.x_train.shape[1])
    return out


@one_blas_thread
def run_real_data(config: RealDataConfig, results_dir=None, progress: bool | None = False) -> RealDataResult:
    """Run (or reuse, or resume) ``results_dir/real-data-<hash>.json``, the experiment of the config.

    Each seed is a unit of :class:`theory_sim.store.Store` (:func:`_run_seed`); the result stacks
    the seeds along the last axis.
    """
    if not isinstance(config, RealDataConfig):
        raise TypeError(f"config must be a RealDataConfig, got {type(config).__name__}")
    record = Store(results_dir).run(
        config, units=range(config.seeds), compute=lambda s, _: _run_seed(config, s),
        decode_unit=functools.partial(_decode_seed, config=config), progress=progress,
        desc=f"real-data {config.dataset}")
    per_seed = [record.units[s] for s in range(config.seeds)]
    arrays = {}
    for key in _ARRAYS:
        arr = np.stack([np.asarray(ps[key]) for ps in per_seed], axis=-1)
        arr.setflags(write=False)
        arrays[key] = arr
    sizes = {k: per_seed[0][k] for k in _SIZES}
    return RealDataResult(config, **arrays, **sizes, seconds=record.seconds, path=record.path)


register_runner(RealDataConfig, run_real_data)


def _number(name, raw, *, low=-math.inf, high=math.inf, finite=True) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise TypeError(f"{name} must be a number, got {raw!r}")
    if (finite and not math.isfinite(raw)) or not low <= raw <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {raw!r}")
    return float(raw)


def _decode_seed(raw, *, config) -> dict:
    """A stored seed: arrays of shape (protocols, rs) and the per-seed scalars, checked."""
    shape = (len(config.protocols), len(config.rs))
    out = {}
    for key in ("accuracy", "kept_positive"):  # fractions: finite, in [0, 1]
        arr = check_array(key, raw[key], shape=shape)
        if not (np.isfinite(arr).all() and (arr >= 0).all() and (arr <= 1).all()):
            raise ValueError(f"{key} must hold fractions in [0, 1]")
        out[key] = arr
    for key in ("test_loss", "train_loss"):  # a diverged training is recorded (as not finite), not refused
        out[key] = check_array(key, raw[key], shape=shape, allow_nan=True)
    finite = check_array("finite", raw["finite"], shape=shape, dtype=bool)
    if not all(isinstance(v, bool) for row in raw["finite"] for v in row):
        raise TypeError("finite must hold true or false")
    out["finite"] = finite
    out["full_accuracy"] = _number("full_accuracy", raw["full_accuracy"], low=0.0, high=1.0)
    out["probe_accuracy"] = _number("probe_accuracy", raw["probe_accuracy"], low=0.0, high=1.0)
    out["full_test_loss"] = _number("full_test_loss", raw["full_test_loss"], finite=False)
    for key in _SIZES:
        out[key] = check_int(key, raw[key], low=1)
    return out


# ---------------------------------------------------------------------------------------
# The registered experiment
# ---------------------------------------------------------------------------------------
SIZES = {
    "tiny": dict(rs=(0.2, 0.5), seeds=2, steps=5, probe_steps=3, probe_inits=1, width=4),
    "small": dict(rs=(0.1, 0.3, 0.6, 0.9), seeds=3, steps=150, probe_steps=30, probe_inits=1),
    "default": dict(),  # RealDataConfig's defaults: 9 values of r, 5 seeds, 300 steps
    "full": dict(seeds=20, steps=600, probe_steps=100, probe_inits=5),
}


def configs(size: str) -> dict:
    return {ds: RealDataConfig(dataset=ds, **SIZES[size]) for ds in DATASETS}


register(Experiment("real_data", "pruning on real data (breast_cancer, digits >= 5): test accuracy vs r",
                    (), configs))
