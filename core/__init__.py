"""Salon's core: settings, plugin manager, accounts, rooms and the web client."""

from __future__ import annotations

__version__ = "0.1.0"
