"""The loyalty programme a brand runs, on top of the ledger.

Owns perks (`perks`: catalogue, eligibility, redemption), earning (`earn`) and the read views of
a member's standing that the API shows (`views`); earn rules, tiers, referrals, profiles and
segments belong here too. May import `ledger`, `indexer`'s tables through `store`, `chain`,
`auth` and the base modules; never `cli`, `api`, `demo` or `service`.
"""
