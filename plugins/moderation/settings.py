"""The ``[plugins.moderation]`` settings."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .instance_blocks import normalise_domain


class ModerationSettings(BaseModel):
    """``[plugins.moderation]``: blocked instances and the content rules."""

    model_config = ConfigDict(extra="forbid")

    blocked_instances: list[str] = Field(default_factory=list)
    """Remote host names federation must neither accept from nor deliver to."""
    words: list[str] = Field(default_factory=list)
    """Words (matched whole, ignoring case) refused in titles, names and bios."""
    patterns: list[str] = Field(default_factory=list)
    """Regular expressions (Python syntax, ignoring case) refused likewise."""
    report_reasons: list[str] = Field(
        default_factory=lambda: ["spam", "harassment", "hate", "violence", "impersonation", "other"]
    )
    """The reasons a reporter picks from."""

    @field_validator("blocked_instances")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        return [normalise_domain(d) for d in value]

    @field_validator("words")
    @classmethod
    def _words(cls, value: list[str]) -> list[str]:
        if any(not w.strip() for w in value):
            raise ValueError("words must not be empty")
        return [w.strip() for w in value]

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
        return value

    @field_validator("report_reasons")
    @classmethod
    def _reasons(cls, value: list[str]) -> list[str]:
        if not value or any(not re.fullmatch(r"[a-z_]{1,20}", r) for r in value):
            raise ValueError("report_reasons: 1-20 lowercase letters or _ each, at least one")
        return value
