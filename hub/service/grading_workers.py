"""Grading workers inside the classroom service process, as asyncio tasks.

Each task hands :meth:`GradingWorker.run_once` to a thread (student code runs in
the sandbox, not here) and sleeps when the queue is empty. A worker that dies with
the process leaves its job's lease to expire; another worker takes it up.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket

from grading.gradebook.worker import GradingWorker
from hub.service.classroom import Classroom

log = logging.getLogger("aiclass.classroom")
IDLE_SECONDS = 2.0


async def work(worker: GradingWorker) -> None:
    """Grade jobs until cancelled; an unexpected error is logged and the loop goes on."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            job = await loop.run_in_executor(None, worker.run_once)
        except Exception:
            log.exception("grading worker %s", worker.name)
            job = None
        if job is None:
            await asyncio.sleep(IDLE_SECONDS)


def start_grading_workers(classroom: Classroom, count: int, sandbox: str = "local",
                          image: str | None = None) -> list[asyncio.Task]:
    """Start ``count`` workers on the service's database and content store.

    ``sandbox`` is named, never guessed: local mode grades in bubblewrap even on a host
    where a Docker engine and the student image happen to exist; docker mode in containers
    of ``image`` (the student image, under the center's registry prefix).
    """
    host = f"{socket.gethostname()}-{os.getpid()}"
    return [asyncio.get_running_loop().create_task(work(GradingWorker(
        classroom.session, classroom.content, f"{host}-{n}", sandbox=sandbox, image=image)))
        for n in range(count)]
