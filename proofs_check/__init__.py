"""Symbolic and exact checks of the claims (DESIGN §2.5). Filled in by the proofs_check issue."""
