"""Routers by audience: auth, customers, brands, perks, ledger, admin, health."""
