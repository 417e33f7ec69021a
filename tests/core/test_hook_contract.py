"""The plugin API's own rules: every hook specified, documented, tested and in the
README; and the core importing no plugin by name."""

from __future__ import annotations

import ast
import importlib.util
import inspect
from pathlib import Path

import pytest

from salon.core import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKSPECS = ROOT / "core" / "hookspecs.py"


# -- the hook contract itself --------------------------------------------------------


def hook_names() -> list[str]:
    tree = ast.parse(HOOKSPECS.read_text())
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("salon_")
    ]


def test_hookspecs_are_parsed() -> None:
    names = hook_names()
    assert "salon_startup" in names and "salon_permission" in names
    assert len(names) == len(set(names))


def test_every_hook_has_a_test() -> None:
    """Each hook in core/hookspecs.py has a test named ``test_<hook>`` under tests/."""
    tests: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                tests.add(node.name)
    missing = [name for name in hook_names() if f"test_{name}" not in tests]
    assert missing == [], f"hooks without a test named test_<hook>: {missing}"


def test_every_hookspec_is_documented() -> None:
    problems: list[str] = []
    for name in hook_names():
        spec = getattr(hookspecs, name)
        if not hasattr(spec, "salon_spec"):
            problems.append(f"{name}: not marked with @hookspec")
        doc = inspect.getdoc(spec) or ""
        if not doc.startswith("Called "):
            problems.append(f"{name}: the docstring should open with when it is called")
        firstresult = getattr(spec, "salon_spec", {}).get("firstresult")
        if firstresult and "Stops at first non-None result" not in doc:
            problems.append(f"{name}: firstresult, but the docstring does not say so")
        for param in inspect.signature(spec).parameters:
            if f":param {param}:" not in doc:
                problems.append(f"{name}: no ':param {param}:' line")
        if ":return:" not in doc:
            problems.append(f"{name}: no ':return:' line")
    assert problems == []


def test_readme_mentions_every_hook() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in hook_names() if name not in readme]
    assert missing == [], f"hooks the README's plugin section does not document: {missing}"


# -- the core never imports a plugin ----------------------------------------------


def module_name(path: Path) -> tuple[str, bool]:
    """The import name of a file under core/, and whether it is a package."""
    parts = ["salon", "core", *path.relative_to(ROOT / "core").with_suffix("").parts]
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """Every module an import statement in SOURCE may load, relative ones resolved."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return found


def is_plugin_module(name: str) -> bool:
    return any(name == top or name.startswith(f"{top}.") for top in ("salon.plugins", "plugins"))


@pytest.mark.parametrize(
    ("source", "module", "is_package", "violates"),
    [
        ("from ...plugins import clubs", "salon.core.routes.rooms", False, True),
        ("from ..plugins import PluginManager", "salon.core.routes", True, False),
        ("from ..plugins import clubs", "salon.core.app", False, True),
        ("from ..plugins import PluginManager", "salon.core.routes.rooms", False, False),
        ("from .plugins import PluginManager", "salon.core.app", False, False),
        ("from .. import plugins", "salon.core.app", False, True),
        ("import salon.plugins.audio_sfu", "salon.core.app", False, True),
        ("from salon import plugins", "salon.core.app", False, True),
        ("from salon.plugins.moderation import hooks", "salon.core.app", False, True),
        ("import plugins.clubs", "salon.core.app", False, True),
        ("from salon.core import plugins", "salon.core.app", False, False),
    ],
)
def test_import_resolution(source: str, module: str, is_package: bool, violates: bool) -> None:
    """The resolver the next test relies on: relative imports resolved from the module."""
    found = imported_modules(source, module, is_package)
    assert any(is_plugin_module(name) for name in found) is violates, found


def test_core_imports_no_plugin() -> None:
    files = sorted((ROOT / "core").rglob("*.py"))
    assert len(files) > 10
    offenders: list[str] = []
    for path in files:
        module, is_package = module_name(path)
        for name in imported_modules(path.read_text(), module, is_package):
            if is_plugin_module(name):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []
    app_imports = imported_modules((ROOT / "core" / "app.py").read_text(), "salon.core.app", False)
    assert "salon.core.plugins" in app_imports  # resolution works on the real files too
