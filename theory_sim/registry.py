"""One registry type for the four extension points: processes, scores, models and pruning policies
(docs/theory.md, "Extending the toolkit").

A :class:`Registry` maps names to objects: the built-ins, then what the user registered
(``theory_sim.register_process(name, obj)`` and its three siblings), then the entry points of
installed packages in the group ``theory_sim.processes`` (``.scores``, ``.models``, ``.policies``),
read with :mod:`importlib.metadata` — an installed package extends the toolkit without editing it::

    # a plug-in's pyproject.toml
    [project.entry-points."theory_sim.processes"]
    uniform-square = "my_plugin:UniformSquare"

A registry is a read-only mapping, so ``check_choice("process", name, PROCESSES)`` lists every
name, and an unknown name is refused with the names allowed. Built-in names cannot be replaced.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata

from theory_sim.validation import check_choice

__all__ = ["Registry", "PluginError", "load_plugin_file"]

GROUPS = {"process": "theory_sim.processes", "score": "theory_sim.scores", "model": "theory_sim.models",
          "policy": "theory_sim.policies"}


class PluginError(RuntimeError):
    """An installed plug-in (an entry point) could not be loaded: an environment failure."""


class Registry(Mapping):
    """Names -> objects of one kind: built-ins, registered objects, then installed entry points.

    Parameters
    ----------
    kind : {'process', 'score', 'model', 'policy'}
        Names the entry-point group (``GROUPS``) and the parameter in error messages.
    builtins : mapping
        The toolkit's own objects, in their listing order.
    check : callable, optional
        ``check(name, obj)`` validates an object before it is registered (raises TypeError).
    param : str, optional
        The parameter named when a name is refused (default ``kind``; policies: ``protocol``).
    """

    def __init__(self, kind: str, builtins, *, check=None, param: str | None = None):
        self.kind = check_choice("kind", kind, GROUPS)
        self.param = param or kind
        self.group = GROUPS[kind]
        self._builtins = dict(builtins)
        self._user: dict = {}
        self._plugins: dict | None = None  # name -> entry point (from the last scan)
        self._loaded: dict = {}  # name -> (entry point's value, loaded object)
        self._check = check

    # -- entry points ---------------------------------------------------------------------
    def _scan(self) -> dict:
        found = {}
        for ep in metadata.entry_points(group=self.group):
            if ep.name not in self._builtins and ep.name not in self._user:
                found.setdefault(ep.name, ep)
        self._plugins = found
        # what was loaded stays loaded while its entry point names the same object
        self._loaded = {name: got for name, got in self._loaded.items()
                        if name in found and found[name].value == got[0]}
        return self._plugins

    def _load(self, name):
        # Entry points and loaded objects are kept apart, never told apart by the entry point's
        # class: with the importlib_metadata backport imported (Sphinx, Jupyter and dask import it),
        # importlib.metadata returns the backport's EntryPoint objects, of another class.
        if name in self._loaded:
            return self._loaded[name][1]
        ep = self._plugins[name]
        try:
            loaded = ep.load()
        except Exception as exc:  # an installed package's import error: an environment failure
            raise PluginError(f"the {self.kind} plug-in {name!r} ({ep.value}, entry point group "
                              f"{self.group!r}) failed to load: {type(exc).__name__}: {exc}") from exc
        if self._check is not None:
            self._check(name, loaded)
        self._loaded[name] = (ep.value, loaded)
        return loaded

    def forget_plugins(self) -> None:
        """Forget the installed plug-ins found and loaded so far (the next lookup scans again)."""
        self._plugins, self._loaded = None, {}

    # -- mapping ----------------------------------------------------------------------------
    def __getitem__(self, name):
        if name in self._builtins:
            return self._builtins[name]
        if name in self._user:
            return self._user[name]
        plugins = self._plugins if self._plugins is not None and name in self._plugins else self._scan()
        if name in plugins:
            return self._load(name)
        raise KeyError(name)

    def __contains__(self, name) -> bool:
        try:
            self[name]
        except KeyError:
            return False
        return True

    def __iter__(self):
        plugins = self._plugins if self._plugins is not None else self._scan()
        yield from self._builtins
        yield from self._user
        yield from (name for name in plugins if name not in self._user)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def get_checked(self, name):
        """The object called ``name``; an unknown name raises ValueError listing the names allowed."""
        if isinstance(name, str):
            try:
                return self[name]
            except KeyError:
                self._scan()  # a plug-in installed since the last scan
                if name in self._plugins:
                    return self._load(name)
        check_choice(self.param, name, list(self))
        raise AssertionError("unreachable")  # pragma: no cover

    def builtin(self, name) -> bool:
        return name in self._builtins

    def add_builtin(self, name: str, obj):
        """Add one of the toolkit's own objects after construction (a module that defines built-ins and
        imports the registry's module registers them at its import; ``theory_sim`` imports it)."""
        if name in self._builtins or name in self._user:
            raise ValueError(f"{self.kind} name {name!r} is already taken")
        if self._check is not None:
            self._check(name, obj)
        self._builtins[name] = obj
        return obj

    def register(self, name: str, obj, *, replace: bool = False):
        """Register ``obj`` under ``name``; returns ``obj`` (usable as a class decorator's body).

        A built-in name is refused; a name already registered is refused unless ``replace=True``.
        """
        if not isinstance(name, str) or not name or name != name.strip():
            raise ValueError(f"{self.kind} name must be a non-empty string without surrounding spaces, got {name!r}")
        if name in self._builtins:
            raise ValueError(f"{self.kind} name {name!r} is a built-in of theory_sim and cannot be replaced; "
                             "choose another name")
        if name in self._user and not replace:
            raise ValueError(f"{self.kind} {name!r} is already registered; pass replace=True to replace it")
        if self._check is not None:
            self._check(name, obj)
        self._user[name] = obj
        return obj

    def unregister(self, name: str) -> None:
        """Remove a user-registered object (tests and notebooks that re-run cells)."""
        if name not in self._user:
            raise ValueError(f"{self.kind} {name!r} was not registered by register_{self.kind}")
        del self._user[name]


def load_plugin_file(path) -> str:
    """Run a user's Python file (which registers objects with ``theory_sim.register_*``) as a module.

    The module is named ``theory_sim_plugin_<stem>`` and kept in :data:`sys.modules`, so that objects
    defined there can be pickled by worker processes that load the same file. A missing file or one that
    is not ``.py`` is a ValueError; an exception raised by the file is re-raised as a ValueError naming
    the file and the exception (bad input of the caller). Returns the module's name.
    """
    import importlib.util
    import sys
    from pathlib import Path

    file = Path(path)
    if file.suffix != ".py":
        raise ValueError(f"plugin must be a .py file, got {str(path)!r}")
    if not file.is_file():
        raise ValueError(f"plugin {str(path)!r}: no such file")
    name = "theory_sim_plugin_" + "".join(c if c.isalnum() else "_" for c in file.stem)
    if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(file.resolve()):
        return name  # already loaded: registering twice would be refused
    spec = importlib.util.spec_from_file_location(name, file.resolve())
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ValueError(f"plugin {str(path)!r} failed: {type(exc).__name__}: {exc}") from exc
    return name
