"""The chain layer: everything that talks to an EVM node.

Owns connecting (`sender.connect`), the `Sender` that signs, pre-flights and sends
transactions, decoded custom-error reverts (`revert`), compiled artifacts (`artifacts`), typed
contract handles (`contracts`), the local anvil launcher (`anvil`) and deployment (`deploy`).
May import only the base modules (`config`, `errors`, `validate`, `expiry`).
"""
