"""The content rules as plain Python: words matched whole and ignoring case, patterns
as regular expressions; bad settings refused naming the key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from salon.plugins.moderation.content import ContentRules
from salon.plugins.moderation.settings import ModerationSettings


def test_words_match_whole_and_ignore_case() -> None:
    rules = ContentRules(words=("spam", "two words"))
    assert rules.refusal("SPAM!") and rules.refusal("say two  words".replace("  ", " "))
    assert rules.refusal("x spam x") and rules.refusal("(spam)")
    assert rules.refusal("spammer") is None and rules.refusal("antispam") is None
    assert rules.refusal("") is None
    assert ContentRules().refusal("anything at all") is None


def test_patterns_and_special_characters() -> None:
    rules = ContentRules(words=("c++", "a.b"), patterns=(r"\d{4}-\d{4}",))
    assert rules.refusal("I write c++") and rules.refusal("call 1234-5678")
    assert rules.refusal("axb") is None  # a word is literal, not a pattern
    assert rules.refusal("a.b") is not None


def test_bad_settings_name_the_key() -> None:
    with pytest.raises(ValidationError) as info:
        ModerationSettings.model_validate({"patterns": ["(oops"]})
    assert info.value.errors()[0]["loc"] == ("patterns",)
    with pytest.raises(ValidationError) as info:
        ModerationSettings.model_validate({"blocked_instances": ["not a domain"]})
    assert info.value.errors()[0]["loc"] == ("blocked_instances",)
    with pytest.raises(ValidationError):
        ModerationSettings.model_validate({"words": [" "]})
    with pytest.raises(ValidationError):
        ModerationSettings.model_validate({"wrods": ["x"]})
    with pytest.raises(ValidationError):
        ModerationSettings.model_validate({"report_reasons": []})
    ok = ModerationSettings.model_validate({"blocked_instances": ["HTTPS://A.Example/"]})
    assert ok.blocked_instances == ["a.example"]
