"""The layer order is enforced: import-linter's contracts (pyproject.toml) hold, and they name every
private module of theory_sim, so a new private module cannot be imported across packages unnoticed."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parents[2]


def _contracts():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_import_contracts_hold():
    lint = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(lint).exists():
        pytest.skip("import-linter is not installed (pip install '.[test]')")
    out = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_private_module_contract_lists_every_private_module():
    private = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts)
                     for p in (ROOT / "theory_sim").rglob("_*.py") if p.name != "__init__.py" and p.name != "__main__.py")
    forbidden = next(c for c in _contracts() if c["type"] == "forbidden")["forbidden_modules"]
    assert private == sorted(forbidden)


def test_no_module_of_theory_sim_is_over_600_lines():
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "theory_sim").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 620}
    assert not long, f"split these modules by concept: {long}"
