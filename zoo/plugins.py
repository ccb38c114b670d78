"""Plugin discovery and the registry of models and tasks.

Entry points in the ``protein_zoo`` group are loaded one by one, so a broken
plugin is reported and skipped instead of stopping the others (pluggy's own
``load_setuptools_entrypoints`` aborts on the first failure). ``ZOO_LOAD_PLUGINS``
(comma-separated entry-point names; empty means none) selects which load; names written ``-name``
leave those out and load every other one.

A model or task name claimed by two plugins is not runnable: neither claimant gets it, both
plugins' other names still load, and ``zoo plugins`` and ``zoo eval`` say who claims it. That way
an installed plugin can never silently replace another one's model.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable

import pluggy

from zoo import PROJECT, ZooError, hookspecs
from zoo.contract import build_spec
from zoo.messages import suggest

GROUP = PROJECT
NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")  # model and task names end up in run and file names
ENV_SELECT = "ZOO_LOAD_PLUGINS"
# (name, version, object) registered in-process, e.g. by zoo.testing.registered(); not filtered
EXTRA: list[tuple[str, str, object]] = []
HOOKS = ("register_models", "register_tasks", "resolve_model")
REGISTER_HOOKS = HOOKS[:2]  # called at discovery; resolve_model is called for a name on demand


@dataclass(frozen=True)
class Entry:
    """A registered model or task: who registered it and how to build it."""

    kind: str  # "model" or "task"
    name: str
    factory: Callable[..., Any]
    plugin: str
    version: str
    spec: Any  # ModelSpec for a model, TaskSpec for a task

    @property
    def description(self) -> str:
        return self.spec.description

    @property
    def pretrained(self) -> bool:
        return bool(getattr(self.spec, "pretrained", False))

    def availability(self) -> str:
        """``ready``, or why not / what first use needs; from the plugin's optional
        ``availability`` callable (cheap: no weights are loaded)."""
        check = getattr(self.spec, "availability", None)
        if check is None:
            return "ready"
        try:
            return str(check())
        except Exception as exc:
            return f"unknown ({type(exc).__name__}: {exc})"


@dataclass
class PluginInfo:
    name: str
    version: str
    models: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    error: str | None = None


class UnknownName(ZooError):
    pass


def did_you_mean(kind: str, name: str, known: Iterable[str]) -> UnknownName:
    known = sorted(known)
    return UnknownName(
        f"Unknown {kind} {name!r}.{suggest(name, known)} Known {kind}s: {', '.join(known) or '(none)'}. "
        f"Run `zoo plugins` to see what is installed."
    )


@dataclass
class Registry:
    models: dict[str, Entry] = field(default_factory=dict)
    tasks: dict[str, Entry] = field(default_factory=dict)
    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    # (kind, name) -> the entries of every plugin that claims it; such a name is not runnable
    conflicts: dict[tuple[str, str], list[Entry]] = field(default_factory=dict)
    plugin_manager: Any = None
    load_order: dict[str, int] = field(default_factory=dict)
    resolved: dict[str, str] = field(default_factory=dict)  # e.g. "hf:org/model" -> the name it was registered as

    def registrar(self, plugin: str, version: str, kind: str) -> Callable[..., None]:
        """The ``register(name, factory, **fields)`` callback a hook gets, for code that adds entries itself
        (an assay file named on the command line); a name it already registered is replaced."""
        info = self.plugins.setdefault(plugin, PluginInfo(plugin, version))
        register = _register_callback(self, info, kind)

        def replace(name: str, factory: Callable[..., Any], **fields: Any) -> None:
            table = self.models if kind == "model" else self.tasks
            if name in table and table[name].plugin == plugin:
                del table[name]
                (info.models if kind == "model" else info.tasks).remove(name)
            register(name, factory, **fields)

        return replace

    def model(self, name: str) -> Entry:
        if name not in self.models and ":" in name:
            name = self.resolve(name) or name
        return self._get("model", name, self.models)

    def resolvers(self) -> dict[str, str]:
        """Plugins that make models by name (resolve_model), with the first line of their docstring."""
        if self.plugin_manager is None:
            return {}
        out = {}
        for impl in self.plugin_manager.hook.resolve_model.get_hookimpls():
            doc = (getattr(impl.plugin, "__doc__", None) or "").strip().splitlines()
            out[impl.plugin_name] = doc[0] if doc else "makes models by name"
        return out

    def resolve(self, spec: str) -> str | None:
        """Ask the plugins' ``resolve_model`` hooks to make a model of ``spec``; its registered name."""
        if spec in self.resolved:
            return self.resolved[spec]
        if self.plugin_manager is None:
            return None
        impls = self.plugin_manager.hook.resolve_model.get_hookimpls()
        for impl in sorted(impls, key=lambda i: self.load_order.get(i.plugin_name, 0)):
            info = self.plugins[impl.plugin_name]
            if info.error:
                continue
            register = _register_callback(self, info, "model")

            def again(name: str, factory: Callable[..., Any], _plugin=info.name, _register=register, **fields: Any):
                # two specs for one model (two folders holding the same weights): one name, no conflict
                if not (name in self.models and self.models[name].plugin == _plugin):
                    _register(name, factory, **fields)

            try:
                name = impl.function(**{"name": spec, "register": again})
            except ZooError:
                raise
            except Exception as exc:
                raise ZooError(
                    f"plugin {info.name!r} could not make a model of {spec!r}: {type(exc).__name__}: "
                    f"{exc}. Fix the name, or the plugin."
                ) from exc
            if name:
                self.resolved[spec] = name
                return name
        return None

    def task(self, name: str) -> Entry:
        return self._get("task", name, self.tasks)

    def _get(self, kind: str, name: str, table: dict[str, Entry]) -> Entry:
        if (kind, name) in self.conflicts:
            raise ZooError(conflict_message(kind, name, self.conflicts[(kind, name)]))
        if name not in table:
            raise did_you_mean(kind, name, table)
        return table[name]

    @property
    def broken(self) -> list[PluginInfo]:
        return [p for p in self.plugins.values() if p.error]


def conflict_message(kind: str, name: str, claims: list[Entry]) -> str:
    who = " and ".join(f"plugin {e.plugin!r} {e.version}" for e in claims)
    return (
        f"{kind} {name!r} is claimed by {who}, so it is not run: the zoo cannot tell whose results they "
        f"would be. Fix: uninstall one of them, or leave one out with {ENV_SELECT}=-{claims[-1].plugin}."
    )


def _selected() -> tuple[set[str] | None, set[str]]:
    """(names to load, or None for all; names to leave out) from ZOO_LOAD_PLUGINS."""
    raw = os.environ.get(ENV_SELECT)
    if raw is None:
        return None, set()
    names = [n.strip() for n in raw.split(",") if n.strip()]
    include = {n for n in names if not n.startswith("-")}
    exclude = {n[1:] for n in names if n.startswith("-")}
    return (include or (None if exclude else set())), exclude


def discover() -> Registry:
    """Load every installed plugin (or those ``ZOO_LOAD_PLUGINS`` names, less its ``-name`` ones)."""
    eps = sorted(entry_points(group=GROUP), key=lambda ep: ep.name)
    wanted, unwanted = _selected()
    objects: list[tuple[str, str, object | Exception]] = []
    for ep in eps:
        if (wanted is not None and ep.name not in wanted) or ep.name in unwanted:
            continue
        version = ep.dist.version if ep.dist else "unknown"
        try:
            objects.append((ep.name, version, ep.load()))
        except Exception as exc:  # any import failure is the plugin's, not ours
            objects.append((ep.name, version, exc))
    # an object registered in-process (a plugin under test) replaces its installed entry point
    extra_ids = {id(obj) for _, _, obj in EXTRA}
    registry = build([o for o in objects if id(o[2]) not in extra_ids] + EXTRA)
    for name in sorted(((wanted or set()) | unwanted) - {ep.name for ep in eps}):
        registry.plugins[name] = PluginInfo(
            name, "-", error=str(did_you_mean("plugin", name, [ep.name for ep in eps])) + f" (named in {ENV_SELECT})"
        )
    return registry


def build(plugins: Iterable[tuple[str, str, object | Exception]]) -> Registry:
    """Register plugin objects (modules or instances with hookimpls) and collect entries.

    Each item is ``(name, version, obj)``; ``obj`` may be the exception its
    import raised, which is recorded as a broken plugin.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    plugins = list(plugins)
    order = {name: i for i, (name, _, _) in enumerate(plugins)}
    for name, version, obj in plugins:
        info = registry.plugins[name] = PluginInfo(name, version)
        if isinstance(obj, Exception):
            info.error = (
                f"Error importing plugin {name!r}: {type(obj).__name__}: {obj}. "
                f"Fix or uninstall it, or leave it out with {ENV_SELECT}."
            )
            continue
        try:
            pm.register(obj, name=name)
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            if pm.is_registered(obj):
                pm.unregister(obj)
            info.error = f"Plugin {name!r} is invalid: {_explain(exc)}"
        except ValueError:  # pluggy refuses one object under two names
            other = pm.get_name(obj)
            info.error = (
                f"Plugin {name!r} is the same object as plugin {other!r}; two entry points name one "
                f"module. Remove one of them."
            )
    registry.plugin_manager, registry.load_order = pm, order
    for hook in REGISTER_HOOKS:
        kind = "model" if hook == "register_models" else "task"
        impls = getattr(pm.hook, hook).get_hookimpls()
        # pluggy calls last-registered first; we call in load order, so the first plugin keeps a name
        for impl in sorted(impls, key=lambda i: order[i.plugin_name]):
            info = registry.plugins[impl.plugin_name]
            if info.error:  # one failed hook sidelines the whole plugin
                continue
            register = _register_callback(registry, info, kind)
            try:
                impl.function(**{arg: register for arg in impl.argnames})
            except Exception as exc:
                info.error = (
                    f"Plugin {info.name!r} raised in {hook}: {type(exc).__name__}: {str(exc).rstrip('.')}. "
                    f"None of its models or tasks were loaded; fix the plugin or leave it out with {ENV_SELECT}."
                )
                _drop(registry, info)
    for kind, name in list(registry.conflicts):  # a sidelined plugin no longer claims anything
        claims = [e for e in registry.conflicts[(kind, name)] if not registry.plugins[e.plugin].error]
        if len(claims) > 1:
            registry.conflicts[(kind, name)] = claims
        else:
            del registry.conflicts[(kind, name)]
            if claims:
                (registry.models if kind == "model" else registry.tasks)[name] = claims[0]
    return registry


def _explain(exc: pluggy.PluginValidationError) -> str:
    text = str(exc)
    for word in text.replace("'", " ").split():
        if word.startswith("register") and word not in HOOKS and (hint := suggest(word, HOOKS)):
            return f"unknown hook {word!r}.{hint} ({text})"
    return text


def _drop(registry: Registry, info: PluginInfo) -> None:
    for name in info.models:
        if registry.models.get(name) and registry.models[name].plugin == info.name:
            del registry.models[name]
    for name in info.tasks:
        if registry.tasks.get(name) and registry.tasks[name].plugin == info.name:
            del registry.tasks[name]
    info.models, info.tasks = [], []


def check_name(name: Any, kind: str = "plugin") -> str:
    """The one rule for model, task and plugin names: they become run names and file names."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ZooError(
            f"{kind} name {name!r} is not allowed: use lowercase letters, digits, '-', '_' or '.', "
            f"starting with a letter or digit, at most 64 characters (it becomes part of run and "
            f"file names)."
        )
    return name


def _register_callback(registry: Registry, info: PluginInfo, kind: str) -> Callable[..., None]:
    table = registry.models if kind == "model" else registry.tasks

    def register(name: str, factory: Callable[..., Any], **fields: Any) -> None:
        check_name(name, kind)
        if not callable(factory):
            raise ZooError(f"register({name!r}) needs a callable factory; got {factory!r}")
        entry = Entry(kind, name, factory, info.name, info.version, build_spec(kind, name, fields))
        (info.models if kind == "model" else info.tasks).append(name)
        claims = registry.conflicts.get((kind, name))
        if claims is not None:
            claims.append(entry)
        elif name in table:  # a second claim: neither plugin gets the name (see the module docstring)
            registry.conflicts[(kind, name)] = [table.pop(name), entry]
        else:
            table[name] = entry

    return register
