"""Shared test configuration.

Hypothesis profiles: ``ci`` (derandomized, so CI never flakes; the default) and ``dev``
(random examples, more of them: ``pytest --hypothesis-profile=dev``).
"""

import functools
import os
import pathlib
import re

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# The suite runs on two xdist workers (pyproject.toml: ``-n 2 --dist loadscope``). Tests are
# spread one by one, except the tests of a module that defines a module-, class- or
# session-scoped fixture: those stay together on one worker, so an expensive fixture (a quick
# report, a scaling-law run) is computed once, as in a serial run. Largest groups go first (xdist
# orders scopes by size). xdist's own ``loadgroup`` marks do not reach its scheduler under
# pytest 9 (it rewrites a node attribute pytest 9 no longer reads), hence the scheduler below.
_SHARED_FIXTURE = re.compile(r"scope\s*=\s*[\"'](module|class|session|package)[\"']")
# The users of the session's quick report (below: the report's tests, the documentation site's)
# form one group, so that the report is built once.
_QUICK_REPORT = re.compile(r"\bquick_report\b")


@functools.lru_cache(maxsize=None)
def _shares_a_fixture(path: str):
    """The scope a module's tests share: ``"quick_report"``, the module, or none (False)."""
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8")
    except OSError:
        return True
    if path.endswith(".py") and "conftest" not in path and _QUICK_REPORT.search(text):
        return "quick_report"
    return bool(_SHARED_FIXTURE.search(text))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    root = config.rootpath

    class _Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            path = nodeid.split("::", 1)[0]
            shared = _shares_a_fixture(str(root / path))
            return shared if isinstance(shared, str) else path if shared else nodeid

    return _Scheduling(config, log)


@pytest.fixture(scope="session")
def quick_report(tmp_path_factory):
    """A report at the quick preset (folder, index.html): the report's tests and the site's use it."""
    from figures.report import build_report

    out = tmp_path_factory.mktemp("report")
    return out, build_report(out, preset="quick", progress=False)
