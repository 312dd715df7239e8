"""The README documents what a newcomer needs: every setting (LOYALTY_*) in the table."""

from __future__ import annotations

from pathlib import Path

from loyalty_ledger.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_in_the_readme_table() -> None:
    table = README[README.index("| variable | default | meaning |") :]
    table = table[: table.index("\n\n")]
    missing = [
        f"LOYALTY_{name.upper()}"
        for name in Settings.model_fields
        if f"`LOYALTY_{name.upper()}`" not in table
    ]
    assert missing == [], f"document in README's settings table: {missing}"
