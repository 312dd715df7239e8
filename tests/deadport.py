"""A URL on 127.0.0.1 where nothing answers, for the span of a test: its port is bound and not
listening, so a connection is refused at once and no other process (another xdist worker's node
or server) can take the port meanwhile, as it can a port `free_port` has handed out and freed."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def dead_url(scheme: str = "http") -> Iterator[str]:
    """`scheme://127.0.0.1:PORT` with PORT held, refusing connections, until the block ends."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield f"{scheme}://127.0.0.1:{s.getsockname()[1]}"
