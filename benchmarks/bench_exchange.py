"""Assignment exchange: 2,000 students fetch and submit a three-notebook assignment.

Measured in one run, on 127.0.0.1 (``--students``, default 2,000; ``--concurrency``, 50):

1. the classroom service (``python -m hub.service``, its own process, SQLite and the
   content store in a temporary data dir), authenticating every student's token with
   JupyterHub's ``HubAuth`` against a stand-in hub API (its own process) that knows every
   student's token: the teacher releases the assignment (nbgrader ``generate_assignment``
   included) to the class, then every student, 50 at a time, fetches it and submits it;
2. nbgrader's folder exchange (``nbgrader.exchange.default``) doing the same: release
   (``generate_assignment`` and ``release_assignment``) and the fetches and submits,
   50 at a time, into a shared exchange directory;
3. ngshare (:mod:`benchmarks.ngshare_peer`), nbgrader's HTTP exchange service, run as a
   hub service with its own database against the same stand-in hub: the same release,
   fetches and submits (``--no-ngshare`` leaves it out).

Afterwards every submission is checked in the service's database and store: one per
student, byte for byte what was sent; ngshare's submission list is checked for every
student. The service grades the submissions meanwhile (its grading workers, sandboxed,
in their CPU group where the host allows one): the jobs it finished while the class
fetched and submitted, and by the end of the folder run (the service idle) and of
``--grading-window`` seconds more, are printed as grading throughput. Targets: p95 per
operation under 300 ms and at least 2x better than ngshare's, release under 2 s, no lost
or duplicated submission.

The class starts once the service says it is ready (``/services/classroom/ready``: its
grading workers have imported nbgrader and ask the queue), as a center's service, started
at boot, is long before the bell. ``--at-bell`` sends the class as soon as the service
answers at all instead, its workers' start (about 1.3 s of CPU on this 2-core host) then
competing with the first fetches; the time from start to ready is printed either way.

Run: ``.venv/bin/python -m benchmarks exchange`` (``--students 40 --concurrency 10`` to check).
"""
from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import io
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.apps.api import NbGraderAPI
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import (
    ExchangeFetchAssignment,
    ExchangeReleaseAssignment,
    ExchangeSubmit,
)
from sqlalchemy import func, select
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httpserver import HTTPServer
from traitlets.config import Config

from benchmarks import argument_parser
from benchmarks.bench_login_storm import wait_for
from benchmarks.ngshare_peer import NgshareClient, start_ngshare
from grading.autograde.generate import empty_gradebook, generate_student_version
from grading.exchange.models import Submission
from grading.gradebook.models import GradingJob
from hub.db import ServiceDatabase
from hub.org.models import Enrollment, Person, Region, Role, School, SchoolClass

REPO = Path(__file__).resolve().parents[1]
PS1 = REPO / "benchmarks" / "fixtures" / "ps1"
CLASS = "bench-c1"
ASSIGNMENT = "ps1"
CONCURRENCY = 50
TARGET_P95_MS = 300
TARGET_RELEASE_S = 2.0
TARGET_NGSHARE_RATIO = 2.0
SERVICE_SCOPE = "access:services!service=classroom"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def source_assignment(root: Path) -> Path:
    """ps1 with a third notebook: three notebooks and a data file."""
    source = root / "source" / ASSIGNMENT
    shutil.copytree(PS1, source)
    shutil.copy(source / "problem1.ipynb", source / "problem3.ipynb")
    return source


def seed_class(database_url: str, students: int) -> list[str]:
    """One school, one class of ``students`` and its teacher; return the usernames."""
    names = [f"stu-b{index:04d}" for index in range(students)]
    database = ServiceDatabase(database_url)
    with database.session() as session:
        session.add(Region(id="bench", name="基准区"))
        session.add(School(id="bench-s1", region_id="bench", name="基准中学"))
        session.flush()
        session.add(SchoolClass(id=CLASS, school_id="bench-s1", name="高一（1）班",
                                school_year="2026-2027", grade=10))
        session.add(Person(username="tch-bench", display_name="老师", role=Role.TEACHER,
                           school_id="bench-s1"))
        session.flush()
        session.add(Enrollment(class_id=CLASS, username="tch-bench", role=Role.TEACHER))
        for name in names:
            session.add(Person(username=name, display_name="学生", role=Role.STUDENT,
                               school_id="bench-s1"))
        session.flush()
        for name in names:
            session.add(Enrollment(class_id=CLASS, username=name, role=Role.STUDENT))
    database.engine.dispose()
    return names


class StandInUserHandler(web.RequestHandler):
    """``GET /hub/api/user``: the token's owner, as JupyterHub answers HubAuth."""

    def get(self) -> None:
        token = self.request.headers.get("Authorization", "").removeprefix("token ")
        if not token.startswith("tok-"):
            raise web.HTTPError(403)
        name = token.removeprefix("tok-")
        self.finish({"kind": "user", "name": name, "admin": False, "groups": [],
                     "scopes": [SERVICE_SCOPE], "session_id": None})


class StandInUsersHandler(web.RequestHandler):
    """``GET /hub/api/users``: no active servers (the service's activity sampler asks)."""

    def get(self) -> None:
        self.finish({"items": [], "_pagination": {"offset": 0, "limit": 200, "total": 0,
                                                   "next": None}})


def start_stand_in_hub(port: int) -> HTTPServer:
    app = web.Application([(r"/hub/api/user", StandInUserHandler),
                           (r"/hub/api/users", StandInUsersHandler)])
    server = HTTPServer(app)
    server.listen(port, "127.0.0.1")
    return server


def serve_stand_in_hub(port: int) -> None:
    """The stand-in hub in a process of its own, as a real hub is: its token checks must not
    wait behind the benchmark's 50 clients on one event loop."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    start_stand_in_hub(port)
    loop.run_forever()


def start_service(data_dir: Path, port: int, hub_port: int) -> subprocess.Popen:
    env = {**os.environ, "AICLASS_DATA": str(data_dir), "AICLASS_OVERRIDES": "{}",
           "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub_port}/hub/api",
           "JUPYTERHUB_API_TOKEN": "service-token", "JUPYTERHUB_SERVICE_NAME": "classroom",
           "JUPYTERHUB_SERVICE_PREFIX": "/services/classroom/",
           "JUPYTERHUB_CLIENT_ID": "service-classroom", "JUPYTERHUB_HOST": "",
           "JUPYTERHUB_OAUTH_CALLBACK_URL": "/services/classroom/oauth_callback",
           "JUPYTERHUB_OAUTH_ACCESS_SCOPES": json.dumps([SERVICE_SCOPE])}
    log = (data_dir / "service.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "hub.service", "--port", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_for_service(base: str, at_bell: bool) -> float:
    """Seconds until the service answers (``at_bell``) or says it is ready (its grading
    workers started); two minutes at most."""
    started = time.monotonic()
    wait_for(f"{base}/services/classroom/{'api/v1/openapi.yaml' if at_bell else 'ready'}",
             timeout=120, interval=0.1)
    return time.monotonic() - started


def zip_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def answered(files: dict[str, bytes], student: str) -> dict[str, bytes]:
    """The fetched notebooks with the student's own answer written into each."""
    result = dict(files)
    for name, data in files.items():
        if name.endswith(".ipynb"):
            notebook = json.loads(data)
            notebook["cells"].append({"cell_type": "markdown", "metadata": {}, "id": "answer",
                                      "source": f"{student} 的答案"})
            result[name] = json.dumps(notebook).encode()
    return result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def service_run(base: str, students: list[str], source: Path, concurrency: int
                      ) -> tuple[float, dict[str, list[float]], dict[str, dict[str, str]]]:
    """Release, then every student fetches and submits; return timings and what was sent."""
    client = AsyncHTTPClient(max_clients=concurrency)
    api = f"{base}/services/classroom/api/v1"
    started = time.perf_counter()
    response = await client.fetch(HTTPRequest(
        f"{api}/assignments/{ASSIGNMENT}/releases?class={CLASS}", method="POST",
        body=zip_folder(source), headers={"Authorization": "token tok-tch-bench",
                                          "Content-Type": "application/zip"},
        request_timeout=120))
    release_seconds = time.perf_counter() - started
    assert response.code == 201, response.body
    timings: dict[str, list[float]] = {"fetch": [], "submit": []}
    sent: dict[str, dict[str, str]] = {}
    gate = asyncio.Semaphore(concurrency)

    async def student_work(name: str) -> None:
        headers = {"Authorization": f"token tok-{name}"}
        async with gate:
            begin = time.perf_counter()
            fetched = await client.fetch(f"{api}/classes/{CLASS}/assignments/{ASSIGNMENT}"
                                         "/release", headers=headers, request_timeout=120)
            timings["fetch"].append((time.perf_counter() - begin) * 1000)
        with zipfile.ZipFile(io.BytesIO(fetched.body)) as archive:
            files = answered({n: archive.read(n) for n in archive.namelist()}, name)
        body = zip_bytes(files)
        sent[name] = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
        async with gate:
            begin = time.perf_counter()
            submitted = await client.fetch(HTTPRequest(
                f"{api}/classes/{CLASS}/assignments/{ASSIGNMENT}/submissions", method="POST",
                body=body, headers={**headers, "Content-Type": "application/zip",
                                    "Idempotency-Key": f"bench-{name}"},
                request_timeout=120))
            timings["submit"].append((time.perf_counter() - begin) * 1000)
        assert submitted.code == 201, submitted.body

    await asyncio.gather(*(student_work(name) for name in students))
    return release_seconds, timings, sent


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path, data in sorted(files.items()):
            archive.writestr(path, data)
    return buffer.getvalue()


def graded_jobs(database_url: str) -> tuple[int, int]:
    """How many grading jobs the service has finished (graded) so far, of how many."""
    database = ServiceDatabase(database_url)
    with database.session() as session:
        counts = dict(session.execute(select(GradingJob.state, func.count())
                                      .group_by(GradingJob.state)).all())
    database.engine.dispose()
    return counts.get("done", 0), sum(counts.values())


def check_stored(database_url: str, sent: dict[str, dict[str, str]]) -> tuple[int, int, int]:
    """(lost, duplicated, wrong) submissions in the service's database and store."""
    database = ServiceDatabase(database_url)
    with database.session() as session:
        rows = list(session.scalars(select(Submission).where(Submission.class_id == CLASS)))
    database.engine.dispose()
    by_student: dict[str, list[Submission]] = {}
    for row in rows:
        by_student.setdefault(row.username, []).append(row)
    lost = sum(1 for name in sent if name not in by_student)
    duplicated = sum(len(found) - 1 for found in by_student.values())
    wrong = sum(1 for name, found in by_student.items()
                if {e["path"]: e["sha256"] for e in found[0].manifest} != sent.get(name))
    return lost, duplicated, wrong


async def ngshare_run(port: int, students: list[str], source: Path, concurrency: int
                      ) -> tuple[float, dict[str, list[float]], int, float]:
    """ngshare: the course and its roster, the generated release uploaded, then every student
    fetches and submits; return the release's seconds, the timings, the submissions ngshare
    lost and the roster's seconds (ours is imported before the class, so not compared)."""
    peer = NgshareClient(port, concurrency)
    await peer.wait_ready()
    started = time.perf_counter()
    await peer.enrol(CLASS, students)
    roster_seconds = time.perf_counter() - started
    started = time.perf_counter()
    await peer.release(CLASS, ASSIGNMENT, generate_student_version(source, ASSIGNMENT))
    release_seconds = time.perf_counter() - started
    timings: dict[str, list[float]] = {"fetch": [], "submit": []}
    gate = asyncio.Semaphore(concurrency)

    async def student_work(name: str) -> None:
        async with gate:
            begin = time.perf_counter()
            files = await peer.fetch(name, CLASS, ASSIGNMENT)
            timings["fetch"].append((time.perf_counter() - begin) * 1000)
        answer = answered(files, name)
        async with gate:
            begin = time.perf_counter()
            await peer.submit(name, CLASS, ASSIGNMENT, answer)
            timings["submit"].append((time.perf_counter() - begin) * 1000)

    await asyncio.gather(*(student_work(name) for name in students))
    stored = set(await peer.submitted_students(CLASS, ASSIGNMENT))
    return (release_seconds, timings, sum(1 for name in students if name not in stored),
            roster_seconds)


def folder_config(root: Path, exchange: Path) -> Config:
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = CLASS
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    config.Exchange.root = str(exchange)
    config.Exchange.cache = str(root / "cache")
    config.Application.log_level = 40
    return config


def folder_run(work: Path, students: list[str], concurrency: int
               ) -> tuple[float, dict[str, list[float]], int]:
    """nbgrader's folder exchange: release, then fetch and submit for every student."""
    course = work / "course"
    exchange = work / "exchange"
    exchange.mkdir(mode=0o777, parents=True)
    source_assignment(course)
    config = folder_config(course, exchange)
    (course / "gradebook.db").write_bytes(empty_gradebook())  # a course's existing gradebook
    Gradebook(config.CourseDirectory.db_url, CLASS).close()
    started = time.perf_counter()
    result = NbGraderAPI(coursedir=CourseDirectory(config=config),
                         config=config).generate_assignment(ASSIGNMENT, force=True)
    assert result["success"], result
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = ASSIGNMENT
    ExchangeReleaseAssignment(coursedir=coursedir, config=config,
                              authenticator=Authenticator(config=config)).start()
    release_seconds = time.perf_counter() - started
    timings: dict[str, list[float]] = {"fetch": [], "submit": []}

    def student_work(name: str) -> None:
        home = work / "homes" / name
        home.mkdir(parents=True)
        student_config = folder_config(home, exchange)
        student_config.Exchange.assignment_dir = str(home)
        student_coursedir = CourseDirectory(config=student_config)
        student_coursedir.assignment_id = ASSIGNMENT
        student_coursedir.student_id = name
        begin = time.perf_counter()
        ExchangeFetchAssignment(coursedir=student_coursedir, config=student_config,
                                authenticator=Authenticator(config=student_config)).start()
        timings["fetch"].append((time.perf_counter() - begin) * 1000)
        folder = home / ASSIGNMENT
        for path, data in answered({p.name: p.read_bytes() for p in folder.glob("*.ipynb")},
                                   name).items():
            (folder / path).write_bytes(data)
        begin = time.perf_counter()
        ExchangeSubmit(coursedir=student_coursedir, config=student_config,
                       authenticator=Authenticator(config=student_config)).start()
        timings["submit"].append((time.perf_counter() - begin) * 1000)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(student_work, students))
    stored = len(list((exchange / CLASS / "inbound").iterdir()))
    return release_seconds, timings, stored


def ngshare_lines(timings: dict[str, list[float]],
                  ngshare: tuple[float, dict[str, list[float]], int, float]) -> bool:
    """Print ngshare's figures beside ours; answer whether ours are at least 2x better."""
    release_s, theirs, lost, roster_s = ngshare
    print(f"{'operation':<10}{'service p95':>14}{'ngshare p50':>14}{'p95':>10}{'p95 ratio':>12}")
    better = True
    for operation in ("fetch", "submit"):
        p95, peer_p95 = percentile(timings[operation], 0.95), percentile(theirs[operation], 0.95)
        better &= peer_p95 >= TARGET_NGSHARE_RATIO * p95
        print(f"{operation:<10}{p95:>12.1f}ms{statistics.median(theirs[operation]):>12.1f}ms"
              f"{peer_p95:>8.1f}ms{peer_p95 / p95:>11.2f}x (ngshare / service)")
    print(f"ngshare: roster of {len(theirs['fetch'])} students {roster_s:.1f} s (set-up, not "
          f"compared); release (generate + upload) {release_s:.2f} s; lost submissions {lost}; "
          f"target: ngshare's p95 at least {TARGET_NGSHARE_RATIO:.0f}x ours: "
          f"{'met' if better else 'NOT met'}")
    return better


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser(__name__, __doc__)
    parser.add_argument("--students", type=int, default=2000,
                        help="students in the class that fetches and submits")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY,
                        help="students fetching or submitting at the same moment")
    parser.add_argument("--no-ngshare", action="store_true",
                        help="skip the ngshare baseline (pip extra 'bench')")
    parser.add_argument("--at-bell", action="store_true",
                        help="start the class as soon as the service answers, not once it "
                             "says it is ready (its grading workers started)")
    parser.add_argument("--grading-window", type=float, default=0, metavar="SECONDS",
                        help="after the folder run, let the service grade this long more "
                             "before counting the jobs it finished (grading throughput)")
    args = parser.parse_args(argv)
    if not args.no_ngshare and importlib.util.find_spec("ngshare") is None:
        parser.error("ngshare 未安装：pip install -e '.[bench]'，或加 --no-ngshare / ngshare is "
                     "not installed: pip install -e '.[bench]', or pass --no-ngshare")
    work = Path(tempfile.mkdtemp(prefix="aiclass-bench-exchange-"))
    service = stand_in_hub = ngshare = None
    ngshare_result = None
    try:
        data_dir = work / "data"
        data_dir.mkdir()
        database_url = f"sqlite:///{data_dir / 'aiclass.sqlite'}"
        students = seed_class(database_url, args.students)
        source = source_assignment(work / "upload")
        hub_port, service_port = free_port(), free_port()
        stand_in_hub = multiprocessing.Process(target=serve_stand_in_hub, args=(hub_port,),
                                               daemon=True)
        stand_in_hub.start()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        service = start_service(data_dir, service_port, hub_port)
        base = f"http://127.0.0.1:{service_port}"
        ready_s = wait_for_service(base, args.at_bell)
        class_started = time.perf_counter()
        release_s, timings, sent = loop.run_until_complete(
            service_run(base, students, source, args.concurrency))
        graded = [(time.perf_counter() - class_started, graded_jobs(database_url))]
        lost, duplicated, wrong = check_stored(database_url, sent)
        folder_release_s, folder_timings, folder_stored = folder_run(
            work / "folder", students, args.concurrency)
        time.sleep(args.grading_window)
        graded.append((time.perf_counter() - class_started, graded_jobs(database_url)))
        if not args.no_ngshare:
            ngshare_port = free_port()
            ngshare = start_ngshare(work / "ngshare", ngshare_port, hub_port)
            ngshare_result = loop.run_until_complete(
                ngshare_run(ngshare_port, students, source, args.concurrency))
    except Exception:
        log = work / "data" / "service.log"
        if log.exists():
            print(log.read_text(encoding="utf-8", errors="replace")[-4000:], file=sys.stderr)
        raise
    finally:
        for process in (service, ngshare):
            if process is not None:
                process.terminate()
                process.wait(30)
        if stand_in_hub is not None:
            stand_in_hub.terminate()
        shutil.rmtree(work, ignore_errors=True)

    n = args.students
    print(f"\nExchange, {n} students, {args.concurrency} at a time, 3 notebooks (127.0.0.1)")
    print(f"service {'answering' if args.at_bell else 'ready'} {ready_s:.1f} s after its start; "
          f"the class {'at once (--at-bell)' if args.at_bell else 'then'}")
    print(f"{'operation':<10}{'service p50':>14}{'p95':>10}{'folder p50':>14}{'p95':>10}"
          f"{'p95 ratio':>12}")
    ok = True
    for operation in ("fetch", "submit"):
        ours, theirs = timings[operation], folder_timings[operation]
        p95, folder_p95 = percentile(ours, 0.95), percentile(theirs, 0.95)
        ok &= p95 < TARGET_P95_MS
        print(f"{operation:<10}{statistics.median(ours):>12.1f}ms{p95:>8.1f}ms"
              f"{statistics.median(theirs):>12.1f}ms{folder_p95:>8.1f}ms"
              f"{p95 / folder_p95:>11.2f}x")
    print(f"release to {n}: service {release_s:.2f} s (generate_assignment included), folder "
          f"{folder_release_s:.2f} s, ratio {release_s / folder_release_s:.2f}x")
    print(f"service: {n - lost} of {n} stored; lost {lost}, duplicated {duplicated}, "
          f"wrong content {wrong}; folder exchange stored {folder_stored}")
    ok &= release_s < TARGET_RELEASE_S and lost == duplicated == wrong == 0
    (class_s, (class_graded, _)), (idle_s, (idle_graded, jobs)) = graded
    print(f"grading meanwhile: {class_graded} of {jobs} jobs done while the class fetched and "
          f"submitted ({class_s:.1f} s), {idle_graded} by the end of the folder run and "
          f"{args.grading_window:.0f} s more ({idle_s:.1f} s): "
          f"{(idle_graded - class_graded) / (idle_s - class_s):.2f} jobs/s with the service idle")
    if ngshare_result is not None:
        ok &= ngshare_lines(timings, ngshare_result)
    print(f"targets (p95 < {TARGET_P95_MS} ms, release < {TARGET_RELEASE_S} s, none lost or "
          f"duplicated): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1
