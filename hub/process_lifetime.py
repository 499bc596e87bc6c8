"""How the processes the hub starts (the classroom service, the organisation mirror) end.

JupyterHub stops a managed service with SIGINT, then SIGTERM after ``interrupt_timeout``
(10 s), then SIGKILL after 5 s more, one service after the other. Left to Python's
defaults, the classroom service turned SIGINT into a ``KeyboardInterrupt`` whose
``asyncio.run`` then waited for the grading threads (a sandbox may run for minutes), so
each stop took the hub's full escalation and a hub given SIGTERM was still there 50 s
later. Here a stop signal is a request to stop, answered at once: the service stops
listening, puts its grading jobs back in the queue and exits (:mod:`hub.service.app`);
the mirror, whose every reconciliation is idempotent, simply exits.

A hub that dies without cleaning up (SIGKILL, the OOM killer) must not leave its services
behind: the next hub starts its own, and an orphaned service would keep grading and
listening beside it. :func:`die_with_parent` asks the kernel to send SIGTERM when the
hub goes, which then takes the prompt path above.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PR_SET_PDEATHSIG = 1


def die_with_parent(signum: signal.Signals = signal.SIGTERM) -> None:
    """Have the kernel send this process ``signum`` when the process that started it dies.

    SIGTERM takes a service's prompt stop path; a grading worker, whose job the next
    service puts back in the queue anyway, is sent SIGKILL (:mod:`hub.service.grading_process`).
    The kernel signals when the parent's *thread* that forked us ends: the service starts
    its children from its event loop's thread, which lives as long as it does.
    Checked once more after asking: a parent that died just before is not signalled for.
    """
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signum) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_PDEATHSIG): {os.strerror(errno)}")
    if os.getppid() != parent:
        os.kill(os.getpid(), signum)


def _exit_at_once(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def exit_on_stop_signals() -> None:
    """For a blocking process: SIGINT and SIGTERM end it at once, with status 0."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _exit_at_once)


def stop_signal() -> asyncio.Future[signal.Signals]:
    """A future of the running loop that the first SIGINT or SIGTERM resolves.

    The handlers are in place when this returns, so that a stop asked for while the
    process is still starting up waits for the start to finish and is not lost.
    """
    loop = asyncio.get_running_loop()
    received: asyncio.Future[signal.Signals] = loop.create_future()

    def receive(signum: signal.Signals) -> None:
        if not received.done():
            received.set_result(signum)

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, receive, signum)
    return received
