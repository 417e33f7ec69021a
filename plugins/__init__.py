"""Salon's built-in plugins. Each subpackage is enabled by name in the config."""
