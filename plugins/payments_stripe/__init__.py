"""Creator payments through Stripe Connect: 100% to the creator, the fee on top."""
