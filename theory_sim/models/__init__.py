"""Models trained on (pruned) data: logistic and linear models, small numpy MLPs, probe
networks that score data, and population losses L and L_ν by quadrature."""
