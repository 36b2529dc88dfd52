"""The presentation of the claims (figures/sections.py): precision, the decisive rows, one template.

Fast: stand-in entries shaped like claims.json's. The quick report's own entries are checked in
tests/unit/test_report.py (every registered section gives its rows, nothing falls back)."""

import doctest
import re

import pytest

import figures.sections as sections
from figures.sections import SECTIONS, Row, fmt, present, render_claim, section, tables
from theory_sim.claims import CLAIMS


def test_docstring_examples():
    assert doctest.testmod(sections).failed == 0


@pytest.mark.parametrize("value, text", [
    (3.5395920001851677, "3.540"), (-0.6284903746350152, "−0.6285"), (0.00042042713296830435, "4.204×10⁻⁴"),
    (3565.7992152633524, "3566"), (123456.7, "1.235×10⁵"), (3.8e-17, "3.8×10⁻¹⁷"), (0.0, "0"), (10000, "10000"),
    (float("inf"), "∞"), (True, "yes"), ("159/640", "159/640"), ("-4/8", "−1/2"),
    ("0.88338613954110608562627997047998917341865870507718", "0.8834"),
    ("(2.233e-01, 5.840e-02)", "(2.233e-01, 5.840e-02)"), ("[-5.820857, -1.455206]", "[−5.821, −1.455]"),
])
def test_fmt_keeps_four_significant_digits_unless_exact(value, text):
    assert fmt(value) == text


def _digits(text):
    """Significant digits of every decimal number (not an integer or fraction: exact) in a text."""
    return [len(m.group(1).lstrip("0.").replace(".", "")) for m in re.finditer(r"(\d+\.\d+)", text)]


def test_every_claim_has_a_section_with_a_short_title():
    assert set(CLAIMS) <= set(SECTIONS)
    assert all(len(SECTIONS[c].title) <= 40 for c in CLAIMS)


def test_a_new_section_is_one_registration():
    @section("stand-in check", title="A stand-in")
    def rows(entry):
        return [Row("regret", fmt(entry["numbers"]["regret"]), "≤ 0.01")]

    try:
        view = present("stand-in check", {"verdict": "supported", "statement": "s", "numbers": {"regret": 0.0012346}})
        assert view["title"] == "A stand-in" and view["summary_rows"] == [Row("regret", "0.001235", "≤ 0.01")]
        html = render_claim("stand-in check", view["entry"])
        assert "A stand-in" in html and "0.001235" in html and "supported" in html
    finally:
        del SECTIONS["stand-in check"]


def test_an_entry_without_a_section_shows_its_first_numbers():
    view = present("unknown", {"verdict": "reported", "statement": "s", "numbers": {"a_b": 1.23456, "c": 2, "d": 3}})
    assert view["summary_rows"] == [Row("a b", "1.235", ""), Row("c", "2", "")]


def test_a_section_that_does_not_fit_its_entry_falls_back():
    view = present("C1", {"verdict": "supported", "statement": "s", "numbers": {"other": 0.5}})
    assert view["rows"] == [Row("other", "0.5000", "")]


def test_tables_put_one_case_per_column_or_row():
    numbers = {"r=0.1": {"v_inf": 0.0, "v_n": [0.3248, 0.0141], "slope": -0.4978, "slope_ci": [-2.15, 1.155]},
               "r=0.3": {"v_inf": 0.0, "v_n": [0.0206, 0.00038], "slope": -1.615, "slope_ci": [-2.262, -0.9688]}}
    (t,) = tables(numbers)
    assert t.header == ["", "r=0.1", "r=0.3"] and [row[0] for row in t.rows] == ["v_inf", "v_n", "slope", "slope_ci"]
    mixed = tables({"a": 1.0, "width": {"random": {"w 4": 0.1, "w 16": 0.2}, "sbpa": {"w 4": 0.3, "w 16": 0.4}}})
    assert mixed[0].rows == [["a", "1.000"]] and mixed[1].caption == "width" and mixed[1].header == ["", "w 4", "w 16"]


def test_the_section_shows_the_criterion_figure_numbers_and_folds_the_exact_check():
    entry = {"claim": "C3", "statement": "Random pruning is consistent.", "verdict": "supported",
             "criterion": "95% CI of the slope contains −1/2", "numbers": {"slope": -0.6221227944750584,
                                                                           "slope_ci": [-0.8304795819912705, -0.41376]},
             "figure": "consistency", "command": "theory-sim consistency --protocol random",
             "exact_check": {"method": "numeric test", "verdict": "numeric-only",
                             "evidence": {"numeric_tests": "tests/x.py::t", "summary": "Delta_inf = 0.000000012345"}}}
    html = render_claim("C3", entry, figure_src="consistency.png")
    assert '<img alt="figure consistency" src="consistency.png">' in html
    assert "−0.6221 [−0.8305, −0.4138]" in html and "95% CI of the slope" in html
    assert re.search(r"<details><summary>Exact check \(numeric test\): numeric-only\. Delta_inf = 1\.235×10⁻⁸", html)
    assert "theory-sim consistency --protocol random" in html
    assert max(_digits(html)) <= 4
