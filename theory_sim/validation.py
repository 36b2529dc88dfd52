"""One validation module, one error grammar.

Every message names the parameter, the value received and what is allowed, e.g.
``r must be in (0, 1], got 1.5``.  User input is never checked with ``assert``.
"""

from __future__ import annotations

import math
import numbers
import os
from fractions import Fraction

import numpy as np

__all__ = [
    "as_generator",
    "as_tuple",
    "budget",
    "check_alpha",
    "check_array",
    "check_choice",
    "check_int",
    "check_memory",
    "check_protocol",
    "check_r",
    "check_sample_sizes",
    "check_real",
]


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_real(name: str, value, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """Return ``value`` as a finite float in the stated interval, else raise.

    Raises ``TypeError`` for non-numbers (bools included) and ``ValueError`` for NaN,
    infinities and values outside the interval.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_show(value)}")
    # A narrower numpy float means the decimal it prints as (np.float32(0.1) is 0.1, not
    # 0.10000000149...): the number the user wrote, so configs built from it hash alike.
    value = float(str(value)) if isinstance(value, np.floating) and value.dtype.itemsize < 8 else float(value)
    lo = "-inf" if low is None else repr(low)
    hi = "inf" if high is None else repr(high)
    interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number in {interval}, got {_show(value)}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be in {interval}, got {_show(value)}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be in {interval}, got {_show(value)}")
    return value


def check_int(name: str, value, *, low=None, high=None) -> int:
    """Return ``value`` as a Python int in ``[low, high]``, else raise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_show(value)}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value}")
    return value


def check_r(r, name: str = "r") -> float:
    """Compression level: the fraction of the data *kept*, in (0, 1]."""
    return check_real(name, r, low=0.0, high=1.0, low_open=True)


def check_alpha(alpha, *, allow_one: bool, name: str = "alpha") -> float:
    """Signal fraction of the calibrated protocols: [0, 1) for EC, [0, 1] for AC."""
    if alpha is None:
        raise ValueError(f"{name} is required: a number in [0, {'1]' if allow_one else '1)'}")
    return check_real(name, alpha, low=0.0, high=1.0, high_open=not allow_one)


PROTOCOL_NAMES = ("random", "sbpa", "ec", "ac")


def check_protocol(protocol, alpha, *, choices=PROTOCOL_NAMES) -> tuple[str, float | None]:
    """The protocol name and its signal fraction α: required in [0, 1) for EC and [0, 1] for AC,
    refused for the others (docs/theory.md, "Protocols"). Returns (protocol, alpha as float or None)."""
    protocol = check_choice("protocol", protocol, choices)
    if protocol in ("ec", "ac"):
        if alpha is None:
            raise ValueError(f"alpha is required for protocol {protocol!r}: a number in "
                             f"{'[0, 1]' if protocol == 'ac' else '[0, 1)'}")
        return protocol, check_alpha(alpha, allow_one=protocol == "ac")
    if alpha is not None:
        raise ValueError(f"alpha applies to protocols 'ec' and 'ac' only, not to {protocol!r}; got alpha={alpha!r}")
    return protocol, None


def check_setting(config, *, processes, scores, policies=None) -> float:
    """The fields every pruning experiment shares (``process``, ``d``, ``score``, ``r``, ``protocol``,
    ``alpha``, ``keep``) of a config; returns r as a float. ``policies``: a mapping name -> policy
    (with ``check_alpha``) accepted as ``protocol`` (default: the four protocols)."""
    check_choice("process", config.process, processes)
    check_int("d", config.d, low=1)
    check_choice("score", config.score, scores)
    r = check_r(config.r)
    if policies is None:
        check_protocol(config.protocol, config.alpha)
    else:
        check_choice("protocol", config.protocol, policies)
        policies[config.protocol].check_alpha(config.alpha)
    check_choice("keep", config.keep, ("lowest", "highest"))
    return r


def check_sample_sizes(ns, r: float, *, min_budget: int = 1) -> tuple:
    """A non-empty, strictly increasing tuple of sample sizes, each with ⌊r n⌋ ≥ min_budget."""
    ns = tuple(ns)
    if not ns:
        raise ValueError("ns must list at least one sample size, got an empty list")
    for n in ns:
        check_int("n", n, low=1)
        if budget(r, n) < min_budget:
            raise ValueError(f"n={n} is too small for r={r}: the budget floor(r * n) must be at least {min_budget}")
    if list(ns) != sorted(set(ns)):
        raise ValueError(f"ns must be strictly increasing, got {ns}")
    return ns


def total_memory() -> int:
    """Physical memory of this machine in bytes (``os.sysconf``; 16 GiB where it is unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # not POSIX, or the names are unknown
        return 16 * 2**30


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def check_memory(name: str, value, bytes_needed: float, *, advice: str | None = None) -> None:
    """Raise ``ValueError`` when an input of size ``value`` needs more memory than this machine has.

    The one check of sizes against the machine: every size-like input (sample sizes, dimension,
    net size, target size, ``n_mc``) is checked with it before anything is allocated.
    ``bytes_needed`` is the caller's estimate of the peak memory the input implies; the
    message names the parameter, its value, the estimate and the machine's memory, e.g.
    ``n=1000000000000 needs ~16 TiB of memory; this machine has 24 GiB; use a smaller n``
    (``advice`` replaces the last part).
    """
    total = total_memory()
    if bytes_needed > total:
        raise ValueError(f"{name}={_show(value)} needs ~{_bytes(bytes_needed)} of memory; this machine has "
                         f"{_bytes(total)}; {advice or f'use a smaller {name}'}")


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices`` (strings), else raise naming them all."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {_show(value)}")
    return value


def check_array(name: str, value, *, ndim=None, shape=None, allow_nan=False, dtype=np.float64) -> np.ndarray:
    """Return ``value`` as a C-contiguous array of ``dtype``, checking its shape and NaNs.

    ``shape`` may hold ``None`` for a free axis.  Complex and object input is refused.
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be array-like of numbers, got {_show(value)}") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:  # before ascontiguousarray, which lifts 0-d to 1-d
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            parts = ["any" if s is None else str(s) for s in shape]
            want = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    # A NaN makes the sum NaN; the sum is NaN otherwise only for inf − inf (then look closer).
    if not allow_nan and arr.dtype.kind == "f" and _sum_is_nan(arr) and np.isnan(arr).any():
        bad = int(np.flatnonzero(np.isnan(arr.ravel()))[0])
        raise ValueError(f"{name} must not contain NaN, got NaN at flat index {bad}")
    return arr


def _sum_is_nan(arr) -> bool:
    with np.errstate(all="ignore"):  # overflow to inf is not a NaN
        return math.isnan(arr.sum())


def as_generator(rng) -> np.random.Generator:
    """Normalise ``rng`` (Generator, SeedSequence, int seed or None) to a ``numpy.random.Generator``.

    No global state is read or written: ``None`` draws fresh OS entropy.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    allowed = "a numpy Generator, a SeedSequence, a non-negative integer seed or None"
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, numbers.Integral):
        raise TypeError(f"rng must be {allowed}, got {_show(rng)}")
    if rng < 0:
        raise ValueError(f"rng must be {allowed}, got {_show(rng)}")
    return np.random.default_rng(int(rng))


def as_tuple(name: str, value) -> tuple:
    """``tuple(value)`` for a config's sequence field; a string or a non-iterable is a TypeError naming ``name``."""
    if isinstance(value, str):
        raise TypeError(f"{name} must be a sequence, got the string {value!r}")
    try:
        return tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be a sequence, got {value!r}") from None


def budget(fraction: float, n: int) -> int:
    """``floor(fraction * n)`` with ``fraction`` read as the decimal the user typed.

    ``0.29 * 100`` is ``28.999999999999996`` in binary floating point; reading the float
    through its shortest round-trip repr (``Fraction("0.29")``) gives the intended 29, on
    every machine.
    """
    return math.floor(Fraction(repr(float(fraction))) * n)


def check_names(name: str, values, choices, *, item: str) -> tuple:
    """A non-empty tuple of distinct names, each one of ``choices`` (e.g. the protocols of a sweep)."""
    values = tuple(check_choice(item, v, choices) for v in _as_sequence(name, values))
    if not values:
        raise ValueError(f"{name} must list at least one {item}, got ()")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must not repeat a name, got {values}")
    return values


def check_levels(name: str, values) -> tuple:
    """A non-empty tuple of distinct compression levels r in (0, 1) (a sweep over r)."""
    values = tuple(check_real("r", r, low=0.0, high=1.0, low_open=True, high_open=True)
                   for r in _as_sequence(name, values))
    if not values:
        raise ValueError(f"{name} must list at least one compression level, got ()")
    if len(set(values)) != len(values):
        raise ValueError(f"{name} must not repeat a value, got {values}")
    return values


def check_increasing_sizes(name: str, values, *, min_count: int = 1, why: str = "") -> tuple:
    """A strictly increasing tuple of at least ``min_count`` sample sizes n ≥ 1."""
    values = tuple(check_int("n", n, low=1) for n in _as_sequence(name, values))
    if len(values) < min_count:
        raise ValueError(f"{name} must list at least {min_count} sample sizes{why}, got {values}")
    if list(values) != sorted(set(values)):
        raise ValueError(f"{name} must be strictly increasing, got {values}")
    return values


def _as_sequence(name, values):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence, got {_show(values)}")
    return values

