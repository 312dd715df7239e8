"""An answer made of parts, streamed as NDJSON as each part is ready (the dashboard's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import orjson
from fastapi.encoders import jsonable_encoder

NDJSON = "application/x-ndjson"


def dumps(value: Any) -> bytes:
    """JSON bytes by orjson (as the endpoints encode them: through FastAPI's encoder for what
    orjson does not know)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return orjson.dumps(jsonable_encoder(value))


def wants_ndjson(accept: str | None) -> bool:
    """The client asked for the parts as lines (`Accept: application/x-ndjson`)."""
    return NDJSON in (accept or "")


def stream(
    head: Callable[[], dict[str, Any]],
    names: Sequence[str],
    work: Callable[[str], dict[str, Any]],
    parallel: int,
    keep: Callable[[bytes], None] = lambda _: None,
) -> Iterator[bytes]:
    """One line with `head()`, then one `{"part": name, "answer": ...}` line per name as soon as
    `work(name)` returns (computed `parallel` at a time, in `names`' order): a reader draws each
    part while the others are computed. Every line sent is given to `keep` at the end. Closing
    the stream cancels the parts not started."""
    pool = ThreadPoolExecutor(max_workers=parallel)
    try:
        pending: dict[Future[dict[str, Any]], str] = {pool.submit(work, n): n for n in names}
        sent = [dumps(head()) + b"\n"]
        yield sent[0]
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                sent.append(dumps({"part": pending.pop(f), "answer": f.result()}) + b"\n")
                yield sent[-1]
        keep(b"".join(sent))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
