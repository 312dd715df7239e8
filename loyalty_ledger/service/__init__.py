"""The main job (`loyalty up`): start or reuse the chain, deploy and seed the demo, follow the
chain with the indexer and serve the API. The top layer beside `cli`: it may import anything,
including the `api` package; nothing in `loyalty_ledger` imports it but `cli`.
"""
