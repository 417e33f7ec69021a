"""The plugin manager: finds plugins, validates their settings, starts and stops them.

Every plugin, built-in or third-party, is found the same way: through the
``salon.plugins`` entry-point group (Salon's own pyproject.toml declares its built-in
ones there), and runs only when its name is in ``plugins.enabled``. The core never
imports a plugin by name.

Set ``SALON_TRACE_PLUGINS=1`` to log every hook call.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import pluggy
from pydantic import BaseModel, ValidationError

from . import hookspecs
from .errors import ConfigError
from .settings import Settings, describe_validation_error

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "salon.plugins"


@dataclass
class PluginInfo:
    """What ``salon plugins`` shows about one plugin."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    enabled: bool = False
    state: str = "installed"  # installed | loaded | running | failed
    reason: str | None = None
    settings: BaseModel | None = None
    routes: list[Any] = field(default_factory=list)


async def await_me_maybe(value: Any) -> Any:
    """Resolve a hook result that may be a value, a callable or an awaitable."""
    if callable(value) and not inspect.isclass(value):
        value = value()
    if inspect.isawaitable(value):
        value = await value
    return value


def installed_plugins() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


class PluginManager:
    """Salon's pluggy manager plus the bookkeeping of which plugin is in what state."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("salon")
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        if os.environ.get("SALON_TRACE_PLUGINS"):
            self.pm.trace.root.setwriter(logger.info)
            self.pm.enable_tracing()

    @property
    def hook(self) -> Any:
        return self.pm.hook

    # -- loading ------------------------------------------------------------

    def load(self, settings: Settings, extra: Iterable[tuple[str, ModuleType]] = ()) -> None:
        """Register the enabled plugins and validate their settings.

        EXTRA registers plugin modules directly (used by tests and embedding code).
        Raises ConfigError for an unknown plugin name, a misspelled hook or bad
        plugin settings: those are the admin's to fix, so start-up stops.
        """
        extra = list(extra)  # iterated twice below; a generator would be empty the second time
        available = installed_plugins()
        for name, ep in available.items():
            dist = ep.dist
            self.plugins[name] = PluginInfo(
                name=name,
                module=ep.value,
                distribution=dist.name if dist else None,
                version=dist.version if dist else None,
            )
        enabled = list(settings.plugins.enabled)
        for name, module in extra:
            module_name = getattr(module, "__name__", type(module).__qualname__)
            self.plugins[name] = PluginInfo(name=name, module=module_name)
            enabled.append(name)
        unknown = [n for n in enabled if n not in self.plugins]
        if unknown:
            raise ConfigError(
                f"plugins.enabled: no installed plugin named {', '.join(map(repr, unknown))}; "
                f"installed: {', '.join(sorted(available)) or 'none'}",
                field="plugins.enabled",
            )
        for name in settings.plugins.sections():
            if name not in self.plugins:
                raise ConfigError(
                    f"plugins.{name}: no installed plugin named {name!r}; "
                    "remove the section or install the plugin",
                    field=f"plugins.{name}",
                )
        extra_modules = dict(extra)
        for name in enabled:
            info = self.plugins[name]
            info.enabled = True
            try:
                module = extra_modules.get(name) or available[name].load()
            except Exception as exc:  # a broken plugin must not take the instance down
                logger.exception("plugin %s failed to import; it stays off", name)
                info.state, info.reason = "failed", f"import failed: {exc!r}"
                continue
            self.pm.register(module, name=name)
            info.state = "loaded"
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise ConfigError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from None
        for name in enabled:
            if self.plugins[name].state == "loaded":
                self._validate_settings(name, settings)

    def _validate_settings(self, name: str, settings: Settings) -> None:
        section = settings.plugins.section(name)
        model = self.pm.hook.salon_settings_model(name=name)
        info = self.plugins[name]
        if model is None:
            if section:
                raise ConfigError(
                    f"plugins.{name}: this plugin takes no settings; remove the section",
                    field=f"plugins.{name}",
                )
            return
        try:
            info.settings = model.model_validate(section)
        except ValidationError as exc:
            raise ConfigError(
                describe_validation_error(exc, None, prefix=f"plugins.{name}.")
            ) from None

    def plugin_name(self, plugin: object) -> str | None:
        return self.pm.get_name(plugin)

    def collect_routes(self) -> list[Any]:
        """Ask every loaded plugin for its routes, remembering whose they are."""
        routes: list[Any] = []
        for impl in self.pm.hook.salon_routes.get_hookimpls():
            name = impl.plugin_name
            plugin_routes = list(_call_impl(impl) or [])
            self.plugins[name].routes = plugin_routes
            routes.extend(plugin_routes)
        return routes

    def results_by_plugin(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a synchronous hook and say which plugin gave each non-None result."""
        found: list[tuple[str, Any]] = []
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            result = _call_impl(impl, **kwargs)
            if result is not None:
                found.append((impl.plugin_name, result))
        return found

    def migrations(self) -> dict[str, Any]:
        """Each loaded plugin's migrations folder (``salon_migrations``), by plugin."""
        return dict(self.results_by_plugin("salon_migrations"))

    # -- lifecycle ----------------------------------------------------------

    async def startup(self, app: Any) -> list[str]:
        """Run each plugin's ``salon_startup``; a plugin that raises is logged and
        disabled (its hooks unregistered, its routes removed). Returns those disabled."""
        failed: list[str] = []
        for impl in reversed(self.pm.hook.salon_startup.get_hookimpls()):
            name = impl.plugin_name
            try:
                await await_me_maybe(_call_impl(impl, app=app))
            except ConfigError as exc:
                # Expected and the admin's to fix (say, payments without keys): one line.
                logger.warning("plugin %s is off: %s", name, exc.message)
                self.disable(name, app, exc.message)
                failed.append(name)
            except Exception as exc:
                logger.exception("plugin %s failed to start; it is disabled", name)
                self.disable(name, app, f"start-up failed: {exc!r}")
                failed.append(name)
        for info in self.plugins.values():
            if info.state == "loaded":
                info.state = "running"
        return failed

    def disable(self, name: str, app: Any, reason: str) -> None:
        info = self.plugins[name]
        info.state, info.reason = "failed", reason
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        if info.routes:
            app.router.routes[:] = [r for r in app.router.routes if r not in info.routes]

    async def shutdown(self, app: Any) -> None:
        for impl in self.pm.hook.salon_shutdown.get_hookimpls():
            try:
                await await_me_maybe(_call_impl(impl, app=app))
            except Exception:
                logger.exception("plugin %s failed while shutting down", impl.plugin_name)

    async def call(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook and resolve every awaitable result; None results are dropped."""
        results = getattr(self.pm.hook, hook_name)(**kwargs)
        resolved = [await await_me_maybe(r) for r in results]
        return [r for r in resolved if r is not None]


def _call_impl(impl: Any, **kwargs: Any) -> Any:
    """Call one hook implementation with the arguments it declares."""
    return impl.function(**{name: kwargs[name] for name in impl.argnames})
