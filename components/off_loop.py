"""Slow, pure computations (bcrypt and SCRAM hashing) off the event loop's thread.

The program runs every `apply` on one thread, the event loop's, which also drives every
registration. bcrypt (cost 10) and PBKDF2 release the GIL while they hash, so run on a
worker thread they overlap with the rest of the evaluation instead of stalling it: about
0.12 s of every evaluation for the two bcrypt hashes alone (benchmarks/program_eval.py).
`Output.apply` accepts a function that returns an awaitable and awaits it (pulumi
output.py `apply`, "transformed is an Awaitable[U]"). The pool is the program's own, not
the loop's default executor, whose threads carry the SDK's blocking calls to the engine.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vos-hashing")


def off_loop(compute: Callable[..., T], *args: object) -> asyncio.Future[T]:
    """`compute(*args)` on a worker thread, as a future of the running loop (call it from
    an `apply`, which runs on the loop)."""
    return asyncio.get_running_loop().run_in_executor(_POOL, functools.partial(compute, *args))
