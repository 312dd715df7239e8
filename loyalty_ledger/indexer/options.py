"""What an indexer indexes and how: `IndexerOptions`, read from a deployment file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import IndexerError

DEFAULT_WINDOW = 64


@dataclass
class IndexerOptions:
    rpc_url: str
    database_url: str
    registry: str
    start_block: int
    forwarder: str | None = None
    exchange: str | None = None
    confirmations: int = 0
    poll_interval: float = 0.1
    window: int | None = None  # blocks kept for reorgs: None = the mirror's (64 for a new one)
    rpc_timeout: float = 10.0
    derived: bool = True
    progress: bool = True
    initial_range: int = 10
    max_range: int = 100_000
    give_up_after: float = 60.0  # without --follow: seconds to retry a node that fails
    lag_grace: float = 30.0  # with --follow: seconds to wait for a node behind the checkpoint
    stats: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> IndexerOptions:
        """Options for `settings` (node, database, deployment file); `overrides` win."""
        kw: dict[str, Any] = {
            "rpc_url": settings.rpc_url,
            "database_url": settings.database_url,
            "confirmations": getattr(settings, "confirmations", 0),
            "rpc_timeout": getattr(settings, "rpc_timeout", 10.0),
        }
        for name in ("poll_interval", "window"):
            if hasattr(settings, f"index_{name}"):
                kw[name] = getattr(settings, f"index_{name}")
        return cls.from_deployment(settings.deployment_file, **(kw | overrides))

    @classmethod
    def from_deployment(cls, path: Path | str, **kw: Any) -> IndexerOptions:
        """Options with the registry, forwarder, exchange and start block of a deployment
        file (`exchange` is optional: networks deployed before the coalition exchange)."""
        path = Path(path)
        if not path.exists():
            raise IndexerError(f"no deployment file at {path}; deploy the network first")
        data = json.loads(path.read_text())
        start = kw.pop("from_block", None)
        return cls(
            registry=data["registry"],
            forwarder=data.get("forwarder"),
            exchange=data.get("exchange"),
            start_block=int(data["start_block"] if start is None else start),
            **kw,
        )
