"""Compile MockNetwork.sol with the project's solc stand-in into MockNetwork.json (ABI, code)."""

import json
import pathlib
import subprocess

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parents[2]

src = (HERE / "MockNetwork.sol").read_text()
inp = {
    "language": "Solidity",
    "sources": {"MockNetwork.sol": {"content": src}},
    "settings": {
        "optimizer": {"enabled": True, "runs": 200},
        "evmVersion": "cancun",
        "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
    },
}
out = json.loads(
    subprocess.run(
        [str(ROOT / "scripts/solc")],
        input=json.dumps(inp),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
)
errors = [e for e in out.get("errors", []) if e["severity"] == "error"]
if errors:
    raise SystemExit("\n".join(e["formattedMessage"] for e in errors))
artifacts = {
    name: {"abi": c["abi"], "bytecode": "0x" + c["evm"]["bytecode"]["object"]}
    for name, c in out["contracts"]["MockNetwork.sol"].items()
}
(HERE / "MockNetwork.json").write_text(json.dumps(artifacts))
print("compiled", sorted(artifacts))
