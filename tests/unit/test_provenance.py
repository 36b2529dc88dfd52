"""Provenance: the git revision recorded in result files, figure sidecars and the report."""

import shutil
import subprocess

import pytest

from theory_sim.provenance import _git_revision_of, versions

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(cwd, *args):
    return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True).stdout.strip()


def _repo(path):
    path.mkdir()
    _git(path, "init", "-q")
    (path / "a.txt").write_text("one\n")
    _git(path, "add", "a.txt")
    _git(path, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "first")
    return path


def test_commit_and_dirty_flag(tmp_path):
    repo = _repo(tmp_path / "repo")
    head = _git(repo, "rev-parse", "HEAD")
    assert _git_revision_of(repo) == {"commit": head, "dirty": False}
    (repo / "a.txt").write_text("two\n")
    assert _git_revision_of(repo) == {"commit": head, "dirty": True}
    (repo / "untracked.txt").write_text("x\n")  # untracked files (results, figures) do not make it dirty
    (repo / "a.txt").write_text("one\n")
    assert _git_revision_of(repo) == {"commit": head, "dirty": False}


def test_no_repository_or_someone_elses_gives_none(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    assert _git_revision_of(plain) is None
    # a package folder inside another repository (e.g. site-packages of a venv inside a clone)
    inner = _repo(tmp_path / "outer") / "venv" / "site-packages"
    inner.mkdir(parents=True)
    assert _git_revision_of(inner) is None


def test_versions_carry_the_git_key():
    v = versions()
    assert "git" in v and (v["git"] is None or set(v["git"]) == {"commit", "dirty", "source"})


def test_installed_copy_matches_a_checkout_only_when_its_sources_are_identical(tmp_path):
    from theory_sim.provenance import _SOURCE_PACKAGES, _same_sources

    checkout, installed = tmp_path / "checkout", tmp_path / "site-packages"
    for root in (checkout, installed):
        for package in _SOURCE_PACKAGES:
            (root / package / "sub").mkdir(parents=True)
            (root / package / "__init__.py").write_text("x = 1\n")
            (root / package / "sub" / "m.py").write_text("y = 2\n")
    (installed / "theory_sim" / "__pycache__").mkdir()  # compiled files do not count
    (installed / "theory_sim" / "__pycache__" / "m.pyc").write_bytes(b"\0")
    assert _same_sources(installed, checkout)
    (checkout / "figures" / "sub" / "m.py").write_text("y = 3\n")  # edited in the checkout
    assert not _same_sources(installed, checkout)
    (checkout / "figures" / "sub" / "m.py").write_text("y = 2\n")
    (checkout / "proofs_check" / "new.py").write_text("")  # a file the installed copy lacks
    assert not _same_sources(installed, checkout)


def test_git_revision_says_where_it_came_from():
    from theory_sim.provenance import git_revision

    found = git_revision()
    assert found is None or found["source"] in ("package", "checkout")
