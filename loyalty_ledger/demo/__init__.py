"""The demo world: a simulated customer base (`world`) seeded onto a fresh network (`seed`),
with a partner exchange (`exchange`). May import every layer below the CLI and the service;
nothing but `cli` and `service` imports it.
"""
