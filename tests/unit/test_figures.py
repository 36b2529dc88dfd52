"""Every registered figure builds at the small size, with PNG, PDF, CSV and a JSON sidecar."""

import csv
import json

import pytest

import figures


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(figures.REGISTRY))
def test_build_small(tmp_path, name):
    paths = figures.build(name, tmp_path, size="small", progress=False)
    assert {p.suffix for p in paths} == {".png", ".pdf", ".csv", ".json"}
    for p in paths:
        assert p.stat().st_size > 0
    assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(csv.reader((tmp_path / f"{name}.csv").open()))
    assert len(rows) > 1
    sidecar = json.loads((tmp_path / f"{name}.json").read_text())
    assert sidecar["figure"] == name and "numpy" in sidecar["versions"] and sidecar["config"]
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary file


def test_unknown_figure_and_size(tmp_path):
    with pytest.raises(ValueError, match="figure must be one of"):
        figures.build("nope", tmp_path)
    with pytest.raises(ValueError, match="size must be one of"):
        figures.build("limit", tmp_path, size="huge")
