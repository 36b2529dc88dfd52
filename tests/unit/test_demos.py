"""Every teaching demo executes as a notebook (jupytext → nbclient), and the CLI writes it."""

import nbformat
import pytest

from demos import DEMOS
from theory_sim.cli import main


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(DEMOS))
def test_demo_executes(name, tmp_path):
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(DEMOS[name])
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                   extra_arguments=["--HistoryManager.enabled=False"]).execute()
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert any(cell.cell_type == "markdown" for cell in nb.cells)


def test_cli_writes_a_notebook(tmp_path, capsys):
    name = sorted(DEMOS)[0]
    assert main(["demo", name, "--out", str(tmp_path)]) == 0
    nb = nbformat.read(tmp_path / f"{name}.ipynb", as_version=4)
    assert nb.cells and capsys.readouterr().out.strip().endswith(f"{name}.ipynb")


def test_cli_lists_and_refuses_unknown(capsys, tmp_path):
    assert main(["demo", "--list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in DEMOS)
    assert main(["demo", "nope", "--out", str(tmp_path)]) == 2
    assert "demo must be one of" in capsys.readouterr().err
    assert main(["demo"]) == 2
