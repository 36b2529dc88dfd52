"""The store: one folder of result files, one file per experiment config (docs/theory.md, "Result files").

Every experiment keeps its numbers through :class:`Store`, which implements once what each
experiment used to hand-write:

- the file name ``<KIND>-<hash>.json``, from the config's kind and a stable hash of its fields;
- atomic writes (a temporary file beside the target, then a rename), with the umask's mode, so
  a crash, a Ctrl-C or a full disk never leaves a half-written file;
- reuse of a complete file without recomputation;
- resumption: the work of a config is split into *units* (one n, one seed, ...); the file is
  rewritten after each unit with ``"complete": false``, and a rerun computes only the units it
  lacks;
- integrity: a file carries a schema version and a SHA-256 checksum of its content; a file that
  cannot be read, has another schema, fails its checksum, belongs to another config, or whose
  units do not have the structure the experiment expects, is never trusted: it is set aside as
  ``<name>.rejected`` (never deleted), a :class:`RejectedResultWarning` names it and says why,
  and its work is recomputed.

The units of one config can also be computed apart (:func:`theory_sim.experiments._framework.run`
with a parallel executor): a *planning* pass of the runner stops at :meth:`Store.run` with the units
still to compute (:class:`UnitPlan`; it writes nothing but may set an untrusted file aside), each
unit is then computed by the runner in *unit* mode in some worker (:class:`UnitDone`, no file
touched), and the calling process, the only
writer, stores the shared parts just computed and adds each returned unit to the file as it
arrives (:meth:`Store.write_units`). A unit's numbers do not depend on where it runs: it draws from
streams keyed by the config and the unit, which is also what lets a resumed run compute only the
missing units.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import math
import numbers
import os
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable, Sequence

import numpy as np
from tqdm.auto import tqdm

from theory_sim.provenance import versions

__all__ = ["SCHEMA", "Record", "RejectedResultWarning", "Store", "StoreError", "UnitDone", "UnitPlan",
           "atomic_write_bytes", "atomic_write_json", "bool_array", "canonical", "checksum", "computing_unit",
           "config_hash", "number_array", "planning", "verified_checksum"]

SCHEMA = 1  # version of the result-file layout; a file of another version is set aside and recomputed


class StoreError(OSError):
    """A result file or folder cannot be written or read for a reason of the environment
    (a file where a folder is expected, permissions, a full disk). The message names the path."""


class RejectedResultWarning(UserWarning):
    """A stored result file was not trusted; it was renamed ``*.rejected`` and its work recomputed."""


class UnitPlan(BaseException):
    """Raised by :meth:`Store.run` for the config being planned (:func:`planning`): what is left to do.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` of a runner stops it.

    Attributes
    ----------
    keys : list of str
        Every unit's key, in the config's order.
    todo : list of str
        The keys of the units not yet in the result file.
    raw_shared : Any
        The shared part as stored, or computed by this planning if the file had none (``new_shared``).
    raw_units : dict
        key -> stored payload of the units already done.
    seconds : float
        Compute time already spent on the config (the file's, plus the shared part's now).
    new_shared : bool
        The shared part was computed by this planning (the file had none): the planner stores it.
    """

    def __init__(self, keys, todo, raw_shared, raw_units, seconds, new_shared=False):
        super().__init__(f"{len(todo)} of {len(keys)} units to compute")
        self.keys, self.todo, self.raw_shared, self.raw_units, self.seconds = keys, todo, raw_shared, raw_units, seconds
        self.new_shared = new_shared

    def __reduce__(self):  # a plan made in a worker process travels back by pickling
        return UnitPlan, (self.keys, self.todo, self.raw_shared, self.raw_units, self.seconds, self.new_shared)


class UnitDone(BaseException):
    """Raised by :meth:`Store.run` in unit mode (:func:`computing_unit`): one unit's stored payload
    (``raw``, JSON types) and its compute time (``seconds``)."""

    def __init__(self, raw, seconds):
        super().__init__("unit computed")
        self.raw, self.seconds = raw, seconds


_MODE = contextvars.ContextVar("theory_sim.store.mode", default=None)


@contextlib.contextmanager
def planning(config_hash: str):
    """Within the block, :meth:`Store.run` for the config of hash ``config_hash`` raises
    :class:`UnitPlan` instead of computing units (other configs run as usual)."""
    token = _MODE.set(("plan", config_hash))
    try:
        yield
    finally:
        _MODE.reset(token)


@contextlib.contextmanager
def computing_unit(config_hash: str, raw_shared, key: str):
    """Within the block, :meth:`Store.run` for the config of hash ``config_hash`` computes only the
    unit ``key`` (with the stored shared part ``raw_shared``), reads and writes no file, and raises
    :class:`UnitDone` with it (other configs run as usual)."""
    token = _MODE.set(("unit", config_hash, raw_shared, key))
    try:
        yield
    finally:
        _MODE.reset(token)


def canonical(value):
    """``value`` with tuples as lists and numpy scalars as Python numbers, for JSON and hashing.

    A numpy float becomes the Python float of its shortest decimal (``np.float32(0.1)`` -> 0.1),
    so a config built from numpy numbers hashes like the same config typed by hand.
    """
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, np.ndarray):
        return canonical(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(str(value))
    return value


def config_hash(config: dict) -> str:
    """A short stable hash of a JSON-serialisable config (sorted keys, no whitespace)."""
    text = json.dumps(canonical(config), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def checksum(payload: dict) -> str:
    """SHA-256 of the canonical JSON text of ``payload`` without its ``checksum`` entry."""
    body = {k: v for k, v in payload.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


_UMASK_LOCK = threading.Lock()


def _file_mode() -> int:
    """0o666 less the process's umask: what ``open(path, "w")`` would have given."""
    with _UMASK_LOCK:
        mask = os.umask(0)
        os.umask(mask)
    return 0o666 & ~mask


def _ensure_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise StoreError(f"{folder}: exists and is not a folder") from None
    except OSError as exc:
        raise StoreError(f"{folder}: cannot create the folder ({exc.strerror or exc})") from None
    if not folder.is_dir():
        raise StoreError(f"{folder}: exists and is not a folder")


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it onto ``path``.

    The file gets the mode ``open`` would give (0o666 less the umask). Any failure (no
    permission, no space) leaves ``path`` as it was and raises :class:`StoreError` naming it.
    """
    path = Path(path)
    _ensure_folder(path.parent)
    if path.is_dir():
        raise StoreError(f"{path}: is a folder, expected a file")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise StoreError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise StoreError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_json(path, payload: dict, *, sort_keys: bool = True) -> Path:
    text = json.dumps(payload, indent=1, sort_keys=sort_keys, default=str)
    return atomic_write_bytes(path, (text + "\n").encode())


@dataclass(frozen=True)
class Record:
    """What :meth:`Store.run` returns.

    Attributes
    ----------
    shared : Any
        The decoded shared part (computed once per config), or None.
    units : dict
        unit -> decoded payload, in the order of the config's units.
    seconds : float
        Compute time summed over every run that contributed (resumptions included).
    path : Path or None
        The result file, when the store has a folder.
    computed : tuple
        The units computed by this call (empty when a complete file was reused).
    """

    shared: Any
    units: dict
    seconds: float
    path: Path | None
    computed: tuple


class _Rejected(Exception):
    pass


def _identity(value):
    return value


class Store:
    """A folder of result files (``root=None``: nothing is read or written).

    Parameters
    ----------
    root : path or None
        The folder. It is created when the first file is written; a path that exists and is
        not a folder is an error (:class:`StoreError`) raised at once.
    """

    def __init__(self, root=None):
        if isinstance(root, Store):
            root = root.root
        if root is not None:
            if isinstance(root, str) and not root.strip():
                raise ValueError("results folder must be a path, got ''")
            root = Path(root)
            if root.exists() and not root.is_dir():
                raise StoreError(f"{root}: exists and is not a folder")
        self.root = root

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})" if self.root is not None else "Store(None)"

    def path(self, config) -> Path | None:
        return None if self.root is None else self.root / f"{config.KIND}-{config.hash}.json"

    # -- reading ---------------------------------------------------------------------------
    def _load(self, config, path, unit_keys, decode_unit, decode_shared):
        """(shared, units, seconds, complete, raw shared, raw units) from a trusted file, or None."""
        if path is None or not path.exists():
            return None
        try:
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                raise _Rejected("not text") from None
            except OSError as exc:
                raise StoreError(f"{path}: cannot read ({exc.strerror or exc})") from None
            try:
                stored = json.loads(text)
            except ValueError as exc:
                raise _Rejected(f"not valid JSON ({exc})") from None
            if not isinstance(stored, dict):
                raise _Rejected(f"expected a JSON object, found {type(stored).__name__}")
            if stored.get("schema") != SCHEMA:
                raise _Rejected(f"schema {stored.get('schema')!r}, expected {SCHEMA} (an older layout)")
            if stored.get("checksum") != checksum(stored):
                raise _Rejected("checksum mismatch: the content was edited or corrupted")
            if stored.get("kind") != config.KIND or stored.get("config_hash") != config.hash:
                raise _Rejected(f"belongs to another config (kind {stored.get('kind')!r}, hash "
                                f"{stored.get('config_hash')!r})")
            if stored.get("config") != canonical(config.to_dict()):
                raise _Rejected("its config does not match its hash")
            units_raw = stored.get("units")
            if not isinstance(units_raw, dict):
                raise _Rejected("'units' is not an object")
            unknown = set(units_raw) - set(unit_keys)
            if unknown:
                raise _Rejected(f"units {sorted(unknown)} are not units of this config")
            complete = stored.get("complete")
            if not isinstance(complete, bool):
                raise _Rejected("'complete' is not true or false")
            if complete and set(units_raw) != set(unit_keys):
                raise _Rejected(f"marked complete but lacks units {sorted(set(unit_keys) - set(units_raw))}")
            seconds = stored.get("seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real) or not math.isfinite(seconds):
                raise _Rejected("'seconds' is not a number")
            try:
                shared = decode_shared(stored.get("shared"))
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                raise _Rejected(f"shared part has the wrong structure ({exc})") from None
            units = {}
            for key, raw in units_raw.items():
                try:
                    units[key] = decode_unit(raw)
                except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                    raise _Rejected(f"unit {key} has the wrong structure ({exc})") from None
            return shared, units, float(seconds), complete, stored.get("shared"), dict(units_raw)
        except _Rejected as why:
            self._set_aside(path, str(why))
            return None

    def _set_aside(self, path: Path, why: str) -> None:
        target = path.with_name(path.name + ".rejected")
        i = 1
        while target.exists():
            target = path.with_name(f"{path.name}.rejected.{i}")
            i += 1
        try:
            os.replace(path, target)
        except OSError as exc:
            raise StoreError(f"{path}: cannot set aside an untrusted result file ({why}): "
                             f"{exc.strerror or exc}") from None
        warnings.warn(f"result file {path} not trusted ({why}); set aside as {target.name}, recomputing",
                      RejectedResultWarning, stacklevel=4)

    # -- writing ---------------------------------------------------------------------------
    def _write(self, path, config, shared, units, seconds, complete):
        payload = {"schema": SCHEMA, "kind": config.KIND, "config": canonical(config.to_dict()),
                   "config_hash": config.hash, "complete": complete, "seconds": seconds, "versions": versions(),
                   "shared": shared, "units": units}
        payload = json.loads(json.dumps(payload, allow_nan=True))  # the checksum is of what a reader sees
        payload["checksum"] = checksum(payload)
        atomic_write_json(path, payload)

    def _compute_unit(self, compute, unit, shared):
        """One unit of work (the contract tests count and interrupt calls here)."""
        return compute(unit, shared)

    # -- the one loop ----------------------------------------------------------------------
    def run(self, config, *, units: Sequence[Hashable], compute: Callable, shared: Callable | None = None,
            decode_unit: Callable = _identity, decode_shared: Callable = _identity, progress: bool | None = False,
            desc: str | None = None) -> Record:
        """Reuse, resume or compute the result of ``config``.

        Parameters
        ----------
        config : ExperimentConfig
            Has ``KIND``, ``hash`` and ``to_dict()``.
        units : sequence
            The units of work, in order; each must have a distinct ``str``.
        compute : callable (unit, shared) -> JSON-serialisable payload
        shared : callable () -> JSON-serialisable, optional
            Computed once per config (before any unit) and stored with the units.
        decode_unit, decode_shared : callable
            Turn a stored payload back into what the experiment reads; they raise ``KeyError``,
            ``TypeError`` or ``ValueError`` for a payload of the wrong structure (the file is
            then rejected). Payloads are decoded from their JSON form also when just computed,
            so a result is the same whether it was computed or read.
        progress : bool or None
            A progress bar over the units (None: only on a terminal).
        """
        keys = [str(u) for u in units]
        if len(set(keys)) != len(keys):
            raise ValueError(f"units must be distinct, got {list(units)}")
        mode = _MODE.get()
        mode = mode if mode is not None and mode[1] == config.hash else None
        if mode is not None and mode[0] == "unit":
            self._one_unit(units, keys, compute, decode_shared, *mode[2:])
        path = self.path(config)
        loaded = self._load(config, path, keys, decode_unit, decode_shared)
        if mode is None and loaded is not None and loaded[3]:  # (planning a complete file: an empty plan below)
            shared_value, done, seconds = loaded[:3]
            return Record(shared_value, {u: done[k] for u, k in zip(units, keys)}, seconds, path, ())
        start = time.perf_counter()
        if loaded is None:
            raw_shared = _roundtrip(shared()) if shared is not None else None
            shared_value, done, elapsed, raw_units = decode_shared(raw_shared), {}, 0.0, {}
        else:
            shared_value, done, elapsed, _, raw_shared, raw_units = loaded
        todo = [(u, k) for u, k in zip(units, keys) if k not in done]
        if mode is not None:  # planning: say what is left (the caller stores a shared part just computed)
            seconds = elapsed + time.perf_counter() - start
            raise UnitPlan(keys, [k for _, k in todo], raw_shared, raw_units, seconds,
                           new_shared=loaded is None and shared is not None)
        bar = tqdm(total=len(todo), desc=desc or config.KIND, leave=False,
                   disable=(not progress) if progress is not None else None)
        try:
            for unit, key in todo:
                raw = _roundtrip(self._compute_unit(compute, unit, shared_value))
                raw_units[key] = raw
                done[key] = decode_unit(raw)
                bar.update()
                if path is not None and key != todo[-1][1]:
                    self._write(path, config, raw_shared, _ordered(raw_units, keys),
                                elapsed + time.perf_counter() - start, complete=False)
        finally:
            bar.close()
        seconds = elapsed + time.perf_counter() - start
        if path is not None:
            self._write(path, config, raw_shared, _ordered(raw_units, keys), seconds, complete=True)
        return Record(shared_value, {u: done[k] for u, k in zip(units, keys)}, seconds, path,
                      tuple(u for u, _ in todo))

    def _one_unit(self, units, keys, compute, decode_shared, raw_shared, key):
        """Unit mode (:func:`computing_unit`): compute unit ``key`` and raise :class:`UnitDone`."""
        if key not in keys:
            raise ValueError(f"unit {key!r} is not a unit of this config (units: {keys})")
        unit = units[keys.index(key)]
        start = time.perf_counter()
        raw = _roundtrip(self._compute_unit(compute, unit, decode_shared(raw_shared)))
        raise UnitDone(raw, time.perf_counter() - start)

    def write_units(self, config, keys, raw_shared, raw_units: dict, seconds: float) -> Path | None:
        """Write the partial result file of ``config`` (``"complete": false``) with the stored shared
        part and the stored payloads ``raw_units`` (key -> payload; ``keys``: every unit's key, in
        order). The process that computed units apart writes them here as they arrive, so none is
        lost; the runner's next :meth:`run` decodes and checks them like any stored unit."""
        path = self.path(config)
        unknown = set(raw_units) - set(keys)
        if unknown:
            raise ValueError(f"units {sorted(unknown)} are not units of this config")
        if path is not None:
            self._write(path, config, raw_shared, _ordered(raw_units, keys), seconds, complete=False)
        return path


def _ordered(raw_units: dict, keys) -> dict:
    return {k: raw_units[k] for k in keys if k in raw_units}


def _roundtrip(value):
    """``value`` as a reader of the file would see it (JSON types, floats exact, keys sorted as written)."""
    return json.loads(json.dumps(canonical(value), allow_nan=True, sort_keys=True))


def verified_checksum(path) -> str | None:
    """The checksum of a result file when its content matches it, else None (missing, unreadable, edited)."""
    try:
        payload = json.loads(Path(path).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or payload.get("checksum") != checksum(payload):
        return None
    return payload["checksum"]


def number_array(value, name: str, *, shape=None, finite: bool = True) -> np.ndarray:
    """A stored (nested) list of numbers as a float64 array, for the experiments' decoders.

    Raises TypeError for anything but JSON numbers (strings, booleans, null, objects), ValueError
    for a ragged list, a shape other than ``shape`` (None: any), or a non-finite value when
    ``finite``. The store then rejects the file.
    """
    return _typed_array(value, name, (int, float), np.float64, shape, finite)


def bool_array(value, name: str, *, shape=None) -> np.ndarray:
    """A stored (nested) list of true/false as a bool array; errors as :func:`number_array`."""
    return _typed_array(value, name, (bool,), bool, shape, False)


def _typed_array(value, name, types, dtype, shape, finite):
    if not isinstance(value, list):
        raise TypeError(f"{name} must be a list, got {type(value).__name__}")
    try:
        cells = np.array(value, dtype=object)
    except ValueError as exc:  # ragged
        raise ValueError(f"{name} is a ragged list") from exc
    for cell in cells.ravel():
        if type(cell) not in types:
            raise TypeError(f"{name} holds {cell!r}, expected {' or '.join(t.__name__ for t in types)}")
    arr = cells.astype(dtype)
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} has shape {arr.shape}, expected {tuple(shape)}")
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds a value that is not finite")
    return arr

