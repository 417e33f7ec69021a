"""Salon's server-to-server protocol (see DESIGN.md section 6)."""
