"""Content rules: the instance's word list and patterns, applied to titles, names and
bios through ``salon_check_content``; reloadable from the config file at run time."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from salon.core.errors import ConfigError
from salon.core.settings import load_settings

from .settings import ModerationSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContentRules:
    """Compiled rules: whole words ignoring case, and regular expressions."""

    words: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: ModerationSettings) -> ContentRules:
        return cls(tuple(settings.words), tuple(settings.patterns))

    def __post_init__(self) -> None:
        compiled = [re.compile(p, re.IGNORECASE) for p in self.patterns]
        if self.words:
            alternatives = "|".join(re.escape(w) for w in self.words)
            compiled.append(re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE))
        object.__setattr__(self, "_compiled", compiled)

    def refusal(self, text: str) -> str | None:
        """Why TEXT breaks the rules, or None. The matched text is not echoed back."""
        for regex in self._compiled:  # type: ignore[attr-defined]
            if regex.search(text):
                return "contains words this instance does not allow"
        return None


class RulesSource:
    """The plugin's settings and content rules in force, and how to read them again
    from the config file (``[plugins.moderation]``)."""

    def __init__(
        self,
        settings: ModerationSettings,
        config_file: str | None,
        on_change: Callable[[ModerationSettings, ModerationSettings], None] | None = None,
    ):
        self.settings = settings
        self.on_change = on_change
        self.rules = ContentRules.from_settings(settings)
        self.config_file = config_file
        self._mtime = self._stat()

    def _stat(self) -> float | None:
        if not self.config_file:
            return None
        try:
            return Path(self.config_file).stat().st_mtime_ns
        except OSError:
            return None

    def reload(self) -> ContentRules:
        """Read ``[plugins.moderation]`` again; a bad file keeps the old rules and
        raises ConfigError naming the key."""
        self._mtime = self._stat()
        settings = load_settings(self.config_file)
        section = ModerationSettings.model_validate(settings.plugins.section("moderation"))
        self.rules = ContentRules.from_settings(section)
        old, self.settings = self.settings, section
        if self.on_change is not None:
            self.on_change(old, section)
        logger.info(
            "content rules reloaded: %d words, %d patterns",
            len(self.rules.words),
            len(self.rules.patterns),
        )
        return self.rules

    def current(self) -> ContentRules:
        """The rules, re-read first when the config file changed since last read."""
        self.refresh()
        return self.rules

    def refresh(self) -> None:
        """Re-read the file if it changed since it was last read."""
        if self.config_file and self._stat() != self._mtime:
            try:
                self.reload()
            except (ConfigError, ValueError) as exc:
                logger.error("config changed but its content rules are invalid: %s", exc)
