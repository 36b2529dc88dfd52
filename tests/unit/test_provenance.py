"""Provenance: the git revision recorded in result files, figure sidecars and the report."""

import shutil
import subprocess

import pytest

from theory_sim._results import _git_revision_of, versions

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
    assert "git" in v and (v["git"] is None or set(v["git"]) == {"commit", "dirty"})
