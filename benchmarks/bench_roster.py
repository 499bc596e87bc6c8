"""Roster import at region scale: 100 schools x 5 classes x 40 students, mirrored into a hub.

Targets: import and mirror under 2 minutes; re-importing the unchanged file under 20 s.
Baseline, in the same run and against the same hub: what the plain REST API costs when
each student is created and put in their class group one request at a time (the way a
script without the mirror would do it), measured on a sample and scaled to the region.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import requests

from benchmarks import argument_parser
from grading.sandbox.proc_stat import proc_stat
from hub.db import ServiceDatabase
from hub.hub_api import HubAPI, hub_api_url
from hub.org.grants import REGION_OPERATOR
from hub.org.mirror import MirrorReport, mirror_from_settings, mirror_token
from hub.org.roster import ImportReport, apply_roster, read_tables
from hub.settings import Settings, load_settings
from tests.hub.hubprocess import start_hub, stop_process_group, world_traversable_dir

SCHOOLS, CLASSES, STUDENTS = 100, 5, 40
BASELINE_SAMPLE = 400
HEADER = "学校代码,学校名称,城乡,学段,班级代码,班级名称,学年,年级,用户名,姓名,角色"
NAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"


def region_csv(path: Path, schools: int) -> int:
    """Write the generated region's roster; return the number of students."""
    lines = [HEADER]
    for school in range(schools):
        school_id = f"b{school:03d}"
        prefix = f"{school_id},基准第{school}学校,{'城市' if school % 3 else '农村'},高中"
        lines.append(f"{prefix},,,,,adm-{school_id},{NAMES[school % 30]}校长,学校管理员")
        for number in range(CLASSES):
            class_id = f"{school_id}-2026-g10c{number}"
            klass = f"{prefix},{class_id},高一（{number}）班,2026-2027,10"
            lines.append(f"{klass},t-{school_id}-{number},{NAMES[number]}老师,教师")
            for seat in range(STUDENTS):
                username = f"s-{school_id}-{number}-{seat:02d}"
                lines.append(f"{klass},{username},{NAMES[(seat + number) % 30]}同学,学生")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return schools * CLASSES * STUDENTS


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used: what the hub's work costs, whatever
    else the machine is busy with."""
    fields = proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def import_and_mirror(settings: Settings, csv_path: Path) -> tuple[ImportReport, MirrorReport,
                                                                   dict[str, float]]:
    timings = {}
    started = time.perf_counter()
    tables = read_tables([csv_path])
    timings["read"] = time.perf_counter() - started
    database = ServiceDatabase(settings.database_url)
    started = time.perf_counter()
    with database.session() as session:
        report = apply_roster(session, tables, settings.org.region_id, settings.org.region_name,
                              grantor=REGION_OPERATOR)
    database.engine.dispose()
    timings["validate+apply"] = time.perf_counter() - started
    started = time.perf_counter()
    mirrored = mirror_from_settings(settings)
    timings["mirror"] = time.perf_counter() - started
    return report, mirrored, timings


def one_by_one_seconds_per_student(settings: Settings, sample: int) -> float:
    """Plain REST API: one request to create each student, one to add them to a group."""
    api = HubAPI(hub_api_url(settings), mirror_token(settings.data_dir))
    api.call("POST", "groups/baseline-class", {"users": []}, ok=(201, 409))
    session = requests.Session()
    session.headers["Authorization"] = f"token {mirror_token(settings.data_dir)}"
    url = hub_api_url(settings)
    started = time.perf_counter()
    for index in range(sample):
        name = f"baseline-{index:05d}"
        assert session.post(f"{url}/users/{name}", timeout=60).status_code == 201
        assert session.post(f"{url}/groups/baseline-class/users", json={"users": [name]},
                            timeout=60).status_code == 200
    return (time.perf_counter() - started) / sample


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser(__name__, __doc__)
    parser.add_argument("--schools", type=int, default=SCHOOLS,
                        help="schools in the generated region (5 classes of 40 each)")
    schools = parser.parse_args(argv).schools
    base = world_traversable_dir("aiclass-bench-roster-")
    hub = start_hub(base / "data", "[org]\nmirror_interval_minutes = 1440\n", timeout=600)
    try:
        settings = load_settings(hub.data_dir)
        csv_path = base / "region.csv"
        students = region_csv(csv_path, schools)
        people = students + schools * (CLASSES + 1)
        print(f"region: {schools} schools x {CLASSES} classes x {STUDENTS} students = "
              f"{students} students, {people} people, {csv_path.stat().st_size / 1e6:.1f} MB CSV")

        per_student = one_by_one_seconds_per_student(settings, BASELINE_SAMPLE)
        baseline = per_student * people
        print(f"baseline, plain REST one by one: {per_student * 1000:.1f} ms per person "
              f"(sample of {BASELINE_SAMPLE}) -> {baseline:.0f} s for the region (scaled)")

        started, hub_cpu = time.perf_counter(), cpu_seconds(hub.process.pid)
        own_cpu = time.process_time()
        report, mirrored, timings = import_and_mirror(settings, csv_path)
        first = time.perf_counter() - started
        hub_cpu = cpu_seconds(hub.process.pid) - hub_cpu
        own_cpu = time.process_time() - own_cpu
        assert report.people_created == people, report.summary()
        print(f"import + mirror: {first:.1f} s (target < 120 s) "
              f"[{', '.join(f'{k} {v:.1f} s' for k, v in timings.items())}]")
        print(f"  {report.summary()}")
        print(f"  {mirrored.summary()}")
        print(f"  ratio baseline / aiclass: {baseline / first:.1f}x")
        print(f"  CPU: hub {hub_cpu:.1f} s ({hub_cpu / people * 1000:.1f} ms per person), "
              f"import + mirror client {own_cpu:.1f} s; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        started = time.perf_counter()
        again, unchanged, timings = import_and_mirror(settings, csv_path)
        second = time.perf_counter() - started
        assert not again.changed and not unchanged.changed, unchanged.summary()
        print(f"re-import unchanged: {second:.1f} s (target < 20 s) "
              f"[{', '.join(f'{k} {v:.1f} s' for k, v in timings.items())}]; "
              f"{unchanged.requests} hub requests")
        print(f"  ratio first import / re-import: {first / second:.1f}x")
        verdict = first < 120 and second < 20
        print(f"targets {'met' if verdict else 'NOT met'}")
        return 0 if verdict else 1
    finally:
        stop_process_group(hub)
        shutil.rmtree(base, ignore_errors=True)
