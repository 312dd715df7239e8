"""The Loyalty Ledger HTTP API."""
