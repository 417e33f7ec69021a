"""A third-party plugin package, installed for a test the way pip would install it.

``salon_hello/`` is an ordinary package outside Salon. :func:`install_hello` writes
the ``*.dist-info`` directory that ``pip install salon-hello`` would leave in
site-packages, declaring the ``salon.plugins`` entry point; a test puts that directory
and :data:`PACKAGES` on ``sys.path`` (or ``PYTHONPATH`` for a subprocess), and
``importlib.metadata.entry_points(group="salon.plugins")`` then finds the plugin.
"""

from __future__ import annotations

from pathlib import Path

PACKAGES = Path(__file__).resolve().parent
"""The directory holding the ``salon_hello`` package (its "site-packages")."""

HELLO_DISTRIBUTION = "salon-hello"
HELLO_VERSION = "0.1.0"


def install_dist_info(site: Path, distribution: str, version: str, plugins: dict[str, str]) -> Path:
    """Write ``<distribution>-<version>.dist-info`` into SITE declaring PLUGINS (entry-point
    name -> module) in the ``salon.plugins`` group; return SITE."""
    folder = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
    )
    lines = "".join(f"{name} = {module}\n" for name, module in plugins.items())
    (folder / "entry_points.txt").write_text(f"[salon.plugins]\n{lines}")
    return site


def install_hello(site: Path) -> Path:
    """Install the ``salon-hello`` distribution's metadata into SITE; return SITE."""
    return install_dist_info(site, HELLO_DISTRIBUTION, HELLO_VERSION, {"hello": "salon_hello"})
