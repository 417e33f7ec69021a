"""Packaging: every package folder installs under ``salon.*``, and a built wheel carries
the web client, the migrations and the ``salon`` console script (DESIGN.md section 1)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"core": "salon.core", "plugins": "salon.plugins", "federation": "salon.federation"}

# What a build never needs: VCS data, virtualenvs, caches, build output, local state.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    "*.egg-info",
    "build",
    "dist",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "node_modules",
    "test-results",
    "salon.db*",
)


def setuptools_config() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def package_folders() -> dict[str, Path]:
    """Every folder under core/, plugins/ and federation/ holding an __init__.py, by the
    import name it must install as."""
    found: dict[str, Path] = {}
    for folder, name in FOLDERS.items():
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            if "__pycache__" in init.parts:
                continue
            relative = init.parent.relative_to(ROOT / folder)
            found[".".join([name, *relative.parts])] = init.parent
    return found


def test_top_level_folders_map_to_the_salon_namespace() -> None:
    assert setuptools_config()["package-dir"] == {name: folder for folder, name in FOLDERS.items()}


def test_every_package_folder_is_listed() -> None:
    listed = set(setuptools_config()["packages"])
    found = package_folders()
    assert {"salon.core", "salon.core.routes", "salon.plugins"} <= set(found)
    missing = sorted(set(found) - listed)
    assert missing == [], f"add to [tool.setuptools] packages in pyproject.toml: {missing}"
    stale = sorted(listed - set(found))
    assert stale == [], f"listed in pyproject.toml but not a package folder: {stale}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """A wheel built by pip from a copy of the work tree (so the build leaves no
    build/ or egg-info behind in it), with the build backend pyproject.toml declares.

    The build runs in pip's isolated build environment: the build requirement
    (setuptools>=69, which builds wheels by itself) is installed there from the package
    index, whatever setuptools the test virtualenv happens to have.
    """
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    out = base / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("salon-*.whl")
    return zipfile.ZipFile(built)


@pytest.mark.parametrize(
    "path",
    [
        "salon/core/web/templates/base.html",
        "salon/core/web/static/room.js",
        "salon/core/migrations/versions/0001_core_tables.py",
        "salon/core/migrations/script.py.mako",
        "salon/core/migrations/env.py",
        "salon/core/cli.py",
        "salon/core/routes/rooms.py",
    ],
)
def test_wheel_contains(wheel: zipfile.ZipFile, path: str) -> None:
    assert path in wheel.namelist()


def test_wheel_holds_every_package(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for package in package_folders():
        assert f"{package.replace('.', '/')}/__init__.py" in names


def test_wheel_installs_nothing_outside_the_salon_namespace(wheel: zipfile.ZipFile) -> None:
    """No generic top-level names like ``core`` or ``tests`` in site-packages."""
    tops = {name.split("/", 1)[0] for name in wheel.namelist()}
    (dist_info,) = [top for top in tops if top.endswith(".dist-info")]
    assert tops == {"salon", dist_info}


def test_wheel_declares_the_console_script(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    parser = configparser.ConfigParser()
    parser.read_string(wheel.read(entry_points).decode())
    assert parser["console_scripts"]["salon"] == "salon.core.cli:main"
