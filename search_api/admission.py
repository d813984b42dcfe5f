"""A bound on concurrent model and index work, so a burst queues or gets 503 instead of eating memory.

Each request that runs the model (text or photo queries, classify, embed), searches
the index or renders a thumbnail first takes one of ``model_slots`` turns. Up to
``queue_size`` more wait for a turn, each at most ``queue_seconds``; beyond that the
answer is ``503 Service Unavailable`` with ``Retry-After``, at once, before any
photo is decoded. Memory therefore stays bounded by the number of slots, whatever
the number of clients.

The turn is taken on the event loop (no thread is held while waiting) and given back
when the handler returns. The model call itself is not interrupted: inputs are
bounded (text length, upload bytes and pixels), so each call is bounded too.
"""

from __future__ import annotations

import asyncio
import math

from fastapi import Depends, Request


class ServerBusyError(RuntimeError):
    """Every turn is taken and the queue is full (or the wait ran out): try again shortly."""

    def __init__(self, reason: str, retry_after: int):
        super().__init__(reason)
        self.retry_after = retry_after


class Admission:
    """Turns for model work: ``slots`` at once, ``queue`` waiting, each for ``wait_seconds`` at most."""

    def __init__(self, slots: int, queue: int, wait_seconds: float):
        if slots < 1 or queue < 0 or wait_seconds < 0:
            raise ValueError("model slots must be >= 1, queue size and wait >= 0")
        self.slots, self.queue, self.wait_seconds = slots, queue, wait_seconds
        self.retry_after = max(1, math.ceil(wait_seconds / 4))
        self.waiting = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turns: asyncio.Semaphore | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        # asyncio primitives belong to one event loop; a server has one, tests may start several.
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._turns = loop, asyncio.Semaphore(self.slots)
        return self._turns

    async def acquire(self) -> None:
        turns = self._semaphore()
        if turns.locked() and self.waiting >= self.queue:
            raise ServerBusyError(
                f"the server is busy ({self.slots} requests running, {self.waiting} waiting); "
                f"retry in {self.retry_after} s",
                self.retry_after,
            )
        self.waiting += 1
        try:
            await asyncio.wait_for(turns.acquire(), timeout=self.wait_seconds)
        except (TimeoutError, asyncio.TimeoutError):
            raise ServerBusyError(
                f"the server is busy: no turn within {self.wait_seconds:g} s; retry in {self.retry_after} s",
                self.retry_after,
            ) from None
        finally:
            self.waiting -= 1

    def release(self) -> None:
        self._semaphore().release()


async def _model_turn(request: Request):
    admission: Admission = request.app.state.admission
    await admission.acquire()
    try:
        yield
    finally:
        admission.release()


# Declare on a route or router: `dependencies=[ModelTurn]`.
ModelTurn = Depends(_model_turn)
