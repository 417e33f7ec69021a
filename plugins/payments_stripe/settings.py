"""The ``[plugins.payments_stripe]`` settings."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from salon.core.settings import resolve_secret

from .fees import FeeRule, Rounding

DEFAULT_API_BASE = "https://api.stripe.com"


class FeeSettings(BaseModel):
    """Stripe's processing fee for one currency."""

    model_config = ConfigDict(extra="forbid")

    bp: int = Field(ge=0, lt=10000, description="basis points of the charge")
    fixed: int = Field(ge=0, description="fixed part, in minor units")


def _default_fees() -> dict[str, FeeSettings]:
    return {
        "usd": FeeSettings(bp=290, fixed=30),
        "eur": FeeSettings(bp=290, fixed=30),
        "gbp": FeeSettings(bp=290, fixed=20),
        "jpy": FeeSettings(bp=360, fixed=0),
    }


class PaymentsSettings(BaseModel):
    """The plugin's settings; secrets are ``env:NAME`` or ``file:PATH`` references."""

    model_config = ConfigDict(extra="forbid")

    secret_key: str = Field("env:STRIPE_SECRET_KEY", description="Stripe secret key reference")
    webhook_secret: str = Field(
        "env:STRIPE_WEBHOOK_SECRET", description="webhook signing secret reference"
    )
    publishable_key: str = Field("", max_length=200, description="for Stripe.js in the browser")
    currency: str = Field("usd", min_length=3, max_length=3)
    fees: dict[str, FeeSettings] = Field(default_factory=_default_fees)
    rounding: Rounding = "half_up"
    min_amount: int = Field(100, ge=1, description="smallest amount to a creator, minor units")
    max_amount: int = Field(100_000, ge=1, description="largest amount to a creator, minor units")
    presets: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [300, 500, 1000, 2000], max_length=8
    )
    api_base: str = Field(DEFAULT_API_BASE, description="Stripe's API origin")
    reverse_transfer_on_lost_dispute: bool = True

    @field_validator("secret_key", "webhook_secret")
    @classmethod
    def _secret_ref(cls, value: str) -> str:
        if not value.startswith(("env:", "file:")):
            raise ValueError("must be env:NAME or file:PATH; secrets never go in the config")
        return value

    @field_validator("currency")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @field_validator("api_base")
    @classmethod
    def _origin(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http:// for a local server)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _consistent(self) -> PaymentsSettings:
        self.fees = {k.lower(): v for k, v in self.fees.items()}
        if self.currency not in self.fees:
            raise ValueError(f"fees has no entry for the currency {self.currency!r}")
        if self.min_amount > self.max_amount:
            raise ValueError("min_amount is larger than max_amount")
        return self

    def fee_rule(self) -> FeeRule:
        rule = self.fees[self.currency]
        return FeeRule(bp=rule.bp, fixed=rule.fixed, rounding=self.rounding)

    def keys(self) -> tuple[str, str]:
        """The secret key and the webhook secret; ConfigError naming the key if missing."""
        return (
            resolve_secret(self.secret_key, "plugins.payments_stripe.secret_key"),
            resolve_secret(self.webhook_secret, "plugins.payments_stripe.webhook_secret"),
        )
