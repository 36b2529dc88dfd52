"""Numerical building blocks, below every model of the theory: quadrature rules, the
correctly rounded softplus and sigmoid, and the numba selection kernels of pruning."""
