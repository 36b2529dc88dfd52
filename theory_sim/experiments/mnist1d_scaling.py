r"""Pruned scaling laws on MNIST-1D: the paper's empirical headline at scale, on a benchmark nobody here made.

Ayed & Hayou's experiments (ResNets on CIFAR) find that random pruning beats score-based pruning
(SBPA) when r ≤ 0.3 and data are abundant, and that SBPA's scaling curve levels off. This
experiment asks the same questions of a fixed MLP on MNIST-1D (Greydanus & Kobak; the ``mnist1d``
package), docs/theory.md, "Empirical headline on MNIST-1D".

Data
----
``mnist1d.data.make_dataset`` generates ten classes of 40-sample 1-D signals procedurally from a
seed (no download). One call with ``data_seed`` makes ``pool + n_test`` examples (the package
standardises them with the mean and standard deviation of the whole call); the last ``n_test``
are the **fixed held-out test set**, the first ``pool`` the pool the training sets are drawn
from. The package seeds numpy's and Python's global generators; :func:`load_mnist1d` saves and
restores both around the call, so nothing else sees that state.

Protocol, per seed s and sample size n
--------------------------------------
1. D_n = the first n pool rows of a permutation π_s of the pool (nested in n for a seed).
2. Probe scores on D_n (:func:`theory_sim.models.probe.probe_scores` with ``classes=10``: a softmax
   probe of the trained network's architecture, mini-batch Adam for max(``probe_epochs``,
   ⌈``probe_min_steps`` / steps per epoch⌉) epochs,
   averaged over ``probe_inits`` initialisations): EL2N ``score`` (label-dependent) and the
   label-free top-two logit gap ``label_free_score``.
3. For each r, k = ⌊r n⌋ points by each strategy (:func:`theory_sim.core.protocols.prune_label`):

   ================  ===========================================================================
   ``random``        a uniform k-subset
   ``random-b``      another, independent uniform k-subset: the **negative control** (it is
                     exchangeable with ``random``: no criterion may call either one better)
   ``sbpa-hard``     SBPA keeping the k hardest by ``score``; ``sbpa-easy`` the k easiest
   ``sbpa-hard-lf``  the same with ``label_free_score``; ``sbpa-easy-lf``
   ``ec``, ``ac``    exact / approximate calibration, signal fraction α, signal = hardest by ``score``
   ================  ===========================================================================

4. The strategies' networks at (s, n, r), all of k points, are trained together as one stacked
   computation (:func:`theory_sim.models.batch_training.train_batch`; each is bitwise the network trained
   alone) from one shared initialisation and one shared batch-order seed (a paired design):
   mini-batch Adam, ``batch_size``, for max(``epochs``, ⌈``min_steps`` / steps per epoch⌉) epochs
   (a floor on the steps, so that the smallest kept sets are trained too), with the selection's
   weights. Measured at the **final step**: test error (argmax ≠ label) and test cross-entropy on
   the fixed test set. The same network on the whole of D_n (r = 1) is the unpruned reference.

Summaries: mean over seeds with Student-t 95 % intervals (:mod:`theory_sim.stats`); power-law fits
of test error against the number kept; crossovers in n of each SBPA curve with random.

Random streams (docs/theory.md, "Randomness"; ``STREAMS``): π_s ← ``(0, s)``; probe ← ``(1, s, n)``;
pruning ← ``(2, s, n, R, strategy number)``; initialisation ← ``(3, s, n, R)``; batch order ←
``(4, s, n, R)``; unpruned reference initialisation ← ``(5, s, n)`` and order ← ``(6, s, n)``
(R = r in units of 10⁻⁹, :func:`theory_sim.rng.r_key`). No key depends on which other n, r or
strategies the config lists.

Result files: one per config through :class:`theory_sim.store.Store`; each (n, s) is a unit.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

import numpy as np

from theory_sim.core.protocols import prune_label
from theory_sim.experiments._framework import Experiment, ExperimentConfig, one_blas_thread, register, register_runner
from theory_sim.models import mlp_batch
from theory_sim.models.batch_training import train_batch
from theory_sim.models.mlp import ACTIVATIONS, MLP, SOFTMAX
from theory_sim.models.probe import PROBE_SCORES, probe_scores
from theory_sim.rng import Streams, r_key
from theory_sim.stats import bootstrap_crossing, fit_power_law, t_interval
from theory_sim.store import Store
from theory_sim.validation import (as_tuple, budget, check_alpha, check_array, check_choice, check_int, check_r,
                                   check_real)

__all__ = ["CLASSES", "MNIST1D_STRATEGIES", "SIZES", "STREAMS", "MNIST1DConfig", "MNIST1DResult", "configs",
           "load_mnist1d", "run_mnist1d", "scaling_summary", "training_epochs"]

CLASSES = 10
D = 40  # mnist1d's final_seq_length
# strategy -> (protocol label of theory_sim.core.protocols, which score: "score", "label_free_score" or None)
_STRATEGY_TABLE = {
    "random": ("random", None),
    "random-b": ("random", None),
    "sbpa-hard": ("sbpa-hard", "score"),
    "sbpa-easy": ("sbpa-easy", "score"),
    "sbpa-hard-lf": ("sbpa-hard", "label_free_score"),
    "sbpa-easy-lf": ("sbpa-easy", "label_free_score"),
    "ec": ("ec", "score"),
    "ac": ("ac", "score"),
}
MNIST1D_STRATEGIES = tuple(_STRATEGY_TABLE)
METRICS = ("error", "test_loss")


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _generate(total: int, seed: int):
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.train_split, args.seed = total, 1.0, seed
    np_state, py_state = np.random.get_state(), random.getstate()
    try:  # the package seeds the global generators: restore them afterwards
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    x = np.ascontiguousarray(data["x"], dtype=np.float64)
    y = np.asarray(data["y"], dtype=np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def load_mnist1d(pool: int, n_test: int, seed: int = 0):
    """MNIST-1D from one ``make_dataset`` call of ``pool + n_test`` examples (a multiple of 10).

    Returns ``(x_pool, y_pool, x_test, y_test)``: x of shape (·, 40), labels in {0, …, 9};
    read-only. Deterministic in (pool, n_test, seed); generated, never downloaded.
    """
    pool = check_int("pool", pool, low=10)
    n_test = check_int("n_test", n_test, low=10)
    seed = check_int("seed", seed, low=0)
    if (pool + n_test) % CLASSES:
        raise ValueError(f"pool + n_test must be a multiple of {CLASSES} (make_dataset draws as many of each "
                         f"class), got {pool} + {n_test}")
    x, y = _generate(pool + n_test, seed)
    return x[:pool], y[:pool], x[pool:], y[pool:]


def training_epochs(k: int, epochs: int, batch_size: int, min_steps: int) -> int:
    """max(epochs, ⌈min_steps / steps per epoch⌉), steps per epoch = ⌈k / min(batch_size, k)⌉."""
    per_epoch = -(-k // min(batch_size, k))
    return max(epochs, -(-min_steps // per_epoch))


# ---------------------------------------------------------------------------------------
# Config and result
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MNIST1DConfig(ExperimentConfig):
    """MNIST-1D pruned scaling laws (see the module docstring).

    Attributes
    ----------
    ns : tuple of int, strictly increasing, each ≤ pool
        Training-set sizes n.
    rs : tuple of float in (0, 1), strictly increasing
    strategies : tuple of str from ``MNIST1D_STRATEGIES``
    score, label_free_score : str from ``PROBE_SCORES``
    alpha : float in [0, 1)
        Signal fraction of EC and AC.
    seeds : int ≥ 2
    pool, n_test : int
        Sizes of the generated pool and of the fixed test set (pool + n_test a multiple of 10).
    data_seed : int ≥ 0
        ``make_dataset``'s seed.
    width : int ≥ 1
        Hidden width of the one-hidden-layer network (and of the probe).
    activation : {'tanh', 'relu'}
    epochs, min_steps, batch_size : int ≥ 1
        Training length (see :func:`training_epochs`) and mini-batch size.
    lr : float > 0
        Adam's step size (network and probe).
    probe_epochs, probe_min_steps, probe_inits : int ≥ 1
        The probe trains for max(probe_epochs, ⌈probe_min_steps / steps per epoch⌉) epochs.
    seed : int ≥ 0
    """

    ns: tuple = (1000, 3000, 10000, 30000, 100000)
    rs: tuple = (0.1, 0.2, 0.3, 0.5, 0.7)
    strategies: tuple = MNIST1D_STRATEGIES
    score: str = "el2n"
    label_free_score: str = "abs_margin"
    alpha: float = 0.5
    seeds: int = 5
    pool: int = 100000
    n_test: int = 10000
    data_seed: int = 0
    width: int = 64
    activation: str = "relu"
    epochs: int = 10
    min_steps: int = 400
    batch_size: int = 128
    lr: float = 3e-3
    probe_epochs: int = 5
    probe_min_steps: int = 200
    probe_inits: int = 2
    seed: int = 0

    KIND = "mnist1d-scaling"

    def __post_init__(self):
        ns = tuple(check_int("n", n, low=10) for n in as_tuple("ns", self.ns))
        if not ns or list(ns) != sorted(set(ns)):
            raise ValueError(f"ns must be a non-empty, strictly increasing tuple, got {ns}")
        object.__setattr__(self, "ns", ns)
        rs = tuple(check_r(r, "r") for r in as_tuple("rs", self.rs))
        if not rs or list(rs) != sorted(set(rs)) or rs[-1] >= 1.0:
            raise ValueError(f"rs must be a non-empty, strictly increasing tuple in (0, 1), got {rs}")
        object.__setattr__(self, "rs", rs)
        strategies = tuple(check_choice("strategy", s, MNIST1D_STRATEGIES) for s in as_tuple("strategies",
                                                                                              self.strategies))
        if not strategies or len(set(strategies)) != len(strategies):
            raise ValueError(f"strategies must be non-empty without repeats, got {strategies}")
        object.__setattr__(self, "strategies", strategies)
        check_choice("score", self.score, PROBE_SCORES)
        check_choice("label_free_score", self.label_free_score, PROBE_SCORES)
        check_alpha(self.alpha, allow_one=False)
        check_int("seeds", self.seeds, low=2)
        check_int("pool", self.pool, low=10)
        check_int("n_test", self.n_test, low=10)
        if (self.pool + self.n_test) % CLASSES:
            raise ValueError(f"pool + n_test must be a multiple of {CLASSES}, got {self.pool} + {self.n_test}")
        if ns[-1] > self.pool:
            raise ValueError(f"ns must not exceed pool={self.pool}, got {ns[-1]}")
        for name in ("data_seed", "seed"):
            check_int(name, getattr(self, name), low=0)
        for name in ("width", "epochs", "min_steps", "batch_size", "probe_epochs", "probe_min_steps",
                     "probe_inits"):
            check_int(name, getattr(self, name), low=1)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_real("lr", self.lr, low=0.0, low_open=True)
        k = budget(rs[0], ns[0])
        if k < 2 or (("ec" in strategies or "ac" in strategies) and not 1 <= budget(self.alpha, k) < k):
            raise ValueError(f"ns[0]={ns[0]} and r={rs[0]} keep floor(r n) = {k} points: need ≥ 2, and "
                             f"1 ≤ floor(alpha k) < k for EC/AC")

    @property
    def arch(self) -> MLP:
        return MLP(D, (self.width,), self.activation, SOFTMAX, CLASSES)


@dataclass(frozen=True, eq=False)
class MNIST1DResult:
    """Result of :func:`run_mnist1d`.

    Attributes
    ----------
    config : MNIST1DConfig
    error, test_loss : ndarray, shape (strategies, rs, ns, seeds)
        Test error and mean test cross-entropy at the final step.
    finite : ndarray of bool, same shape
    full_error, full_test_loss : ndarray, shape (ns, seeds)
        The network trained on the whole of D_n (r = 1).
    probe_accuracy : ndarray, shape (ns, seeds)
        Training accuracy of the probe (mean over its initialisations).
    seconds : float
    path : Path or None
    """

    config: MNIST1DConfig
    error: np.ndarray
    test_loss: np.ndarray
    finite: np.ndarray
    full_error: np.ndarray
    full_test_loss: np.ndarray
    probe_accuracy: np.ndarray
    seconds: float
    path: object = None

    def kept(self) -> np.ndarray:
        """k = ⌊r n⌋, shape (rs, ns)."""
        return np.array([[budget(r, n) for n in self.config.ns] for r in self.config.rs])

    def curve(self, strategy: str, r: float, metric: str = "error") -> np.ndarray:
        """Values of ``strategy`` at compression r, shape (ns, seeds)."""
        cfg = self.config
        s = cfg.strategies.index(check_choice("strategy", strategy, cfg.strategies))
        if r not in cfg.rs:
            raise ValueError(f"r must be one of the config's rs {cfg.rs}, got {r!r}")
        i = cfg.rs.index(r)
        return getattr(self, check_choice("metric", metric, METRICS))[s, i]

    def summary(self, metric: str = "error", level: float = 0.95):
        """(mean, low, high) over seeds, each (strategies, rs, ns): Student-t intervals."""
        return t_interval(getattr(self, check_choice("metric", metric, METRICS)), axis=-1, level=level)

    def paired_difference(self, first: str, second: str, metric: str = "error", level: float = 0.95):
        """first − second per seed, shape (rs, ns, seeds), and its (mean, low, high) t interval per (r, n).

        Both strategies share D_n, the probe, the initialisation and the batch-order seed at every
        (s, n, r): the difference is paired."""
        cfg = self.config
        a = cfg.strategies.index(check_choice("first", first, cfg.strategies))
        b = cfg.strategies.index(check_choice("second", second, cfg.strategies))
        values = getattr(self, check_choice("metric", metric, METRICS))
        diff = values[a] - values[b]
        return (diff, *t_interval(diff, axis=-1, level=level))


# ---------------------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------------------
STREAMS = Streams(subset=0, probe=1, pruning=2, init=3, order=4, init_full=5, order_full=6)


def _measure(mlp, params, x_test, y_test):
    """Test error and mean test cross-entropy of each row of ``params`` (B, n_params)."""
    logits = mlp_batch.outputs(mlp, params, x_test)
    error = (logits.argmax(axis=-1) != y_test).mean(axis=-1)
    loss = mlp_batch.loss_and_residual(mlp, logits, y_test)[0].mean(axis=-1)
    return error, loss


def _run_unit(config: MNIST1DConfig, n: int, s: int) -> dict:
    x_pool, y_pool, x_test, y_test = load_mnist1d(config.pool, config.n_test, config.data_seed)
    rows = np.random.default_rng(STREAMS(config.seed, "subset", s)).permutation(config.pool)[:n]
    x, y = x_pool[rows], y_pool[rows]
    probe_epochs = training_epochs(n, config.probe_epochs, config.batch_size, config.probe_min_steps)
    probe = probe_scores(x, y, hidden=(config.width,), activation=config.activation, epochs=probe_epochs,
                         lr=config.lr, inits=config.probe_inits, rng=STREAMS(config.seed, "probe", s, n),
                         classes=CLASSES, batch_size=min(config.batch_size, n))
    mlp = config.arch
    shape = (len(config.strategies), len(config.rs))
    out = {"error": np.empty(shape), "test_loss": np.empty(shape), "finite": np.empty(shape, dtype=bool)}
    for i, r in enumerate(config.rs):
        rk = r_key(r)
        k = budget(r, n)
        sel_rows, weights = [], []
        for strategy in config.strategies:
            label, which = _STRATEGY_TABLE[strategy]
            name = getattr(config, which) if which else config.score
            sel = prune_label(label, probe.score(name), r, hard=probe.keep(name, "hard"), alpha=config.alpha,
                              rng=STREAMS(config.seed, "pruning", s, n, rk, MNIST1D_STRATEGIES.index(strategy)))
            sel_rows.append(sel.indices)
            weights.append(sel.weights)
        theta0 = mlp.init(STREAMS(config.seed, "init", s, n, rk))  # shared by every strategy: paired
        order = STREAMS(config.seed, "order", s, n, rk)
        bs = min(config.batch_size, k)
        fit = train_batch(mlp, x, y, np.stack(weights), theta0=np.repeat(theta0[None], len(sel_rows), axis=0),
                          epochs=training_epochs(k, config.epochs, config.batch_size, config.min_steps),
                          batch_size=bs, rows=np.stack(sel_rows), lr=config.lr,
                          order=[np.random.default_rng(order) for _ in sel_rows])
        out["error"][:, i], out["test_loss"][:, i] = _measure(mlp, np.array(fit.params), x_test, y_test)
        out["finite"][:, i] = fit.finite
    full = train_batch(mlp, x, y, theta0=mlp.init(STREAMS(config.seed, "init_full", s, n))[None],
                       epochs=training_epochs(n, config.epochs, config.batch_size, config.min_steps),
                       batch_size=min(config.batch_size, n), lr=config.lr,
                       order=[np.random.default_rng(STREAMS(config.seed, "order_full", s, n))])
    full_error, full_loss = _measure(mlp, np.array(full.params), x_test, y_test)
    out.update(full_error=float(full_error[0]), full_test_loss=float(full_loss[0]),
               probe_accuracy=float(probe.train_accuracy.mean()))
    return out


def _units(config):
    return [(n, s) for n in config.ns for s in range(config.seeds)]


@one_blas_thread
def run_mnist1d(config: MNIST1DConfig, results_dir=None, progress: bool | None = False) -> MNIST1DResult:
    """Run (or reuse, or resume) ``results_dir/mnist1d-scaling-<hash>.json``; each (n, seed) is a unit."""
    if not isinstance(config, MNIST1DConfig):
        raise TypeError(f"config must be an MNIST1DConfig, got {type(config).__name__}")
    record = Store(results_dir).run(
        config, units=_units(config), compute=lambda unit, _: _run_unit(config, *unit),
        decode_unit=functools.partial(_decode_unit, config=config), progress=progress, desc="mnist1d-scaling")
    ns, seeds = len(config.ns), config.seeds
    per = {key: np.empty((len(config.strategies), len(config.rs), ns, seeds), dtype=dt)
           for key, dt in (("error", float), ("test_loss", float), ("finite", bool))}
    scalars = {key: np.empty((ns, seeds)) for key in ("full_error", "full_test_loss", "probe_accuracy")}
    for j, n in enumerate(config.ns):
        for s in range(seeds):
            unit = record.units[(n, s)]
            for key in per:
                per[key][:, :, j, s] = unit[key]
            for key in scalars:
                scalars[key][j, s] = unit[key]
    for arr in (*per.values(), *scalars.values()):
        arr.setflags(write=False)
    return MNIST1DResult(config, **per, **scalars, seconds=record.seconds, path=record.path)


register_runner(MNIST1DConfig, run_mnist1d)


def _decode_unit(raw, *, config) -> dict:
    shape = (len(config.strategies), len(config.rs))
    error = check_array("error", raw["error"], shape=shape)
    if not (np.isfinite(error).all() and (error >= 0).all() and (error <= 1).all()):
        raise ValueError("error must hold fractions in [0, 1]")
    out = {"error": error, "test_loss": check_array("test_loss", raw["test_loss"], shape=shape, allow_nan=True),
           "finite": check_array("finite", raw["finite"], shape=shape, dtype=bool)}
    for key in ("full_error", "probe_accuracy"):
        out[key] = check_real(key, raw[key], low=0.0, high=1.0)
    out["full_test_loss"] = float(raw["full_test_loss"])
    return out


TAIL_POINTS = 3  # an SBPA curve's "tail": its fit over the three largest n


def scaling_summary(result: MNIST1DResult, level: float = 0.95, strategies=None) -> dict:
    """Power-law fits of test error against n (= k / r) and crossovers with random, per r and strategy.

    Returns {r: {strategy: {"fit": PowerLawFit over every n, "tail": PowerLawFit over the
    ``TAIL_POINTS`` largest n (None with fewer n), "crossing": Crossing of the strategy's mean
    error over random's (None for random itself)}}}. A ``crossover`` at n* means the strategy is
    better than random below n* and worse above it; ``never-better``: worse at every n;
    ``no-crossover-in-range``: not worse at the largest n (:func:`theory_sim.stats.crossing`).
    ``strategies``: the subset to summarise (default: all of the config's).
    """
    cfg = result.config
    chosen = cfg.strategies if strategies is None else [s for s in strategies if s in cfg.strategies]
    out = {}
    for r in cfg.rs:
        per = {}
        for strategy in chosen:
            values = result.curve(strategy, r)
            entry = {"fit": fit_power_law(cfg.ns, values, level=level) if len(cfg.ns) >= 3 else None,
                     "tail": (fit_power_law(cfg.ns, values, n_min=cfg.ns[-TAIL_POINTS], level=level)
                              if len(cfg.ns) >= TAIL_POINTS else None),
                     "crossing": None}
            if strategy != "random" and "random" in cfg.strategies:
                entry["crossing"] = bootstrap_crossing(cfg.ns, values, result.curve("random", r), boot=1000,
                                                       rng=r_key(r))
            per[strategy] = entry
        out[r] = per
    return out


# ---------------------------------------------------------------------------------------
# The registered experiment
# ---------------------------------------------------------------------------------------
SIZES = {
    "tiny": dict(ns=(100, 200, 400), rs=(0.3, 0.5), seeds=2, pool=400, n_test=200, width=8, epochs=1, min_steps=3,
                 batch_size=32, probe_epochs=1, probe_min_steps=2, probe_inits=1),
    "small": dict(ns=(300, 1000, 3000), rs=(0.1, 0.3, 0.7), seeds=3, pool=3000, n_test=2000, width=32, epochs=3,
                  min_steps=100, probe_epochs=2, probe_min_steps=40, probe_inits=1),
    "default": dict(),  # MNIST1DConfig's defaults: n from 10³ to 10⁵, 5 seeds, test set 10⁴
    "full": dict(seeds=10, epochs=20, min_steps=800, probe_inits=3),
}


def configs(size: str) -> dict:
    return {"mnist1d": MNIST1DConfig(**SIZES[size])}


register(Experiment("mnist1d_scaling", "pruned scaling laws on MNIST-1D: test error vs number kept, per r",
                    (), configs))
