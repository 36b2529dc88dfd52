"""Figure ``policies``: which selection policies are consistent and valid, predicted against measured.

``gaussian-logistic`` (d = 2), logistic model, r = 0.3 (InfoBatch keeps what it keeps). Left:
Δ_n at the largest n (mean, 95% CI) against the predicted Δ_∞ (quadrature; Monte Carlo for the
prototype score). Middle: V_n against V_∞. Right: the table of verdicts, predicted / measured
(docs/theory.md, "Selection policies: a general limit law (ours)").
"""

from __future__ import annotations

import numpy as np
from matplotlib import pyplot as plt

from . import Figure, register

MARKERS = {"entropy": "o", "el2n": "s", "prototype": "^"}
SHORT = {"consistent": "C", "not consistent": "not C", "valid": "V", "not valid": "not V", "undecided": "?"}


def _rows(results):
    return [results[k].row for k in results]


def _scatter(ax, rows, pred_key, last_key, label):
    floor = 1e-5
    for row in rows:
        mean, lo, hi = row[last_key]
        pred = max(row[pred_key], floor)
        color = "C0" if row[pred_key] <= (1e-8 if pred_key == "v_inf" else 1e-9) else "C3"
        ax.errorbar([pred], [max(mean, floor)], yerr=[[max(mean, floor) - max(lo, floor * 0.5)], [hi - mean]],
                    marker=MARKERS[row["score"]], color=color, ms=4, capsize=1.5, lw=0.8)
    lim = [floor * 0.5, 2.0]
    ax.plot(lim, lim, ":", color="k", lw=0.8)
    ax.axvline(floor, color="0.6", lw=0.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lim)
    ax.set_xlabel(f"predicted {label}$_\\infty$ (limit 0 drawn at {floor:g})")
    ax.set_ylabel(f"measured {label}$_n$ at the largest n")


def plot(results):
    rows = _rows(results)
    fig = plt.figure(figsize=(10.0, 5.6), layout="constrained")
    grid = fig.add_gridspec(1, 3, width_ratios=[1, 1, 2.4])
    left, mid, right = (fig.add_subplot(grid[0, i]) for i in range(3))
    _scatter(left, rows, "delta_inf", "delta_last", "$\\Delta$")
    _scatter(mid, rows, "v_inf", "v_last", "$V$")
    left.set_title("consistency gap (blue: $\\Delta_\\infty$ = 0)", fontsize=8)
    mid.set_title("validity gap (blue: $V_\\infty$ = 0)", fontsize=8)
    for score, marker in MARKERS.items():
        left.plot([], [], marker, color="0.3", ls="", label=score)
    left.legend(fontsize=6, loc="lower right")
    right.axis("off")
    cells = []
    for row in rows:
        ds, vs = row["delta_slope"], row["v_slope"]
        cells.append([row["policy"].replace("-unweighted", " (unw.)"), row["score"], f"{row['kept_fraction']:.2f}", f"{row['delta_inf']:.3g}",
                      "—" if ds is None else f"{ds[0]:+.2f} [{ds[1]:+.2f},{ds[2]:+.2f}]",
                      f"{SHORT[row['predicted_consistent']]} / {SHORT[row['measured_consistent']]}",
                      f"{row['v_inf']:.2g}", "—" if vs is None else f"{vs[0]:+.2f} [{vs[1]:+.2f},{vs[2]:+.2f}]",
                      f"{SHORT[row['predicted_valid']]} / {SHORT[row['measured_valid']]}"])
    header = ["policy", "score", "kept", "Δ∞", "Δn slope [95%]", "consist.\npred/meas", "V∞", "Vn slope [95%]",
              "valid\npred/meas"]
    table = right.table(cellText=cells, colLabels=header, loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(5.5)
    table.auto_set_column_width(list(range(len(header))))
    table.scale(1.0, 1.25)
    for (i, j), cell in table.get_celld().items():
        if i > 0 and j in (5, 8):
            pred, meas = cells[i - 1][j].split(" / ")
            cell.set_facecolor("#d8f0e0" if pred == meas else "#fde0d0" if meas != "?" else "#f4f4f4")
    n = results[next(iter(results))].result.config.ns[-1]
    right.set_title(f"verdicts: C consistent, V valid, ? undecided; slopes over n ≤ {n:,} "
                    "(green: agree, red: disagree)", fontsize=7)
    fig.suptitle("Selection policies on the logistic model (r = 0.3): the limit law's prediction against the "
                 "Monte Carlo measurement", fontsize=9)
    return fig


def table(results):
    header = ["policy", "score", "kept_fraction", "delta_inf", "delta_inf_se", "v_inf", "delta_slope", "delta_slope_lo",
              "delta_slope_hi", "v_slope", "v_slope_lo", "v_slope_hi", "delta_last", "v_last", "predicted_consistent",
              "measured_consistent", "predicted_valid", "measured_valid", "method"]
    out = []
    for row in _rows(results):
        ds = row["delta_slope"] or (np.nan,) * 3
        vs = row["v_slope"] or (np.nan,) * 3
        out.append([row["policy"], row["score"], row["kept_fraction"], row["delta_inf"], row["delta_inf_se"],
                    row["v_inf"], *ds, *vs, row["delta_last"][0], row["v_last"][0], row["predicted_consistent"],
                    row["measured_consistent"], row["predicted_valid"], row["measured_valid"], row["method"]])
    return header, out


def config(results):
    return {f"{k[0]} {k[1]}": v.result.config.to_dict() for k, v in results.items()}


register(Figure("policies", "selection policies (CCS, moderate, soft, InfoBatch, prototype): consistency and "
                "validity, predicted by the general limit law against measured", plot, table, config))
