"""The grading worker processes without a hub: their reports, restarts and stop.

Do only well-formed reports move the service's counters (a stray line on the channel, a
forged counter name, count nothing)? Does a library's ``print`` in a worker reach the log
rather than the report channel? Is a worker that dies started again, and does a stop
leave no worker process behind? Is a worker ready only once its own process says so, and
not ready again between its death and its restart's report?
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from grading.sandbox.proc_stat import proc_stat
from hub.service.classroom import Classroom
from hub.service.grading_process import READY, Report, WorkerConfig
from hub.service.grading_workers import (
    RESTART_SECONDS,
    WorkerProcess,
    add_report,
    start_grading_workers,
    stop_grading_workers,
)
from hub.service.metrics import SERVICE_REGISTRY


def counted(name: str, **labels: str) -> float:
    return SERVICE_REGISTRY.get_sample_value(name, labels) or 0.0


def test_only_well_formed_reports_count(caplog: pytest.LogCaptureFixture,
                                        tmp_path: Path) -> None:
    worker = WorkerProcess(WorkerConfig("host-1-0", "sqlite://", str(tmp_path)), classroom=None)
    done = ("aiclass_grading_jobs_total", {"outcome": "done"})
    docker = ("aiclass_sandbox_failures_total", {"backend": "docker"})
    before = counted(done[0], **done[1]), counted(docker[0], **docker[1])
    with caplog.at_level(logging.WARNING, "aiclass.classroom"):
        for stray in ("graded!\n", '{"counter": "requests", "label": "done"}\n',
                      '{"counter": "grading_jobs"}\n', '["grading_jobs", "done"]\n'):
            add_report(stray, worker)
    assert caplog.text.count("unreadable report") == 4
    assert (counted(done[0], **done[1]), counted(docker[0], **docker[1])) == before
    add_report(Report(READY, "host-1-1").to_line(), worker)
    assert not worker.ready, "another worker's readiness made this one ready"
    add_report(Report(READY, "host-1-0").to_line(), worker)
    assert worker.ready
    add_report(Report("grading_jobs", "done", 7).to_line(), worker)
    add_report(Report("sandbox_failures", "docker").to_line(), worker)
    assert counted(done[0], **done[1]) == before[0] + 1
    assert counted(docker[0], **docker[1]) == before[1] + 1


def test_a_print_in_a_worker_goes_to_the_log_not_the_reports() -> None:
    script = ("from hub.service.grading_process import private_reports\n"
              "reports = private_reports()\nprint('stray output')\n"
              "reports.write('report line\\n')\nreports.flush()\n")
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, check=True)
    assert ran.stdout == "report line\n"
    assert "stray output" in ran.stderr


def alive(pid: int) -> bool:
    try:
        state = proc_stat(pid)[0]
    except OSError:
        return False
    return state != "Z"


async def started(worker: WorkerProcess, other_than: int | None = None) -> int:
    for _ in range(200):
        if worker.pid is not None and worker.pid != other_than and alive(worker.pid):
            return worker.pid
        await asyncio.sleep(0.05)
    raise TimeoutError("the worker did not start")


async def ready(worker: WorkerProcess) -> None:
    """Until the worker's process has said it is ready (its niced imports take seconds of
    CPU, more on a busy host), two minutes at most."""
    for _ in range(2400):
        if worker.ready:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the worker never said it was ready")


def test_a_dead_worker_is_restarted_and_a_stop_leaves_none(tmp_path: Path) -> None:
    classroom = Classroom(database_url=f"sqlite:///{tmp_path / 'aiclass.sqlite'}",
                          data_dir=str(tmp_path))

    async def scenario() -> tuple[int, int, bool]:
        (worker,) = start_grading_workers(classroom, 1)
        first = await started(worker)
        assert worker.config.name == f"{os.uname().nodename}-{os.getpid()}-0"
        await ready(worker)
        os.kill(first, signal.SIGKILL)
        await asyncio.sleep(RESTART_SECONDS)
        second = await started(worker, other_than=first)
        assert not worker.ready, "a restarted worker counts as ready before it says so"
        await ready(worker)
        assert int(proc_stat(second)[1]) \
            == os.getpid()
        requeued = stop_grading_workers(classroom, [worker])
        await asyncio.gather(worker.watcher, return_exceptions=True)
        return second, requeued, worker.watcher.cancelled()

    second, requeued, watcher_cancelled = asyncio.run(scenario())
    assert requeued == 0
    assert not alive(second), "a stopped worker is still running"
    assert watcher_cancelled, "the stopped worker's watcher would start it again"
