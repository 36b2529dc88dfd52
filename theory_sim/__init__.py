"""theory_sim: verify the theory of score-based data pruning (Ayed & Hayou, arXiv 2302.06960).

The public API, layer by layer::

    processes  ->  scores  ->  pruning  ->  limits / distances  ->  models / population
              ->  experiments, montecarlo

>>> import theory_sim as ts
>>> mu = ts.make_process("gaussian-logistic", d=2)
>>> data = mu.sample(10_000, rng=0)
>>> g = ts.make_score("margin", process=mu)(data.x, data.y)
>>> sel = ts.prune(g, r=0.1, protocol="sbpa", keep="lowest", rng=0)
>>> import math  # 1000 float64 weights of 1/1000 add up to 1 only up to rounding (1 + 4e-16 here)
>>> len(sel.indices), math.isclose(sel.weights.sum(), 1.0, rel_tol=1e-12)
(1000, True)
"""

from theory_sim.core.distances import (
    FUNCTION_SEED,
    PreparedTarget,
    cosine_functions,
    energy_distance,
    function_gap,
    ks_directions,
    ks_distance,
)
from theory_sim.experiments.limit import (
    LimitConfig,
    LimitPanelsConfig,
    LimitPanelsResult,
    LimitResult,
    LimitRow,
    run_limit,
    run_limit_panels,
)
from theory_sim.core.limits import (
    AcceptanceRegion,
    Adaptedness,
    LimitSample,
    NonAdaptedScoreWarning,
    Quantile,
    acceptance_region,
    check_adapted,
    limit_density,
    sample_limit,
    score_cdf,
    score_quantile,
    threshold_sd,
)
from theory_sim.core.processes import (
    PROCESSES,
    Data,
    Exponential,
    GaussianLogistic,
    GaussianMixture,
    LinearModel,
    Process,
    SineRegression,
    make_process,
)
from theory_sim.executors import DaskExecutor, LocalExecutor, make_executor
from theory_sim.experiments.new_minima import NewMinimumCertificate, certify_new_minimum
from theory_sim.experiments.width_validity import WidthValidityConfig, run_width_validity
from theory_sim.stats import LoglogFit, loglog_fit
from theory_sim.models.mlp import MLP, TrainResult, make_mlp, train
from theory_sim.models.fit import FitResult, fit_weighted
from theory_sim.models.linear import MODELS, Model, make_model, net_losses
from theory_sim.experiments import (GapSummary, Limits, MonteCarloConfig, MonteCarloResult, parameter_net,
                                    population_limits, run_montecarlo)
from theory_sim.models.population import PopulationLoss, population_loss
from theory_sim.core.pruning import PROTOCOLS, Selection, ec_variance, prune
from theory_sim.core.scores import SCORES, Score, make_score

from theory_sim.core.policies import (MU, POLICIES, Policy, RegionLimit, get_policy,  # noqa: E402
                                      register_policy)
from theory_sim.core import selection_policies as _selection_policies  # noqa: E402,F401  (built-in policies)
from theory_sim.core.processes import get_process, register_process  # noqa: E402
from theory_sim.core.scores import get_score, register_score  # noqa: E402
from theory_sim.models.linear import get_model, register_model  # noqa: E402
from theory_sim.registry import PluginError  # noqa: E402

from theory_sim.version import __version__  # noqa: E402

__all__ = [
    # processes
    "PROCESSES", "Data", "Exponential", "GaussianLogistic", "GaussianMixture", "LinearModel", "Process",
    "SineRegression", "make_process",
    # scores
    "SCORES", "Score", "make_score",
    # pruning
    "PROTOCOLS", "Selection", "ec_variance", "prune",
    # models and population losses
    "MODELS", "FitResult", "Model", "fit_weighted", "make_model", "net_losses", "PopulationLoss", "population_loss",
    # MLPs, loss landscapes (claim C7)
    "MLP", "TrainResult", "make_mlp", "train", "NewMinimumCertificate", "WidthValidityConfig",
    "certify_new_minimum", "run_width_validity",
    # executors
    "DaskExecutor", "LocalExecutor", "make_executor",
    # Monte Carlo engine
    "GapSummary", "Limits", "MonteCarloConfig", "MonteCarloResult", "parameter_net", "population_limits",
    "run_montecarlo",
    # limits
    "AcceptanceRegion", "Adaptedness", "LimitSample", "NonAdaptedScoreWarning", "Quantile", "acceptance_region",
    "check_adapted", "limit_density", "sample_limit", "score_cdf", "score_quantile",
    "threshold_sd",
    # distances
    "FUNCTION_SEED", "PreparedTarget", "cosine_functions", "energy_distance", "function_gap", "ks_directions",
    "ks_distance",
    # experiments
    "LimitConfig", "LimitPanelsConfig", "LimitPanelsResult", "LimitResult", "LimitRow", "LoglogFit", "loglog_fit",
    "run_limit", "run_limit_panels",
]
__all__ += [  # extension points and their registries (docs/theory.md, "Extending the toolkit")
    "MU", "POLICIES", "PluginError", "Policy", "RegionLimit", "get_model", "get_policy", "get_process", "get_score",
    "register_model", "register_policy", "register_process", "register_score",
]  # fmt: skip

# choosing the signal fraction α of calibrated pruning (docs/theory.md, "Choosing α")
from theory_sim.core.alpha_choice import ALPHA_RULES, AlphaChoice, alpha_profile, choose_alpha, whiten  # noqa: E402

__all__ += ["ALPHA_RULES", "AlphaChoice", "alpha_profile", "choose_alpha", "whiten"]
