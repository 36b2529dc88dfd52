"""The documentation site (docs/): built with warnings as errors, every page there, checked in Chromium.

The site is built once, from the session's quick report (tests/conftest.py: its figures and
claims.json are reused, nothing is simulated again); the gallery's demos are executed by the build.
The docstring examples of every module and the code of the docs' pages run as doctests.
"""

import doctest
import functools
import html.parser
import importlib
import importlib.util
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from markupsafe import escape

import theory_sim
from demos import DEMOS
from figures.sections import render_claim

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(quick_report, tmp_path_factory):
    """The built site (its html folder); the build's time is printed (pytest -s shows it)."""
    report, _ = quick_report
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "THEORY_SIM_REPORT": str(report), "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                          "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
                         env=env, capture_output=True, text=True, timeout=1200)
    print(f"docs build: {time.perf_counter() - start:.0f} s")
    assert run.returncode == 0, run.stderr[-5000:]
    return out / "html"


@pytest.mark.slow
def test_every_public_name_has_an_api_page(site):
    missing = [n for n in theory_sim.__all__ if not (site / "generated" / f"theory_sim.{n}.html").is_file()]
    assert not missing
    page = (site / "generated" / "theory_sim.prune.html").read_text()
    assert "Parameters" in page and "Returns" in page  # numpydoc sections rendered


def _section_table(text, cls):
    return re.search(rf'<table class="{cls}">.*?</table>', text, re.S).group()


@pytest.mark.slow
def test_every_claim_has_a_page_with_its_figure_and_the_reports_numbers(site, quick_report):
    report, page = quick_report
    payload = json.loads((report / "claims.json").read_text())
    report_html = page.read_text()
    for key, entry in {**payload["claims"], **payload["other_checks"]}.items():
        anchor = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")
        text = (site / "claims" / f"{anchor}.html").read_text()
        assert str(escape(entry["statement"])) in text, key
        if entry.get("figure"):
            assert f'src="../figures/{entry["figure"]}.png"' in text, key
            assert (site / "figures" / f"{entry['figure']}.png").is_file(), key
        # one template, one data: the site's decisive numbers are the report's, character for character
        if entry["verdict"] != "not checked":
            ours = _section_table(render_claim(key, entry), "ts-decisive")
            assert ours in text and ours in report_html, key


@pytest.mark.slow
def test_every_demo_is_in_the_gallery_executed_with_a_notebook(site):
    for name in DEMOS:
        text = (site / "gallery" / f"{name}.html").read_text()
        images = re.findall(r'<img[^>]+src="(\.\./_images/[^"]+\.png)"', text)
        if "plt." in DEMOS[name].read_text():  # the figures the demo drew when the site was built
            assert images, name
        assert all((site / "gallery" / src).is_file() for src in images)
        link = re.search(rf'href="(\.\./_downloads/[^"]+/{name}\.ipynb)"', text)
        assert link and (site / "gallery" / link.group(1)).is_file(), name
        assert "Traceback" not in text, name


def _load_conf():
    spec = importlib.util.spec_from_file_location("theory_sim_docs_conf", DOCS / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def test_a_public_name_without_a_docstring_fails_the_build(monkeypatch, tmp_path):
    conf = _load_conf()
    monkeypatch.setattr(conf, "DOCS", tmp_path)

    def undocumented():
        pass

    monkeypatch.setattr(theory_sim, "undocumented", undocumented, raising=False)
    monkeypatch.setattr(theory_sim, "__all__", [*theory_sim.__all__, "undocumented"])
    with pytest.raises(RuntimeError, match="without a docstring: undocumented"):
        conf._api_page()
    monkeypatch.setattr(theory_sim, "__all__", theory_sim.__all__[:-1])
    conf._api_page()  # the real list: every name documented
    assert "   prune" in (tmp_path / "api.rst").read_text()


def _modules():
    for package in ("theory_sim", "figures", "proofs_check"):
        root = importlib.import_module(package)
        yield root.__name__
        for info in pkgutil.walk_packages(root.__path__, package + "."):
            if not info.name.endswith("__main__"):  # runs a command line when imported
                yield info.name


@pytest.mark.parametrize("module", sorted(_modules()))
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_code_of_the_docs_pages(page):
    result = doctest.testfile(str(DOCS / page), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


# ---------------------------------------------------------------------------------------------
# In a browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# As tests/unit/test_report.py: no GPU, no sandbox (root in CI), no background networking; and a
# virtual time budget, so that the page's scripts (MathJax) have run when the DOM is taken.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=15000")
PAGES = {"home": ("index.html", "score-based data pruning", True, False),
         "claim": ("claims/c1.html", "SBPA converges to ν_r", False, True),
         "api": ("generated/theory_sim.ec_variance.html", "stratified-sampling formula", True, False),
         "gallery": ("gallery/limit_nu_r.html", "What score-based pruning keeps", False, True)}


def _chromium(site, tmp_path, page, *args):
    run = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args,
                          (site / page).as_uri()], capture_output=True, timeout=120, check=True)
    return run.stdout.decode()


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name) and not (tag == "link" and name == "href" and attrs.get("rel") == ["canonical"]):
                self.hrefs.append(attrs[name])


@functools.lru_cache(maxsize=None)
def _links(path):
    parser = _Links()
    parser.feed(path.read_text())
    return parser


def _broken_links(site, page):
    path = site / page
    broken = []
    for href in _links(path).hrefs:
        parts = urlsplit(href)
        if parts.scheme in ("data", "mailto") or href.startswith("javascript:"):
            continue
        if parts.scheme in ("http", "https", "ftp", "file") or (parts.netloc and not parts.scheme):
            broken.append(href)  # the site is offline: nothing may come from outside
            continue
        if parts.scheme:  # an address in a help text (tcp://HOST:PORT), not a link of the site
            continue
        target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
        if not target.is_file():
            broken.append(href)
        elif parts.fragment and target.suffix == ".html" and parts.fragment not in _links(target).ids:
            broken.append(href)
    return broken


@pytest.mark.slow
def test_no_broken_internal_link_on_any_page(site):
    """Every link and source of every page of the site points at a file (and anchor) of the site."""
    broken = {str(p.relative_to(site)): b for p in site.rglob("*.html") if "_static" not in p.parts and (b := _broken_links(site, p.relative_to(site)))}
    assert not broken


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium: .ci/run installs Debian's package where it can")
@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_in_headless_chromium(site, tmp_path, name):
    """Text present, math typeset by the site's own MathJax, figures drawn on screen."""
    from matplotlib.image import imread

    page, text, math, figure = PAGES[name]
    dom = _chromium(site, tmp_path, page, "--dump-dom")
    assert text in dom
    if math:  # MathJax replaced the TeX by its own elements
        assert "<mjx-container" in dom
    shot = tmp_path / "shot.png"
    _chromium(site, tmp_path, page, f"--screenshot={shot}", "--window-size=1400,2400")
    image = imread(shot)[..., :3]
    if figure:
        # The first colour of the figures' cycle (style.mplstyle: #0072B2; the demos' default blue
        # C0 #1f77b4), which the theme's text does not use: hundreds of pixels where a figure is drawn.
        # Control: the home page, which has no figure, shows almost none.
        def blue(img):
            return sum(int(np.all(np.abs(img - np.array([int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)])) <= 0.08,
                                  axis=-1).sum()) for c in ("#0072B2", "#1f77b4"))

        home = tmp_path / "home.png"
        _chromium(site, tmp_path, "index.html", f"--screenshot={home}", "--window-size=1400,2400")
        assert blue(image) > 500 and blue(imread(home)[..., :3]) < 100, (blue(image), blue(imread(home)[..., :3]))
    assert image.std() > 0.05  # not a blank page
