"""Earning rules a brand runs: what triggers them, the conditions they check, what they pay,
how they stack, their per-member limits and their campaigns' budgets.

Modules: `model` (a rule, an event, a line; checking a definition), `evaluate` (pure: which
rules pay how much for an event; live earning and simulation share it), `store` (versioned
rules in SQL, the default rules), `live` (the member's facts and the SQL gate inside an
earning's transaction), `campaigns`, `simulate`, `referrals`, `explain`.
May import `store`, `chain`, `ledger` and the base modules (the `programme` layer).
"""
