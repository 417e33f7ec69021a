"""Moderation: reports, blocks, bans, content rules and an admin console."""
