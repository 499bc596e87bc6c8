"""Servers on one machine boot a few at a time; the rest wait their turn.

Python servers starting together thrash the cores. Forty containers at once on two cores
each took over twice the CPU one takes alone, so all finished late together (the login
storm); a hundred local boxes at once each took about 140 s, past the 120 s start timeout,
and two of them failed (the regional load run). A few at a time finish in turn: the first
within seconds, the last sooner than all of them together. A turn lasts from the start
until the server accepts connections, which the spawner watches closely: the hub's own
check backs off up to 5 s between tries. Time spent waiting for a turn counts toward the
start timeout, as JupyterHub times the whole ``start``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import ClassVar

from traitlets import Float, HasTraits, Integer, default


class BootTurns(HasTraits):
    """A spawner mixin: :meth:`boot` runs the spawner's start in a turn of its own."""

    concurrent_boots = Integer(
        help="""Servers booting at once (from the start until the server answers); the rest
        wait their turn. Default: twice the host's cores.""",
    ).tag(config=True)

    @default("concurrent_boots")
    def _default_concurrent_boots(self) -> int:
        return 2 * (os.cpu_count() or 1)

    ready_poll_interval = Float(
        0.05,
        help="""Seconds between checks that a new server answers. The hub's own check backs
        off up to 5 s between tries; answering the moment the server is up saves that wait.""",
    ).tag(config=True)

    #: One per hub process, whichever spawner class boots: they share the machine's cores.
    _boot_gate: ClassVar[asyncio.Semaphore | None] = None

    def boot_gate(self) -> asyncio.Semaphore:
        """The hub-wide turn-taking of :attr:`concurrent_boots` booting servers."""
        if BootTurns._boot_gate is None:
            BootTurns._boot_gate = asyncio.Semaphore(self.concurrent_boots)
        return BootTurns._boot_gate

    async def boot(self, start: Callable[[], Awaitable[tuple[str, int]]]) -> tuple[str, int]:
        """Wait for a turn, ``start`` the server and hold the turn until it answers."""
        async with self.boot_gate():
            began = time.monotonic()
            self.log.info("Booting %s's server (at most %d at once)", self.user.name,
                          self.concurrent_boots)
            ip, port = await start()
            await self.wait_until_answering(ip, port)
            self.log.info("%s's server booted in %.1f s", self.user.name,
                          time.monotonic() - began)
        return ip, port

    async def wait_until_answering(self, ip: str, port: int) -> None:
        """Return as soon as the server accepts connections (or has exited)."""
        deadline = time.monotonic() + self.start_timeout
        next_poll = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                _, writer = await asyncio.open_connection(ip, port)
            except OSError:
                if time.monotonic() > next_poll:
                    # a crashed server never answers: let the hub report it
                    if await self.poll() is not None:
                        return
                    next_poll = time.monotonic() + 2
                await asyncio.sleep(self.ready_poll_interval)
                continue
            writer.close()
            return
