"""Loyalty Ledger: a permissioned loyalty ledger on an EVM chain."""

__version__ = "0.1.0"
