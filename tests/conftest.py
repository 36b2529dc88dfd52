"""Shared test configuration.

Hypothesis profiles: ``ci`` (derandomized, so CI never flakes; the default) and ``dev``
(random examples, more of them: ``pytest --hypothesis-profile=dev``).
"""

import os

import matplotlib

matplotlib.use("Agg")

from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
