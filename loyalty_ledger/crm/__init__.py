"""The brand's relationship with its members, off chain: profiles with consent and erasure
(`profiles`), the per-member facts segments filter on (`facts`), the explainable churn-risk
score (`churn`), segments (`segments`), and notifications through an outbox (`notify`,
`deliver`, `webhooks`, `triggers`).

Personal data (names, emails, phones, birthdays) lives only in SQL tables of this package,
never on chain or in events. May import `insights`, `programme`, `auth`, `store` and the base
modules (`mail` among them); never `demo`, `api`, `service` or `cli`.
"""
