r"""Softplus and sigmoid that numba can vectorise, each with a bitwise numpy twin.

.. math::

    s(u) = \log(1 + e^{u}) = \max(u, 0) + \operatorname{log1p}(e^{-|u|}),
    \qquad \sigma(u) = s'(u) = \frac{1}{1 + e^{-u}}.

Why not ``math.log1p(math.exp(-abs(u)))``: the llvmlite wheels have no SVML, so calls to
``exp``/``log1p`` stay scalar calls and a loop around them does not vectorise. Here both are
built from ``+ − × ÷``, comparisons (compiled to selects, not branches) and exact
power-of-two scaling by writing an exponent field, so LLVM vectorises the loop.

Algorithm (t = −|u| ≤ 0, clamped to ``T_MIN`` where e^t is already 0 in float64):

1. **exp** (Cody–Waite reduction, as in fdlibm ``e_exp.c``):
   n = round(t / ln 2) by the shifter trick ``(t·(1/ln 2) + SHIFT) − SHIFT``;
   ρ = (t − n·LN2_HI) − n·LN2_LO, |ρ| ≤ ln2/2 (n·LN2_HI and the first difference are
   exact); e^ρ by Horner on a polynomial of degree ``EXP_DEGREE``;
   e^t = (e^ρ · 2^{n_a}) · 2^{n − n_a}, with n_a = n except in the subnormal range, so the
   only rounding of the scaling is the last product (correct gradual underflow).
2. **log1p** for e ∈ [0, 1] without forming 1 + e (which would lose e when e < 2^-53):
   with w = 2e / (2 + e) ∈ [0, 2/3] and z = w², log1p(e) = 2 atanh(w/2) = w + w·z·q(z),
   q a polynomial of degree ``ATANH_DEGREE`` on [0, 4/9]. (``e + e`` is exact, so a
   subnormal e keeps all its bits.)
3. s(u) = max(u, 0) + log1p(e);  σ(u) = (1 if u ≥ 0 else e) / (1 + e).

The two polynomials are the Taylor series of exp and of (atanh(√y/2)·2/√y − 1)/y
(coefficients 1/k! and 1/(4^{k+1}(2k+3))), Chebyshev-economised in exact rational
arithmetic (:func:`economise`) to the smallest degree whose truncation is below 2^-56
relative; :func:`derive_constants` re-derives every literal below.

Error bound (stated as :data:`SOFTPLUS_REL_ERROR` and :data:`SIGMOID_REL_ERROR`, tested
in ``tests/reference/test_models_kernels.py``): for every float64 u whose s(u) is a normal
number, |ŝ(u) − s(u)| ≤ 4·2^-52·s(u); where s(u) is subnormal (−745.2 < u < −708.4),
|ŝ − s| ≤ 2^-1073 (two subnormal ulps); below, ŝ = 0 as for ``np.logaddexp``. The same
holds for σ. A priori budget, in units of the unit roundoff 𝐮 = 2^-53, each rounding
costing at most 1𝐮:

- e^t: reduction 0.35𝐮 (the rounding of ρ, times |ρ|), truncation 0.04𝐮, Horner 2.6𝐮
  (1𝐮 for the final "+ 1"; 2.5𝐮 on ρ·p₁, where |ρ·p₁| ≤ 0.42 and e^ρ ≥ 0.707): ≤ 3.0𝐮;
- log1p(e) for exact e: w 2𝐮 (2 + e, then the division), truncation 0.04𝐮, the w·z·q
  term (≤ 4.2% of the result, ~4𝐮 on it) 0.2𝐮, the final sum 1𝐮: ≤ 3.2𝐮; an error in e
  enters damped by e/((1 + e) log1p e) ≤ 1;
- s(u) ≤ 6.2𝐮 for u ≤ 0; for u > 0 the sum max(u, 0) + log1p(e) adds 1𝐮 and damps
  the rest by log1p(e)/s ≤ 1: ≤ 7.2𝐮 = 3.6·2^-52;
- σ(u): 1 + e and the division 2𝐮, plus the exp error damped by 1/(1 + e): ≤ 5𝐮 = 2.5·2^-52.
- subnormal results: the scaling rounds once (0.5 ulp) and the exp error is far below
  one subnormal ulp; w = (e + e)/2 is exact; so ≤ 1 ulp, stated as 2.

Measured (tests/reference/test_models_kernels.py): max 2.0·2^-52 for s and 1.8·2^-52 for
σ against a 40-digit ``mpmath`` reference; 2.3·2^-52 against ``np.logaddexp`` (which has
its own ~1·2^-52 error) on a dense grid of [−800, 800].

Reproducibility: every step is one IEEE-754 operation with round-to-nearest, written in
the same order in both twins. The numba versions are compiled **without** ``fastmath``,
so LLVM neither reassociates nor contracts ``a*b + c`` into an FMA; numpy's ufuncs round
each operation. Hence :func:`softplus_nb` and :func:`softplus_np` (and the sigmoids)
agree bitwise on every input, NaN and ±inf included (NaN in, NaN out).

numba's cache (``cache=True``) keys a kernel on its own source file only: the kernels of
``models.py`` inline :func:`softplus_nb`, so after editing this file delete
``theory_sim/__pycache__/*.nbi`` and ``*.nbc`` (or touch ``models.py``), else they keep the
old arithmetic. The bitwise twin tests catch a stale cache.

Where the constants come from: :func:`derive_constants` computes all of them from exact
rationals (``fractions``) and a 60-digit ln 2 (``decimal``), so nothing is fitted; it
re-runs quickly and a test checks that it reproduces every literal bit for bit.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

__all__ = [
    "ATANH_DEGREE",
    "EXP_DEGREE",
    "SIGMOID_REL_ERROR",
    "SOFTPLUS_REL_ERROR",
    "SUBNORMAL_ABS_ERROR",
    "derive_constants",
    "economise",
    "sigmoid_nb",
    "sigmoid_nb_array",
    "sigmoid_np",
    "softplus_nb",
    "softplus_nb_array",
    "softplus_np",
]

# ---------------------------------------------------------------------------------------
# Constants: each with the reason for its value. The numbers are the output of
# derive_constants() below; tests/reference/test_models_kernels.py re-runs it and checks
# every literal bit for bit (the SciPy `_precompute` habit).
# ---------------------------------------------------------------------------------------
EXP_DEGREE = 11  # smallest degree with truncation < 2^-56 relative on |ρ| ≤ EXP_RADIUS (10: 2.7·2^-53)
ATANH_DEGREE = 9  # smallest degree of q with truncation < 2^-56 relative in log1p (8: 1.6·2^-53)
EXP_RADIUS = Fraction(3466, 10000)  # > ln2/2 = 0.346574 plus the rounding of t/ln2 (< 1e-12): covers every reduced ρ
TAYLOR_TERMS = 40  # Taylor terms fed to the economisation: the tails (< 1e-28) vanish next to 2^-56
LN2_HI_BITS = 32  # LN2_HI keeps 32 significant bits: n·LN2_HI is exact for |n| < 2^21 (fdlibm)
T_MIN = -746.0  # e^t < 2^-1075 below this (rounds to 0); clamping keeps n ≥ -1077 (and NaN out of the integer path)
SUBNORMAL_N = -1000  # for n below this, scale by 2^(n+64) then 2^-64, so 2^n_a stays a normal number
SUBNORMAL_SHIFT = 64  # any shift with n + shift ≥ -1022 for n ≥ -1077 works; 64 keeps it a round number
SOFTPLUS_REL_ERROR = 4.0 * 2.0**-52  # stated bound where s(u) is normal: a priori 3.6·2^-52 (module docstring)
SIGMOID_REL_ERROR = 4.0 * 2.0**-52  # stated bound where σ(u) is normal: a priori 2.5·2^-52, the same round number
SUBNORMAL_ABS_ERROR = 2.0**-1073  # stated bound where the result is subnormal: two subnormal ulps

INV_LN2 = 1.4426950408889634  # 1/ln 2 rounded; it only chooses n (accuracy comes from LN2_HI, LN2_LO)
LN2_HI = 0.6931471803691238  # = 0x1.62e42feep-1, fdlibm's ln2_hi
LN2_LO = 1.9082149292705877e-10  # = 0x1.a39ef35793c76p-33, fdlibm's ln2_lo
SHIFT = 6755399441055744.0  # 1.5·2^52: x + SHIFT rounds x (|x| < 2^51) to an integer held in the low mantissa bits
SHIFT_BITS = 4843621399236968448  # the bit pattern of SHIFT as an int64
# e^ρ ≈ Σ_k EXP_C[k] ρ^k on |ρ| ≤ EXP_RADIUS (Taylor series of exp, Chebyshev-economised)
EXP_C = (
    1.0, 1.0, 0.5000000000000019, 0.16666666666666702, 0.041666666666487974, 0.00833333333330951,
    0.001388888895234707, 0.00019841269909250933, 2.480148544815057e-05, 2.7557224927351573e-06,
    2.763265216957956e-07, 2.5114879796112015e-08,
)  # fmt: skip
# q(z) ≈ Σ_k ATANH_C[k] z^k on 0 ≤ z ≤ 4/9, with log1p(e) = 2 atanh(w/2) = w + w z q(z), w = 2e/(2+e), z = w²
# (Taylor coefficients 1/(4^(k+1) (2k+3)), Chebyshev-economised)
ATANH_C = (
    0.08333333333333333, 0.01250000000000466, 0.0022321428567991454, 0.00043402778759411647,
    8.877826705557984e-05, 1.878122437775711e-05, 4.063112574057095e-06, 9.157023617116785e-07,
    1.6774877050303777e-07, 7.713225797722385e-08,
)  # fmt: skip
SUBNORMAL_SCALE = 2.0**-SUBNORMAL_SHIFT

# Horner is written out term by term below (numba then sees straight-line code); these
# unpackings fail loudly if a degree above is changed without updating the code.
(E0, E1, E2, E3, E4, E5, E6, E7, E8, E9, E10, E11) = EXP_C
(Q0, Q1, Q2, Q3, Q4, Q5, Q6, Q7, Q8, Q9) = ATANH_C


def _chebyshev_basis(n: int) -> list[list[Fraction]]:
    """Monomial coefficients of the Chebyshev polynomials T_0, ..., T_n (exact)."""
    basis = [[Fraction(1)], [Fraction(0), Fraction(1)]]
    for _ in range(2, n + 1):
        shifted = [Fraction(0)] + [2 * c for c in basis[-1]]  # 2 t T_k
        previous = basis[-2] + [Fraction(0)] * 2
        basis.append([a - b for a, b in zip(shifted, previous)])  # T_{k+1} = 2 t T_k − T_{k−1}
    return basis[: n + 1]


def economise(coeffs, center, half, degree) -> tuple[list[Fraction], Fraction]:
    r"""Chebyshev economisation of a polynomial on [center − half, center + half], exactly.

    Writes p(x) = Σ a_k x^k in the Chebyshev basis of t = (x − center)/half, drops the
    terms above ``degree`` and returns the monomial coefficients (in x) of what is left,
    with the bound Σ_{k > degree} |c_k| on the change (|T_k| ≤ 1 on the interval).
    All arithmetic is on :class:`fractions.Fraction`, so the result is exact and the same
    on every machine (Mason & Handscomb, *Chebyshev Polynomials*, §3.6).
    """
    from math import comb

    n = len(coeffs) - 1
    in_t = [Fraction(0)] * (n + 1)
    for k, a in enumerate(coeffs):
        for j in range(k + 1):
            in_t[j] += a * comb(k, j) * center ** (k - j) * half**j
    basis = _chebyshev_basis(n)
    cheb = [Fraction(0)] * (n + 1)
    for k in range(n, -1, -1):  # T_k has leading coefficient 2^(k−1): peel from the top
        cheb[k] = in_t[k] / basis[k][k]
        for j in range(k + 1):
            in_t[j] -= cheb[k] * basis[k][j]
    dropped = sum((abs(c) for c in cheb[degree + 1 :]), Fraction(0))
    kept_t = [Fraction(0)] * (degree + 1)
    for k in range(degree + 1):
        for j in range(k + 1):
            kept_t[j] += cheb[k] * basis[k][j]
    out = [Fraction(0)] * (degree + 1)
    for k, a in enumerate(kept_t):  # back to x: t = (x − center)/half
        for j in range(k + 1):
            out[j] += a * comb(k, j) * (-center) ** (k - j) / half**k
    return out, dropped


def derive_constants() -> dict:
    """Re-derive every numeric constant of this module from exact arithmetic.

    Returns
    -------
    dict with keys
        ``inv_ln2``, ``ln2_hi`` (ln 2 truncated to ``LN2_HI_BITS`` significant bits),
        ``ln2_lo`` (ln 2 − ln2_hi, rounded), ``shift``, ``shift_bits``,
        ``exp_coeffs`` (``EXP_C``), ``atanh_coeffs`` (``ATANH_C``), and the truncation
        bounds, relative: ``exp_truncation`` (economisation plus Taylor tail on
        |ρ| ≤ EXP_RADIUS, divided by e^-EXP_RADIUS) and ``atanh_truncation`` (the error
        |Δq| of q on [0, 4/9] enters log1p(e) = w(1 + z q) as z |Δq| ≤ (4/9) |Δq|).
        Both must be < 2^-56.

    Notes
    -----
    ln 2 comes from :mod:`decimal` at 60 digits. The exp coefficients are the Taylor
    coefficients 1/k! (k < TAYLOR_TERMS), economised to degree ``EXP_DEGREE`` on
    [−EXP_RADIUS, EXP_RADIUS]; the atanh ones are 1/(4^{k+1}(2k+3)), economised to degree
    ``ATANH_DEGREE`` on [0, 4/9]. ``float(Fraction)`` rounds correctly to nearest.
    """
    with localcontext() as ctx:
        ctx.prec = 60
        ln2 = Fraction(Decimal(2).ln())
    ln2_hi = Fraction(math.floor(ln2 * 2**LN2_HI_BITS), 2**LN2_HI_BITS)  # ln2 ∈ [1/2, 1)
    exp_c, exp_drop = economise(
        [Fraction(1, math.factorial(k)) for k in range(TAYLOR_TERMS)], Fraction(0), EXP_RADIUS, EXP_DEGREE
    )
    exp_tail = EXP_RADIUS**TAYLOR_TERMS / math.factorial(TAYLOR_TERMS) * 2  # Taylor remainder, e^R < 2
    z_max = Fraction(4, 9)  # z = w² with w = 2e/(2 + e) ≤ 2/3
    at_c, at_drop = economise(
        [Fraction(1, 4 ** (k + 1) * (2 * k + 3)) for k in range(TAYLOR_TERMS)], z_max / 2, z_max / 2, ATANH_DEGREE
    )
    at_tail = (z_max / 4) ** TAYLOR_TERMS / (1 - z_max / 4)  # Σ_{k ≥ K} (z/4)^k/(4(2k+3)) ≤ (z/4)^K/(1 − z/4)
    shift = 1.5 * 2.0**52
    return {
        "inv_ln2": float(1 / ln2),
        "ln2_hi": float(ln2_hi),
        "ln2_lo": float(ln2 - ln2_hi),
        "shift": shift,
        "shift_bits": int(np.float64(shift).view(np.int64)),
        "exp_coeffs": tuple(float(c) for c in exp_c),
        "atanh_coeffs": tuple(float(c) for c in at_c),
        "exp_truncation": float((exp_drop + exp_tail) / Fraction(math.exp(-float(EXP_RADIUS)))),
        "atanh_truncation": float((at_drop + at_tail) * z_max),
    }


# ---------------------------------------------------------------------------------------
# Bit reinterpretation (free in machine code; what ldexp does inside).
# ---------------------------------------------------------------------------------------
@intrinsic
def _float_bits(typingctx, x):
    """The IEEE-754 bit pattern of a float64, as an int64 (``np.float64.view(np.int64)``)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _bits_float(typingctx, x):
    """The float64 with bit pattern ``x`` (``np.int64.view(np.float64)``)."""
    if x != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


# ---------------------------------------------------------------------------------------
# numba scalar versions. Every line has its twin, in the same order, in the numpy section.
# ---------------------------------------------------------------------------------------
@numba.njit(cache=True, inline="always", error_model="numpy")
def _exp_neg_nb(t):  # pragma: no cover - compiled
    """e^t for t ≤ 0 (or NaN, treated as T_MIN); see the module docstring, step 1."""
    t = t if t > T_MIN else T_MIN  # NaN > T_MIN is False: NaN never reaches the integer path
    kf = t * INV_LN2 + SHIFT  # rounds t/ln2 to an integer held in the low mantissa bits
    nf = kf - SHIFT  # exact
    n = _float_bits(kf) - SHIFT_BITS  # the same integer, as int64
    r = (t - nf * LN2_HI) - nf * LN2_LO
    p = E11
    p = p * r + E10
    p = p * r + E9
    p = p * r + E8
    p = p * r + E7
    p = p * r + E6
    p = p * r + E5
    p = p * r + E4
    p = p * r + E3
    p = p * r + E2
    p = p * r + E1
    p = p * r + E0
    tiny = n < SUBNORMAL_N
    na = n + SUBNORMAL_SHIFT if tiny else n
    last = SUBNORMAL_SCALE if tiny else 1.0
    return (p * _bits_float((na + 1023) << 52)) * last


@numba.njit(cache=True, inline="always", error_model="numpy")
def _log1p_unit_nb(e):  # pragma: no cover - compiled
    """log(1 + e) for e ∈ [0, 1]; see the module docstring, step 2."""
    w = (e + e) / (2.0 + e)
    z = w * w
    q = Q9
    q = q * z + Q8
    q = q * z + Q7
    q = q * z + Q6
    q = q * z + Q5
    q = q * z + Q4
    q = q * z + Q3
    q = q * z + Q2
    q = q * z + Q1
    q = q * z + Q0
    return w + (w * z) * q


@numba.njit(cache=True, inline="always", error_model="numpy")
def softplus_nb(u):  # pragma: no cover - compiled
    """s(u) = log(1 + e^u) for a float64 u (numba); bitwise twin of :func:`softplus_np`."""
    e = _exp_neg_nb(-abs(u))
    pos = u if u > 0.0 else 0.0
    s = pos + _log1p_unit_nb(e)
    return s if u == u else u


@numba.njit(cache=True, inline="always", error_model="numpy")
def sigmoid_nb(u):  # pragma: no cover - compiled
    """σ(u) = 1/(1 + e^{−u}) for a float64 u (numba); bitwise twin of :func:`sigmoid_np`."""
    e = _exp_neg_nb(-abs(u))
    num = 1.0 if u >= 0.0 else e
    s = num / (1.0 + e)
    return s if u == u else u


# ---------------------------------------------------------------------------------------
# numpy twins: the same operations, in the same order, on arrays.
# ---------------------------------------------------------------------------------------
def _exp_neg_np(t):
    t = np.where(t > T_MIN, t, T_MIN)
    kf = t * INV_LN2 + SHIFT
    nf = kf - SHIFT
    n = kf.view(np.int64) - SHIFT_BITS
    r = (t - nf * LN2_HI) - nf * LN2_LO
    p = np.full_like(r, E11)
    for c in EXP_C[-2::-1]:
        p = p * r + c
    tiny = n < SUBNORMAL_N
    na = np.where(tiny, n + SUBNORMAL_SHIFT, n)
    last = np.where(tiny, SUBNORMAL_SCALE, 1.0)
    return (p * ((na + 1023) << 52).view(np.float64)) * last


def _log1p_unit_np(e):
    w = (e + e) / (2.0 + e)
    z = w * w
    q = np.full_like(z, Q9)
    for c in ATANH_C[-2::-1]:
        q = q * z + c
    return w + (w * z) * q


def _as_float_array(u):
    return np.asarray(u, dtype=np.float64)


def softplus_np(u):
    """s(u) = log(1 + e^u), elementwise, in numpy; bitwise twin of :func:`softplus_nb`.

    Parameters
    ----------
    u : array_like of float64 (any shape; a scalar gives a 0-d array)

    Returns
    -------
    ndarray, same shape as ``u``
        s(u), with relative error ≤ :data:`SOFTPLUS_REL_ERROR` where s(u) is normal.
    """
    u = _as_float_array(u)
    flat = u.reshape(-1)  # 1-d, so that .view works for 0-d input too
    e = _exp_neg_np(-np.abs(flat))
    pos = np.where(flat > 0.0, flat, 0.0)
    s = pos + _log1p_unit_np(e)
    return np.where(flat == flat, s, flat).reshape(u.shape)


def sigmoid_np(u):
    """σ(u) = 1/(1 + e^{−u}) = s'(u), elementwise, in numpy; bitwise twin of :func:`sigmoid_nb`.

    Parameters
    ----------
    u : array_like of float64

    Returns
    -------
    ndarray, same shape as ``u``
        σ(u), with relative error ≤ :data:`SIGMOID_REL_ERROR` where σ(u) is normal.
    """
    u = _as_float_array(u)
    flat = u.reshape(-1)
    e = _exp_neg_np(-np.abs(flat))
    num = np.where(flat >= 0.0, 1.0, e)
    s = num / (1.0 + e)
    return np.where(flat == flat, s, flat).reshape(u.shape)


@numba.njit(cache=True, error_model="numpy")
def _softplus_array_nb(u, out):  # pragma: no cover - compiled
    for i in range(u.shape[0]):
        out[i] = softplus_nb(u[i])


@numba.njit(cache=True, error_model="numpy")
def _sigmoid_array_nb(u, out):  # pragma: no cover - compiled
    for i in range(u.shape[0]):
        out[i] = sigmoid_nb(u[i])


def softplus_nb_array(u):
    """Apply :func:`softplus_nb` to every entry of ``u`` (a compiled loop; for tests and benchmarks)."""
    u = _as_float_array(u)
    out = np.empty(u.size)
    _softplus_array_nb(np.ascontiguousarray(u).reshape(-1), out)
    return out.reshape(u.shape)


def sigmoid_nb_array(u):
    """Apply :func:`sigmoid_nb` to every entry of ``u`` (a compiled loop; for tests and benchmarks)."""
    u = _as_float_array(u)
    out = np.empty(u.size)
    _sigmoid_array_nb(np.ascontiguousarray(u).reshape(-1), out)
    return out.reshape(u.shape)
