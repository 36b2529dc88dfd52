"""The objects of the theory: data laws µ (processes), scores g, the pruning protocols, the
exact thresholds q_r and limit laws ν_r, and the distances between samples and laws."""
