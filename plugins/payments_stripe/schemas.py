"""The JSON shapes of the payments API (documented in ``/api/openapi.json``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from salon.core.schemas import MAX_ID, Body


class PaymentBody(Body):
    creator: str = Field(min_length=1, max_length=30, description="the creator's username")
    amount: int = Field(ge=1, le=10**9, description="to the creator, in minor units")
    anonymous: bool = False
    room_id: int | None = Field(None, ge=1, le=MAX_ID)
    request_id: str | None = Field(
        None, min_length=8, max_length=80, description="retrying with the same id pays once"
    )


class RefundBody(Body):
    amount: int | None = Field(None, ge=1, le=10**9, description="default: all that is left")


class NoBody(Body):
    """An empty JSON object."""


class BreakdownOut(BaseModel):
    amount: int
    fee: int
    total: int
    currency: str
    exponent: int


class ConfigOut(BaseModel):
    currency: str
    exponent: int
    min_amount: int
    max_amount: int
    presets: list[int]
    publishable_key: str


class LinkOut(BaseModel):
    url: str


class PaymentOut(BaseModel):
    id: int
    state: str
    amount: int
    fee: int
    total: int
    fee_actual: int | None
    currency: str
    exponent: int
    anonymous: bool
    payment_intent_id: str | None
    failure_message: str
    created_at: str
    creator: str | None = None


class PaymentStarted(PaymentOut):
    client_secret: str
    publishable_key: str


class RefundOut(BaseModel):
    id: str
    amount: int
    status: str


class AccountOut(BaseModel):
    status: str = Field(description="none, pending or enabled")
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool


class DayAmount(BaseModel):
    day: str
    amount: int


class PayerAmount(BaseModel):
    payer: str
    amount: int


class EarningsOut(BaseModel):
    currency: str
    total: int
    by_day: list[DayAmount]
    by_payer: list[PayerAmount]


class ReceiptsOut(BaseModel):
    receipts: list[PaymentOut]


class RecipientsOut(BaseModel):
    user_ids: list[int]


class AdminSummaryOut(BaseModel):
    totals: dict[str, dict[str, int]]
    fee_variance: dict[str, int]
    transactions: int
    entries: int
    balanced: bool


class WebhookOut(BaseModel):
    received: bool
    result: str
