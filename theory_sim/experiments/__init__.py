"""Experiments: one module per experiment, named like its figure, and one registry.

=====================  ==================================================  ==============
module                 what it measures                                    claims
=====================  ==================================================  ==============
``limit``              kept points vs ν_r and µ as n grows                 C1
``consistency``        Δ_n vs n for SBPA, random, EC, AC                   C2, C3, C10, C11
``validity``           V_n of SBPA, label-free vs label-dependent          C4, C5, C6
``calibration``        test loss of EC and AC vs α                         C10–C12
``new_minima``         a certified new local minimum of L_ν_r              C7
``landscape``          loss landscape around a pruned MLP minimiser        C7
``width_validity``     pruned MLPs' population loss vs width               C7
``scaling_laws``       test loss vs n of a least-squares line              C8
``scaling_laws_mlp``   the same with a small MLP                           C8
``real_data``          accuracy vs r on bundled real data                  (headline)
``mnist1d_scaling``    test error vs number kept on MNIST-1D, per r        (headline)
``alpha_choice``       regret of the rules choosing α against α*           C12
``phase_diagram``      which strategy wins in the (r, n) plane             C8, C12
``gap_law``            √k · gap against its limit law, four protocols      C1 (the law)
=====================  ==================================================  ==============

:func:`run` runs a registered experiment at a size; every config goes through the one store
(:mod:`theory_sim.store`) and the runner registered for its kind (:func:`run_config`).
"""

from theory_sim.experiments._framework import (
    REGISTRY,
    RUNNERS,
    SIZES,
    Experiment,
    ExperimentConfig,
    compute_units,
    one_blas_thread,
    register,
    register_runner,
    result_files,
    run,
    run_config,
)

# The Monte Carlo engine behind consistency, validity and calibration (its runner registers here).
from theory_sim.experiments._montecarlo import (  # noqa: E402
    GapSummary,
    Limits,
    MonteCarloConfig,
    MonteCarloResult,
    parameter_net,
    population_limits,
    run_montecarlo,
)

# Registration: importing an experiment module adds it to REGISTRY (and its runners to RUNNERS).
from theory_sim.experiments import (alpha_choice, calibration, consistency, landscape, limit, mnist1d_scaling,  # noqa: E402,F401
                                    new_minima, real_data, scaling_laws, scaling_laws_mlp, validity,
                                    width_validity)
from theory_sim.experiments import perceptron, policies  # noqa: E402,F401  (issue 14: selection policies)
from theory_sim.experiments import phase_diagram  # noqa: E402,F401  (issue 13)
from theory_sim.experiments import gap_law  # noqa: E402,F401  (issue 12: the law of the gaps)

__all__ = ["REGISTRY", "RUNNERS", "SIZES", "Experiment", "ExperimentConfig", "GapSummary", "Limits",
           "MonteCarloConfig", "MonteCarloResult", "compute_units", "one_blas_thread", "parameter_net", "population_limits", "register",
           "register_runner", "result_files", "run", "run_config", "run_montecarlo"]
