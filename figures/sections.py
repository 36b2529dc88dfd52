"""How a claim of the register is presented: the report's sections and the site's claim pages.

The verification report (:mod:`figures.report`) and the documentation site's claim pages
(``docs/``) render the same entries of ``claims.json`` through the same Jinja2 templates
(``figures/templates``): a claim's section is the macro ``claim_section`` of ``claim.html.j2``,
so the two cannot disagree. Nothing here computes a verdict (that is :mod:`theory_sim.claims`);
this module only chooses which numbers a reader sees first and formats them.

Adding a section for a new experiment is one registration: a function of the entry that returns
the few :class:`Row` s (measured against predicted) which decide it, registered under the entry's
key (a claim id, or the key of an ``other_checks`` entry)::

    @section("policies", title="Pruning policies")
    def _policies(entry):
        n = entry["numbers"]
        return [Row("regret of the best policy", estimate(n["regret"], n["regret_ci"]), "≤ 0.01")]

An entry with no registered section is still rendered, with its first scalar numbers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

__all__ = ["Row", "SECTIONS", "Section", "TEMPLATES", "VERDICT_COLOURS", "decision", "estimate", "fmt", "how_checked",
           "present", "render", "render_claim", "section", "tables"]

TEMPLATES = Path(__file__).with_name("templates")

# Colours of the verdict words (not figure colours: the page test tells the two apart).
VERDICT_COLOURS = {"supported": "#009E73", "not supported": "#D55E00", "inconclusive": "#E69F00",
                   "not checked": "#999999", "reported": "#555555"}

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_MINUS = "\u2212"


def fmt(value, digits: int = 4) -> str:
    """A number as a reader wants it: at most ``digits`` significant digits, unless it is exact.

    Integers, fractions (``"3/10"``) and booleans are exact and printed in full; a float is
    rounded to ``digits`` significant digits, in scientific notation (``4.204×10⁻⁴``) outside
    [10⁻³, 10⁴); a string holding one decimal number (an mpmath value to 50 digits) is rounded
    like a float, and the decimals inside any other string are shortened the same way. Lists
    print as ``[a, b]``.

    >>> fmt(-0.6284903746350152), fmt(0.00042042713296830435), fmt(10000), fmt("3/10")
    ('−0.6285', '4.204×10⁻⁴', '10000', '3/10')
    >>> fmt("0.88338613954110608562627997047998917341865870507718"), fmt([-0.8667271, -0.3902536])
    ('0.8834', '[−0.8667, −0.3903]')
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return str(int(value)).replace("-", _MINUS)
    if isinstance(value, float) or hasattr(value, "dtype"):
        return _float(float(value), digits)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v, digits) for v in value) + "]"
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[-+]?\d+(/\d+)?", text):
            return str(Fraction(text)).replace("-", _MINUS)  # exact: an integer or a fraction
        if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?", text):
            return _float(float(text), digits)
        return re.sub(r"(?<![\w.])[-+]?\d+\.\d{%d,}(?:[eE][-+]?\d+)?" % (digits + 1),
                      lambda m: _float(float(m.group()), digits), value)
    return str(value)


def _float(x: float, digits: int) -> str:
    if not math.isfinite(x):
        return {math.inf: "∞", -math.inf: "−∞"}.get(x, "nan")
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 10 ** digits:
        text = f"{x:#.{digits}g}".rstrip(".")  # trailing zeros kept: 3.540, not 3.54
    else:
        mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        text = f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    return text.replace("-", _MINUS)


def estimate(value, ci=None, se=None) -> str:
    """``value [low, high]`` or ``value ± se (se)``, each number through :func:`fmt`.

    >>> estimate(-0.628, [-0.867, -0.390]), estimate(3.5396, se=0.00789)
    ('−0.6280 [−0.8670, −0.3900]', '3.540 ± 0.007890 (se)')
    """
    text = fmt(value)
    if ci is not None:
        text += f" [{fmt(ci[0])}, {fmt(ci[1])}]"
    if se is not None:
        text += f" ± {fmt(se)} (se)"
    return text


@dataclass(frozen=True)
class Row:
    """One decisive number: what was measured against what the theory predicts (or requires)."""

    quantity: str
    measured: str
    predicted: str
    summary: bool = True  # shown in the report's summary table (else only in the claim's section)


@dataclass(frozen=True)
class Section:
    """How one entry is presented: a short title and the function giving its decisive rows."""

    key: str
    title: str
    rows: Callable[[dict], list[Row]]


SECTIONS: dict[str, Section] = {}


def section(key: str, *, title: str) -> Callable:
    """Register the decisive rows of the entry ``key`` (decorator); see the module docstring."""
    def register(rows):
        SECTIONS[key] = Section(key, title, rows)
        return rows
    return register


SUMMARY_ROWS = 2  # decisive rows per claim in the summary table (the section shows them all)


def _default_rows(entry) -> list[Row]:
    scalars = [(k, v) for k, v in entry.get("numbers", {}).items() if not isinstance(v, dict)]
    return [Row(k.replace("_", " "), fmt(v), "") for k, v in scalars[:SUMMARY_ROWS]]


def present(key: str, entry: dict) -> dict:
    """The view of one entry of ``claims.json`` that the templates render (nothing is recomputed)."""
    sec = SECTIONS.get(key)
    title = sec.title if sec else entry.get("title", key)
    try:
        rows = sec.rows(entry) if sec and entry.get("numbers") is not None else _default_rows(entry)
    except (KeyError, TypeError, IndexError, ValueError):  # an entry of another shape: show its numbers
        rows = _default_rows(entry)
    summary = [r for r in rows if r.summary][:SUMMARY_ROWS]
    exact = entry.get("exact_check")
    return {"key": key, "anchor": re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-"), "title": title,
            "heading": title if title.lower().startswith(key.lower()) else f"{key}: {title}",
            "entry": entry, "figure": entry.get("figure"), "verdict": entry.get("verdict", "not checked"),
            "colour": VERDICT_COLOURS.get(entry.get("verdict"), "#555555"), "rows": rows, "summary_rows": summary,
            "tables": tables(entry.get("numbers") or {}), "how": how_checked(entry), "decision": decision(entry),
            "exact": exact and {"method": exact["method"], "verdict": exact["verdict"],
                                "summary": fmt(exact["evidence"].get("summary", "")),
                                "tables": tables({k: v for k, v in exact["evidence"].items() if k != "summary"})}}


def _test_row(t) -> dict:
    """One test of a decision, as text: estimate [90% CI], predicted ± margin, outcome, power, D_min."""
    if "estimate" not in t:
        return {"name": t["name"], "measured": f"({t.get('exact', 'exact')})", "required": "", "verdict": t["verdict"],
                "power": "", "min_detectable": ""}
    return {"name": t["name"], "measured": estimate(t["estimate"], [t["ci_low"], t["ci_high"]]),
            "required": f"{fmt(t['target'])} ± {fmt(t['margin'])}", "verdict": t["verdict"],
            "power": fmt(t["power"], 2), "min_detectable": fmt(t["min_detectable"], 2)}


def decision(entry: dict) -> dict | None:
    """The equivalence decision of an entry (docs/theory.md, "Statistics"): its margin, power, tests and negative
    controls as text, or None for an entry decided otherwise (an exact check, a certificate)."""
    if "tests" not in entry:
        return None
    return {"margin": entry.get("margin", ""), "power": fmt(entry.get("power", 0.0), 2),
            "tests": [_test_row(t) for t in entry["tests"]],
            "controls": [{"world": c["world"], "verdict": c["verdict"], "note": c.get("note", ""),
                          "colour": VERDICT_COLOURS.get(c["verdict"], "#555555"),
                          "tests": [_test_row(t) for t in c["tests"]]} for c in entry.get("controls", [])]}


def how_checked(entry: dict) -> str:
    """How the entry is checked: numerically (its experiment and figure), exactly (its proofs_check)."""
    parts = []
    if entry.get("figure"):
        parts.append(f"numerically, by the experiment behind the figure {entry['figure']} (simulation, against "
                     "limits computed independently, by quadrature or in closed form)")
    exact = entry.get("exact_check")
    if exact:
        kind = "by the numeric tests that proofs_check names" if exact["method"] == "numeric test" else \
            f"exactly ({exact['method']})"
        parts.append(f"{kind}: proofs-check --only {entry.get('claim', '')}")
    text = "; ".join(parts) or "not by any landed part of the toolkit yet"
    return text[0].upper() + text[1:] + "."


@dataclass
class Table:
    """A small table of numbers: a caption, a header (empty for key/value tables) and rows of text."""

    caption: str
    header: list = field(default_factory=list)
    rows: list = field(default_factory=list)


def tables(numbers: dict, caption: str = "") -> list[Table]:
    """The numbers of an entry as small tables, every value through :func:`fmt`.

    Scalars and lists go into one key/value table; a dict of dicts (one entry per r, per
    width, ...) becomes a grid, with the longer side down the page; other nested dicts get
    their own table, captioned with their key.
    """
    if numbers and all(isinstance(v, dict) and v and not any(isinstance(x, dict) for x in v.values())
                       for v in numbers.values()):
        return [_grid(caption, numbers)]  # one dict of scalars per case (per r, per width, ...)
    flat = Table(caption)
    out = [flat]
    for key, value in numbers.items():
        if isinstance(value, dict):
            out.extend(tables(value, key if caption == "" else f"{caption}: {key}"))
        else:
            flat.rows.append([key, fmt(value)])
    return [t for t in out if t.rows]


def _grid(caption, value) -> Table:
    columns = list(dict.fromkeys(k for v in value.values() for k in v))
    rows = [[outer] + [fmt(v[c]) if c in v else "" for c in columns] for outer, v in value.items()]
    if len(columns) > len(value):  # many quantities, few cases: the quantities go down the page
        rows = [[c] + [fmt(v[c]) if c in v else "" for v in value.values()] for c in columns]
        return Table(caption, [""] + list(value), rows)
    return Table(caption, [""] + columns, rows)


def _environment():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              undefined=jinja2.ChainableUndefined, trim_blocks=True, lstrip_blocks=True)


def render(template: str, **context) -> str:
    """Render one of the templates of ``figures/templates`` (autoescaped HTML)."""
    return _environment().get_template(template).render(**context)


def render_claim(key: str, entry: dict, figure_src=None, heading: bool = True) -> str:
    """The section of one entry: the report's, and the body of the site's claim page."""
    macro = _environment().get_template("claim.html.j2").module.claim_section
    return str(macro(present(key, entry), figure_src, heading))


from . import _claim_sections  # noqa: E402,F401  (registers the sections of the claim register)


@section("policies", title="Selection policies (not a claim)")
def _policies_rows(entry):
    """The agreement count and the controls: the per-cell numbers follow in the entry's table."""
    return [Row("verdicts, predicted vs measured", entry.get("criterion", "").split("Verdicts ")[-1].split(
        " Controls")[0], "agree in every decided cell")]


@section("perceptron", title="Teacher–student perceptron (not a claim)")
def _perceptron_rows(entry):
    """Sorscher et al.'s statement, as measured, with a perfect probe."""
    crit = entry.get("criterion", "")
    return [Row("perfect probe: keep-easy vs keep-hard", crit.split("perfect probe: ")[-1].split("; fixed N")[0],
                "easy better at small P/N, hard better at large P/N")]
