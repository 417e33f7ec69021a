"""The payments plugin's errors, on top of Salon's tree (``salon.core.errors``).

SalonError
├── ValidationFailed      422  a bad amount, an unknown field (core)
├── Forbidden             403  not allowed to pay this creator (core)
├── Conflict              409  the creator cannot receive money yet (core)
└── StripeUnavailable     502  Stripe did not answer; try again
"""

from __future__ import annotations

from salon.core.errors import Conflict, SalonError


class StripeRefused(Conflict):
    """Stripe answered the request with an error of the request itself (4xx)."""

    code = "stripe_refused"


class StripeUnavailable(SalonError):
    """Stripe's API failed or could not be reached; the request can be retried."""

    status = 502
    code = "stripe_unavailable"
