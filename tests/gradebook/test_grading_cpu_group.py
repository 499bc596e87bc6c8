"""The classroom service's grading in a CPU control group of its own, limited by a setting.

Do the worker process and every sandbox it starts run inside the service's group, whose
quota is the cores ``[service] grading_cpus`` allows, even when the student's code tries to
leave it? Does the limit follow the setting (all but one core by default)? Where no group
can be made, does grading still run, with the log saying why there is no limit?
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from pathlib import Path

import pytest

from grading.exchange.content_store import BLOBS_IN_DATA_DIR, ContentStore
from grading.exchange.models import Submission
from grading.gradebook.queue import enqueue
from grading.sandbox.cgroups import GROUP, SERVICE_PREFIX, CgroupLimits
from grading.sandbox.cpu_group import GradingCpuGroup, grading_cores
from grading.sandbox.proc_stat import proc_stat
from hub.service.classroom import Classroom
from hub.service.grading_process import NICENESS
from hub.service.grading_workers import (
    grading_cpu_group,
    start_grading_workers,
    stop_grading_workers,
)
from hub.settings import SettingsError, load_settings
from tests.gradebook.conftest import CORRECT, TEACHER, Service, open_sessions

CGROUPS = os.geteuid() == 0 and CgroupLimits().usable and CgroupLimits().version == 1
needs_cgroups = pytest.mark.skipif(
    not CGROUPS, reason="needs root and a writable cgroup v1 CPU hierarchy (this CI host has one)")
#: The student's code tries to leave its group, by the paths a curious student would try,
#: then runs long enough to be seen from outside.
ESCAPE = ("import os, time\n"
          "for path in ('/sys/fs/cgroup/cpu/cgroup.procs',\n"
          "             '/sys/fs/cgroup/cpu/aiclass-grading/cgroup.procs'):\n"
          "    try:\n"
          "        open(path, 'w').write(str(os.getpid()))\n"
          "    except OSError:\n"
          "        pass\n"
          "time.sleep(4)\n")


def cpu_group_of(pid: int) -> str | None:
    """The CPU control group process ``pid`` is in, None once it is gone."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    return next((line.split(":", 2)[2] for line in lines
                 if "cpu" in line.split(":", 2)[1].split(",")), None)


def parent_of(pid: int) -> int | None:
    try:
        return int(proc_stat(pid)[1])
    except OSError:
        return None


def descendants(ancestor: int) -> set[int]:
    """The processes below ``ancestor`` now: ours alone, whatever other tests run."""
    below: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            pid = parent = int(entry.name)
            while parent not in (None, 0, 1):
                parent = parent_of(parent)
                if parent == ancestor:
                    below.add(pid)
                    break
    return below


@pytest.fixture
def shared(tmp_path: Path, ps1_release: dict[str, bytes]) -> tuple[Service, Classroom]:
    """ps1 released in a database and content store that a Classroom opens too."""
    url = f"sqlite:///{tmp_path / 'aiclass.sqlite'}"
    service = Service(url, ContentStore(tmp_path / BLOBS_IN_DATA_DIR), open_sessions(url),
                      ps1_release)
    service.release()
    return service, Classroom(database_url=url, data_dir=str(tmp_path))


def queue(service: Service, edits: dict[str, str]) -> int:
    submission_id = service.submit("s-cgroup", edits, key="cgroup-key")
    with service.session() as session:
        return enqueue(session, session.get_one(Submission, submission_id), "submit",
                       TEACHER).id


def job_state(database: str, job_id: int) -> str:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT state FROM grading_jobs WHERE id = ?", (job_id,)).fetchone()[0]


@needs_cgroups
def test_the_worker_and_its_sandboxes_grade_inside_the_limited_group(
        shared: tuple[Service, Classroom], tmp_path: Path) -> None:
    service, classroom = shared
    job = queue(service, {**CORRECT, "squares": ESCAPE + CORRECT["squares"]})
    group = grading_cpu_group(0.5, 1, "local")
    assert group is not None and group.directory.name == f"{SERVICE_PREFIX}{os.getpid()}"
    assert (group.directory / "cpu.cfs_quota_us").read_text().split() == ["50000"]
    assert (group.directory / "cpu.cfs_period_us").read_text().split() == ["100000"]
    niced = round(1024 / 1.25 ** NICENESS)
    assert int((group.directory / "cpu.shares").read_text()) == niced
    assert int((group.directory.parent / "cpu.shares").read_text()) == niced, (
        "aiclass-grading would weigh as much as the service beside it")
    ours = f"/{GROUP}/{group.directory.name}/"

    async def scenario() -> tuple[str | None, set[str], set[str]]:
        (worker,) = start_grading_workers(classroom, 1, cpu_group=group)
        sandbox_groups: set[str] = set()
        outside: set[str] = set()
        deadline = time.monotonic() + 180
        try:
            while job_state(str(tmp_path / "aiclass.sqlite"), job) != "done":
                assert time.monotonic() < deadline, "the job was not graded within 180 s"
                if worker.pid is not None:
                    for pid in {worker.pid, *descendants(worker.pid)}:
                        found = cpu_group_of(pid)
                        if found is not None and not found.startswith(ours):
                            outside.add(f"{pid}: {found}")
                        elif found is not None and found != ours + "workers":
                            sandbox_groups.add(found)
                await asyncio.sleep(0.2)
            return cpu_group_of(worker.pid), sandbox_groups, outside
        finally:
            stop_grading_workers(classroom, [worker])
            await asyncio.gather(worker.watcher, return_exceptions=True)

    worker_group, sandbox_groups, outside = asyncio.run(scenario())
    assert worker_group == ours + "workers"
    assert not outside, f"grading processes outside the limited group: {outside}"
    assert sandbox_groups and all(
        name.removeprefix(ours).startswith("aiclass-sbx-") for name in sandbox_groups), (
        f"the sandboxes ran in {sandbox_groups or 'no group seen'}, not in {ours}")
    assert not group.directory.exists(), "a stopped service leaves its grading group behind"


@needs_cgroups
def test_the_limit_follows_the_setting(tmp_path: Path) -> None:
    assert [grading_cores(0, cores) for cores in (1, 2, 8)] == [1, 1, 7]
    assert grading_cores(1.5, 2) == 1.5
    (tmp_path / "aiclass.toml").write_text("[service]\ngrading_cpus = 1.5\n")
    cores = grading_cores(load_settings(tmp_path).service.grading_cpus, 2)
    group = grading_cpu_group(cores, 2, "local")
    try:
        assert (group.directory / "cpu.cfs_quota_us").read_text().split() == ["150000"]
        assert (group.workers / "cgroup.procs").read_text() == ""
    finally:
        group.remove()
    assert grading_cpu_group(cores, 0, "local") is None, "no workers, no group"
    assert grading_cpu_group(cores, 2, "docker") is None, "containers are the engine's"
    (tmp_path / "aiclass.toml").write_text("[service]\ngrading_cpus = -1\n")
    with pytest.raises(SettingsError, match="grading_cpus"):
        load_settings(tmp_path)


def test_without_cgroups_grading_runs_niced_and_the_log_says_why(
        shared: tuple[Service, Classroom], tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    _service, classroom = shared
    plain = tmp_path / "not-a-cgroup-tree"
    plain.mkdir()
    with caplog.at_level(logging.WARNING, "aiclass.grading"):
        assert GradingCpuGroup.for_service(1.0, NICENESS, root=plain) is None
    assert "评分未放入 CPU 控制组" in caplog.text
    assert "grading is not in a CPU control group" in caplog.text
    assert "no CPU controller here" in caplog.text
    assert not (plain / "cpu" / GROUP / f"{SERVICE_PREFIX}{os.getpid()}").exists()

    async def scenario() -> tuple[str | None, int]:
        (worker,) = start_grading_workers(classroom, 1, cpu_group=None)
        try:
            for _ in range(200):
                if worker.pid is not None and cpu_group_of(worker.pid) is not None:
                    break
                await asyncio.sleep(0.05)
            return cpu_group_of(worker.pid), os.getpriority(os.PRIO_PROCESS, worker.pid)
        finally:
            stop_grading_workers(classroom, [worker])
            await asyncio.gather(worker.watcher, return_exceptions=True)

    found, niceness = asyncio.run(scenario())
    assert found == cpu_group_of(os.getpid()), "without a group it stays in the service's"
    assert niceness == min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICENESS)
