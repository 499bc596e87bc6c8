"""The classroom service's grading workers, each in an OS process of its own.

Each worker is ``python -m hub.service.grading_process`` (:mod:`.grading_process`),
niced, dying with the service; the service watches it from an
asyncio task that counts what it reports in the service's metrics and starts it again
should it die (its job goes back to the queue first, as one of the submission's
attempts). Grading no longer shares the service's interpreter lock with the requests it
answers.

No job waits out its lease because its service went away: a service that stops puts its
workers' jobs back in the queue (:func:`stop_grading_workers`), and one that starts puts
back those of an earlier service on this host whose process is gone, killed or crashed
(:func:`requeue_abandoned`). A worker is named after the service's pid and its slot,
``host-pid-n``, so both find a service's jobs by its pid alone: its workers die with it.
A worker on another host is left to its lease, which runs out without it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass, field

from grading.gradebook.queue import QueuePolicy, requeue, running_owners
from grading.sandbox.cpu_group import GradingCpuGroup
from hub.service.classroom import Classroom
from hub.service.grading_process import NICENESS, READY, Report, WorkerConfig
from hub.service.metrics import GRADING_JOBS, SANDBOX_FAILURES

log = logging.getLogger("aiclass.classroom")
#: What a worker's reports count, by the report's ``counter``.
COUNTERS = {"grading_jobs": GRADING_JOBS, "sandbox_failures": SANDBOX_FAILURES}
#: How long a stopping service waits, at most, to see its killed workers gone.
STOP_SECONDS = 2.0
#: Pause before a worker that died is started again, so that one that cannot start
#: (a broken database URL) is not restarted in a tight loop.
RESTART_SECONDS = 1.0
#: The hub's credentials stay with the service: a worker never calls the hub.
WITHHELD_ENVIRONMENT = ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN")


@dataclass
class WorkerProcess:
    """One worker slot: the process running in it now, and the task that watches it.

    ``ready`` is whether that process has said it is ready to grade (:data:`READY`): false
    from each start until then, a restarted worker included.
    """

    config: WorkerConfig
    classroom: Classroom
    cpu_group: GradingCpuGroup | None = None
    process: asyncio.subprocess.Process | None = None
    pidfd: int | None = None
    stopping: bool = False
    ready: bool = False
    watcher: asyncio.Task | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    async def start(self) -> None:
        """Start the process and hand it its configuration."""
        self.ready = False
        environment = {key: value for key, value in os.environ.items()
                       if key not in WITHHELD_ENVIRONMENT}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub.service.grading_process", env=environment,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        self.pidfd = os.pidfd_open(self.process.pid)
        # Here, not by the worker itself: its imports alone take seconds of CPU. It has one
        # thread yet, so the threads and sandboxes it starts later inherit the niceness.
        os.setpriority(os.PRIO_PROCESS, self.process.pid,
                       os.getpriority(os.PRIO_PROCESS, 0) + NICENESS)
        if self.cpu_group is not None:
            self.cpu_group.join(self.process.pid)
        self.process.stdin.write((self.config.to_json() + "\n").encode())
        await self.process.stdin.drain()
        self.process.stdin.close()
        log.info("grading worker %s started (pid %d)", self.config.name, self.process.pid)

    async def watch(self) -> None:
        """Count its reports until it exits; unless stopping, requeue its job and restart."""
        while True:
            await self.start()
            async for line in self.process.stdout:
                add_report(line.decode(), self)
            returncode = await self.process.wait()
            self.ready = False
            self.close_pidfd()
            if self.stopping:
                return
            log.error("grading worker %s (pid %d) exited with %s; its job goes back to "
                      "the queue", self.config.name, self.process.pid, returncode)
            await asyncio.get_running_loop().run_in_executor(
                None, requeue_owned, self.classroom, {self.config.name}, True)
            await asyncio.sleep(RESTART_SECONDS)

    def send(self, signum: signal.Signals) -> None:
        """Signal the process, by pidfd: never another process that got its pid since."""
        if self.pidfd is not None:
            try:
                signal.pidfd_send_signal(self.pidfd, signum)
            except ProcessLookupError:
                pass

    def exited(self, timeout: float) -> bool:
        """Whether the process has exited, waiting up to ``timeout`` seconds."""
        if self.pidfd is None:
            return True
        waiting = select.poll()  # not select(): a busy service's descriptors pass 1024
        waiting.register(self.pidfd, select.POLLIN)
        return bool(waiting.poll(max(timeout, 0) * 1000))

    def close_pidfd(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


def add_report(line: str, worker: WorkerProcess) -> None:
    """Add one report of ``worker`` to the service's metrics, or mark it ready; a malformed
    one is logged."""
    try:
        report = Report.from_line(line)
        if report.counter == READY and report.label == worker.config.name:
            worker.ready = True
            log.info("grading worker %s ready (pid %s)", worker.config.name, worker.pid)
            return
        counter = COUNTERS[report.counter]
    except (ValueError, TypeError, KeyError):
        log.warning("grading worker %s: unreadable report %r", worker.config.name, line[:200])
        return
    counter.labels(report.label).inc()
    if report.job is not None:
        log.info("grading job %d: %s (worker %s, pid %s)", report.job, report.label,
                 worker.config.name, worker.pid)


def start_grading_workers(classroom: Classroom, count: int, sandbox: str = "local",
                          image: str | None = None,
                          fair_share_seconds: float = QueuePolicy.fair_share_seconds,
                          log_format: str = "text",
                          cpu_group: GradingCpuGroup | None = None) -> list[WorkerProcess]:
    """Start ``count`` worker processes on the service's database and content store.

    With a ``cpu_group`` (:func:`grading_cpu_group`), each worker joins it as it starts,
    and the sandboxes it starts go there too.

    Called on the event loop's thread, which lives as long as the service: a worker dies
    when the thread that started it ends (``PR_SET_PDEATHSIG``). ``sandbox`` is named,
    never guessed: local mode grades in bubblewrap even on a host where a Docker engine and
    the student image happen to exist; docker mode in containers of ``image`` (the student
    image, under the center's registry prefix).
    """
    prefix = _own_prefix(os.getpid())
    loop = asyncio.get_running_loop()
    workers = [WorkerProcess(WorkerConfig(
        name=f"{prefix}{n}", database_url=classroom.database_url, data_dir=classroom.data_dir,
        sandbox=sandbox, image=image, fair_share_seconds=fair_share_seconds,
        log_format=log_format), classroom, cpu_group) for n in range(count)]
    for worker in workers:
        worker.watcher = loop.create_task(worker.watch())
    return workers


def grading_cpu_group(cores: float, count: int, sandbox: str) -> GradingCpuGroup | None:
    """The CPU group of this service's ``count`` workers grading in ``sandbox``, if any.

    For the local sandbox only: Docker's containers are the engine's, in groups of its
    own weighed by their ``--cpu-shares``, and a hub container may not write the host's
    control groups anyway.
    """
    if count == 0 or sandbox != "local":
        return None
    return GradingCpuGroup.for_service(cores, NICENESS)


def _own_prefix(pid: int) -> str:
    """How the names of the workers of service process ``pid`` on this host begin."""
    return f"{socket.gethostname()}-{pid}-"


def _abandoned_here(owner: str) -> bool:
    """Whether ``owner`` is a worker of a service process on this host that is gone.

    This process's own pid counts as gone: its workers have not started yet, and a hub
    container started again hands its new service the pid the old one had.
    """
    pid = owner.removeprefix(f"{socket.gethostname()}-").split("-")[0]
    if not pid.isdigit() or not owner.startswith(_own_prefix(int(pid))):
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def requeue_owned(classroom: Classroom, owners: set[str], counts_as_attempt: bool) -> int:
    """Put the jobs ``owners`` hold back in the queue; how many there were."""
    with classroom.session() as session:
        return requeue(session, owners, counts_as_attempt=counts_as_attempt)


def requeue_abandoned(classroom: Classroom) -> int:
    """Before the workers start: put back the jobs that dead services of this host held."""
    with classroom.session() as session:
        owners = {owner for owner in running_owners(session) if _abandoned_here(owner)}
        count = requeue(session, owners, counts_as_attempt=True)
    if count:
        log.info("requeued %d grading jobs of a service that is gone", count)
    return count


def stop_grading_workers(classroom: Classroom, workers: list[WorkerProcess]) -> int:
    """Stop the workers and put the jobs they hold back in the queue; how many there were.

    A job being graded is given up rather than waited for (a sandbox may run for minutes
    while the hub waits ten seconds): the workers are killed, and the next worker grades
    the job from the start. The jobs are requeued once the workers are gone, so none of
    them can still write a result.
    """
    for worker in workers:
        worker.stopping = True
        if worker.watcher is not None:
            worker.watcher.cancel()
        worker.send(signal.SIGKILL)
    deadline = time.monotonic() + STOP_SECONDS
    for worker in workers:
        if not worker.exited(deadline - time.monotonic()):
            log.warning("grading worker %s (pid %s) still there after SIGKILL",
                        worker.config.name, worker.pid)
        worker.close_pidfd()
    for group in {worker.cpu_group for worker in workers} - {None}:
        group.remove()
    prefix = _own_prefix(os.getpid())
    with classroom.session() as session:
        owners = {owner for owner in running_owners(session) if owner.startswith(prefix)}
        return requeue(session, owners, counts_as_attempt=False)
