"""The loyalty programme a brand runs, on top of the ledger.

Owns perks (`perks`: catalogue, eligibility, redemption), earning (`earn`, `claims`, `rate`),
the earning rules, campaigns, referrals and tiers (`rules`), and the read views of a member's
standing that the API shows (`views`); profiles and segments belong here too. May import
`ledger`, `indexer`'s tables through `store`, `chain`, `auth` and the base modules; never
`cli`, `api`, `demo` or `service`.
"""
