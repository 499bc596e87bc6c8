"""Regional load: ten classes at the same bell, then a soak of steady lab activity.

Measured in one run, on loopback, against a real ``aiclass up`` (its hub, proxy, classroom
service and servers) and then a stock JupyterHub with a plain local process spawner:

1. ``--students`` students of 10 classes (a roster imported and mirrored before the bell)
   sign in through the login form, arriving over ``--arrival-seconds``;
2. the first ``--servers`` of them start their servers, open the lab, list and fetch the
   assignment, save it into the server, run a cell through the kernel's websocket and
   submit; the others do what a lab does through the hub's and the classroom service's APIs
   with a token of their own (assignment list, fetch, submit); each class's teacher releases
   the assignment first, then grades and opens the gradebook;
3. a ramp: more and more students poll the hub and the service at once, until the p95 of a
   request passes 1 s (where it bends);
4. ``--soak-minutes`` of steady activity at a lab's pace (the lab's kernel and session
   polls every 10 s, a save every 30 s, a cell and the assignment list every minute).

Every minute and at the end: errors, p50/p95/p99 of sign-in, spawn-to-ready, hub API,
proxy (requests to the servers), kernel (a cell's round trip) and service requests; the
hub's, proxy's and service's memory (RSS from ``/proc``) at start and end and their CPU
seconds; the memory of one idle server and so how many this machine holds. The stock run
(sign-in storm, spawns, lab, a cell, the hub API; no classroom service) gives the ratios.

All clients are asyncio (aiohttp) speaking the lab's HTTP and websocket protocol: cookies,
``X-XSRFToken``, the kernel's JSON websocket messages; no internal shortcut is taken once
the bell rings. The issue's figures are ``--students 300 --servers 100 --soak-minutes 30``.
``--mode docker`` does the same with a container per server (stock: DockerSpawner).

Run: ``.venv/bin/python -m benchmarks regional_load --students 20 --servers 4
--soak-minutes 1`` (a check; the defaults are the issue's full figures).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import aiohttp
from yarl import URL

from benchmarks import argument_parser
from benchmarks.bench_exchange import answered, source_assignment, zip_bytes, zip_folder
from benchmarks.bench_login_storm import (
    STOCK_CONFIG,
    cleanup,
    free_port,
    idle_memory_mib,
    wait_for,
)
from benchmarks.bench_roster import NAMES
from grading.sandbox.proc_stat import proc_stat
from hub.commands.up import find_proxy
from hub.db import ServiceDatabase
from hub.images import image_reference
from hub.org.credentials import set_initial_password
from hub.org.grants import REGION_OPERATOR
from hub.org.mirror import mirror_from_settings
from hub.org.roster import apply_roster, read_tables
from hub.settings import HubSettings, load_settings
from hub.spawners.student_network import temporary_student_network
from tests.docker.docker_classroom import running_docker_hub
from tests.hub.hubprocess import start_hub, stop_process_group, world_traversable_dir

CLASSES = 10
ASSIGNMENT = "ps1"
CATEGORIES = ("sign-in", "spawn", "hub-api", "proxy", "kernel", "service")
BEND_SECONDS = 1.0
LAB_POLL_SECONDS = 10.0
ROSTER_HEADER = "学校代码,学校名称,城乡,学段,班级代码,班级名称,学年,年级,用户名,姓名,角色"
SERVICE_API = "services/classroom/api/v1"


class RequestFailed(Exception):
    """A request answered with an unexpected status, or not at all (already recorded)."""


@dataclass
class Recorder:
    """Every request's duration by category, and the errors, with the time they ended."""

    samples: list[tuple[float, str, float]] = field(default_factory=list)
    errors: list[tuple[float, str, str]] = field(default_factory=list)

    def add(self, category: str, seconds: float) -> None:
        self.samples.append((time.monotonic(), category, seconds))

    def fail(self, category: str, what: str) -> None:
        self.errors.append((time.monotonic(), category, what))

    def window(self, since: float) -> tuple[dict[str, list[float]], list[str]]:
        by_category: dict[str, list[float]] = {c: [] for c in CATEGORIES}
        for ended, category, seconds in self.samples:
            if ended >= since:
                by_category[category].append(seconds)
        return by_category, [f"{c}: {w}" for ended, c, w in self.errors if ended >= since]


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary_lines(label: str, recorder: Recorder, since: float = 0.0) -> list[str]:
    """One line per category: count, p50/p95/p99 in ms; then the errors."""
    by_category, errors = recorder.window(since)
    lines = [f"[{label}] errors {len(errors)}"]
    for category, values in by_category.items():
        if values:
            lines.append(f"  {category:<8} n={len(values):>6}"
                         f"  p50 {percentile(values, .5) * 1e3:8.1f} ms"
                         f"  p95 {percentile(values, .95) * 1e3:8.1f} ms"
                         f"  p99 {percentile(values, .99) * 1e3:8.1f} ms")
    lines += [f"  error {e}" for e in errors[:5]]
    return lines


class KernelConnection:
    """A lab's connection to its kernel: the websocket is read all the time, as the lab's
    kernel connection does, so the server's pings are answered (aiohttp answers them only
    while something reads) and the socket stays open between cells; replies queue for
    :meth:`Person.request`."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.messages: asyncio.Queue[dict | None] = asyncio.Queue()
        self.reader = asyncio.ensure_future(self.read())

    async def read(self) -> None:
        async for message in self.socket:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.messages.put_nowait(json.loads(message.data))
        self.messages.put_nowait(None)  # closed: a waiting request fails at once

    async def close(self) -> None:
        await self.socket.close()
        await self.reader


@dataclass
class Person:
    """One browser: a cookie jar on the hub, and an API token once signed in."""

    base: str
    name: str
    password: str
    recorder: Recorder
    session: aiohttp.ClientSession = field(init=False)
    token: str = ""
    class_id: str = ""

    def __post_init__(self) -> None:
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            connector=aiohttp.TCPConnector(limit=6),
            timeout=aiohttp.ClientTimeout(total=600))

    def xsrf(self, path: str) -> str:
        cookies = self.session.cookie_jar.filter_cookies(URL(f"{self.base}{path}"))
        return cookies["_xsrf"].value if "_xsrf" in cookies else ""

    async def call(self, category: str, method: str, path: str, *, ok: Sequence[int] = (200,),
                   token: bool = False, xsrf_path: str = "", record: bool = True,
                   **options: object) -> bytes:
        """One timed request; a wrong status or a failure is recorded and raised."""
        headers = dict(options.pop("headers", {}))  # type: ignore[call-overload]
        if token:
            headers["Authorization"] = f"token {self.token}"
        if xsrf_path:
            headers["X-XSRFToken"] = self.xsrf(xsrf_path)
        began = time.perf_counter()
        try:
            async with self.session.request(method, f"{self.base}{path}", headers=headers,
                                            **options) as response:  # type: ignore[arg-type]
                body = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.recorder.fail(category, f"{method} {path}: {exc!r}")
            raise RequestFailed(path) from exc
        if status not in ok:
            self.recorder.fail(category, f"{method} {path}: HTTP {status} {body[:120]!r}")
            raise RequestFailed(path)
        if record:
            self.recorder.add(category, time.perf_counter() - began)
        return body

    async def sign_in(self) -> None:
        """The login form, first sign-in included (a roster password asks for a new one)."""
        began = time.perf_counter()
        try:
            async with self.session.get(f"{self.base}hub/login") as response:
                await response.read()
            form = {"username": self.name, "password": self.password,
                    "new_password": f"{self.password}-new",
                    "new_password_confirm": f"{self.password}-new",
                    "_xsrf": self.xsrf("hub/")}
            async with self.session.post(f"{self.base}hub/login", data=form,
                                         allow_redirects=False) as response:
                await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.recorder.fail("sign-in", f"{self.name}: {exc!r}")
            raise RequestFailed("login") from exc
        if status != 302:
            self.recorder.fail("sign-in", f"{self.name}: HTTP {status}")
            raise RequestFailed("login")
        self.recorder.add("sign-in", time.perf_counter() - began)
        body = await self.call("hub-api", "POST", f"hub/api/users/{self.name}/tokens",
                               ok=(200, 201), xsrf_path="hub/", json={"note": "lab"})
        self.token = json.loads(body)["token"]

    async def start_server(self) -> None:
        """Start request to a lab page that loads (OAuth redirects followed)."""
        began = time.perf_counter()
        deadline = time.monotonic() + 900
        while (retry := await self.ask_to_start()) is not None:  # the hub is at its spawn limit
            await asyncio.sleep(retry)  # a student waits as asked, then clicks again
        while time.monotonic() < deadline:
            try:
                async with self.session.get(f"{self.base}user/{self.name}/lab") as response:
                    text = await response.text()
                    if (response.status == 200 and "/user/" in str(response.url)
                            and "JupyterLab" in text):
                        self.recorder.add("spawn", time.perf_counter() - began)
                        return
                    if response.status == 500 and "spawn-pending" in str(response.url):
                        self.recorder.fail("spawn", f"{self.name}: the start failed "
                                                    f"({text[-200:]!r})")
                        raise RequestFailed("spawn")
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.5)
        self.recorder.fail("spawn", f"{self.name}: no lab in 900 s")
        raise RequestFailed("spawn")

    async def ask_to_start(self) -> float | None:
        """The start request: ``None`` once accepted, or the seconds the hub asks to wait
        when as many servers as ``concurrent_spawn_limit`` are starting (HTTP 429)."""
        path = f"hub/api/users/{self.name}/server"
        async with self.session.post(f"{self.base}{path}", json={},
                                     headers={"X-XSRFToken": self.xsrf("hub/")}) as response:
            body = await response.read()
            if response.status == 429:
                return float(response.headers.get("Retry-After", "5"))
            if response.status not in (201, 202):
                self.recorder.fail("spawn", f"POST {path}: HTTP {response.status} {body[:120]!r}")
                raise RequestFailed(path)
        return None

    async def server(self, method: str, path: str, **options: object) -> bytes:
        return await self.call("proxy", method, f"user/{self.name}/api/{path}",
                               xsrf_path=f"user/{self.name}/", **options)

    async def open_kernel(self) -> KernelConnection:
        """A new kernel and its channels' websocket, asked for its info first as the lab
        does (the kernel's output channel is connected once that has been answered)."""
        kernel = json.loads(await self.server("POST", "kernels", ok=(201,),
                                              json={"name": "python3"}))
        url = f"{self.base}user/{self.name}/api/kernels/{kernel['id']}/channels"
        try:
            socket = await self.session.ws_connect(url.replace("http", "ws", 1))
        except aiohttp.ClientError as exc:
            self.recorder.fail("kernel", f"{self.name}: {exc!r}")
            raise RequestFailed("kernel") from exc
        connection = KernelConnection(socket)
        await self.request(connection, "kernel_info_request", {})
        return connection

    async def request(self, connection: KernelConnection, msg_type: str,
                      content: dict) -> tuple[dict, str]:
        """A shell request; wait for its reply and for the kernel to go idle after it (the
        lab's "done"); return the reply's content and the text of its result, if any."""
        msg_id = uuid.uuid4().hex
        message = {"header": {"msg_id": msg_id, "username": self.name, "session": self.name,
                              "msg_type": msg_type, "version": "5.3"},
                   "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                   "content": content}
        reply, idle, result = None, False, ""
        try:
            await connection.socket.send_str(json.dumps(message))
            while reply is None or not idle:
                answer = await asyncio.wait_for(connection.messages.get(), 300)
                if answer is None:
                    raise aiohttp.ClientConnectionError(
                        f"websocket closed ({connection.socket.close_code})")
                if answer.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if answer["msg_type"] == "execute_result":
                    result = answer["content"]["data"]["text/plain"]
                elif answer["msg_type"] == "status":
                    idle = answer["content"]["execution_state"] == "idle"
                elif answer["msg_type"].endswith("_reply"):
                    reply = answer["content"]
        except (TimeoutError, aiohttp.ClientError, TypeError, ValueError) as exc:
            self.recorder.fail("kernel", f"{self.name}: {msg_type}: {exc!r}")
            raise RequestFailed("kernel") from exc
        if reply.get("status") != "ok":
            self.recorder.fail("kernel", f"{self.name}: {msg_type}: {reply}")
            raise RequestFailed("kernel")
        return reply, result

    async def run_cell(self, connection: KernelConnection, code: str) -> str:
        """An ``execute_request`` timed from sending to idle; its result's text."""
        began = time.perf_counter()
        _reply, result = await self.request(connection, "execute_request", {
            "code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True})
        self.recorder.add("kernel", time.perf_counter() - began)
        return result

    async def assignments(self) -> list[dict]:
        body = await self.call("service", "GET", f"{SERVICE_API}/assignments", token=True)
        return json.loads(body)["assignments"]

    async def fetch(self) -> dict[str, bytes]:
        body = await self.call("service", "GET", f"{SERVICE_API}/classes/{self.class_id}"
                               f"/assignments/{ASSIGNMENT}/release", token=True)
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return {n: archive.read(n) for n in archive.namelist()}

    async def submit(self, files: dict[str, bytes]) -> None:
        await self.call("service", "POST", f"{SERVICE_API}/classes/{self.class_id}/assignments"
                        f"/{ASSIGNMENT}/submissions", ok=(201,), token=True,
                        data=zip_bytes(answered(files, self.name)),
                        headers={"Content-Type": "application/zip",
                                 "Idempotency-Key": f"bench-{self.name}"})

    async def close(self) -> None:
        await self.session.close()


def roster(path: Path, students: int) -> list[tuple[str, str, str]]:
    """10 classes of one school; return (username, role, class) of everyone."""
    lines, people = [ROSTER_HEADER], []
    prefix = "r21,区域负载中学,城市,高中"
    for number in range(CLASSES):
        class_id = f"r21-2026-g10c{number}"
        klass = f"{prefix},{class_id},高一（{number}）班,2026-2027,10"
        lines.append(f"{klass},t-r21-{number},{NAMES[number]}老师,教师")
        people.append((f"t-r21-{number}", "teacher", class_id))
        for seat in range(number, students, CLASSES):
            lines.append(f"{klass},s-r21-{seat:04d},{NAMES[seat % len(NAMES)]}同学,学生")
            people.append((f"s-r21-{seat:04d}", "student", class_id))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return people


def seed_roster(data_dir: Path, work: Path, students: int) -> dict[str, tuple[str, str, str]]:
    """Import and mirror the ten classes before the bell; username -> (password, role, class)."""
    settings = load_settings(data_dir)
    people = roster(work / "roster.csv", students)
    database = ServiceDatabase(settings.database_url)
    with database.session() as session:
        apply_roster(session, read_tables([work / "roster.csv"]), settings.org.region_id,
                     settings.org.region_name, grantor=REGION_OPERATOR)
        passwords = {name: set_initial_password(session, name) for name, _, _ in people}
    database.engine.dispose()
    mirror_from_settings(settings)
    return {name: (passwords[name], role, klass) for name, role, klass in people}


# --- processes: memory and CPU of the hub, the proxy, the service and the servers ---------

def process_table() -> dict[int, tuple[int, str, int, float]]:
    """pid -> (parent, command line, RSS bytes, CPU seconds) of every process now."""
    table, tick, page = {}, os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = proc_stat(entry.name)
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        table[int(entry.name)] = (int(stat[1]), command, int(stat[21]) * page,
                                  (int(stat[11]) + int(stat[12])) / tick)
    return table


def role_of(command: str) -> str:
    """The part a process plays, from its command line (the hub's names the proxy's command:
    it is matched first)."""
    if "hub.service" in command:
        return "service"
    if "ipykernel" in command:
        return "kernel"
    if "singleuser" in command or "jupyter-lab" in command:
        return "server"
    if "-m jupyterhub " in command or "aiclass up" in command:
        return "hub"
    return "proxy" if "configurable-http-proxy" in command else "other"


def descendants(root: int, table: dict[int, tuple[int, str, int, float]]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, *_rest) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack += children.get(pid, [])
    return found


def usage(root: int) -> dict[str, tuple[int, float, int]]:
    """role -> (RSS bytes, CPU seconds, processes) over ``root`` and its descendants."""
    table = process_table()
    totals: dict[str, tuple[int, float, int]] = {}
    for pid in descendants(root, table):
        if pid in table:
            _parent, command, rss, cpu = table[pid]
            role = role_of(command)
            rss0, cpu0, count = totals.get(role, (0, 0.0, 0))
            totals[role] = (rss0 + rss, cpu0 + cpu, count + 1)
    return totals


def idle_server_mib(root: int) -> float:
    """Median RSS of one server with what it runs (its box and its lab; its kernels left out,
    so the figure is a server at rest)."""
    table = process_table()
    tree = [pid for pid in descendants(root, table) if pid in table]
    servers = [pid for pid in tree if role_of(table[pid][1]) == "server"
               and role_of(table.get(table[pid][0], (0, ""))[1]) != "server"]
    sizes = [sum(table[p][2] for p in descendants(pid, table)
                 if p in table and role_of(table[p][1]) != "kernel") for pid in servers]
    return percentile(sizes, 0.5) / 2**20 if sizes else float("nan")


def available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def usage_lines(label: str, before: dict, after: dict) -> list[str]:
    lines = [f"[{label}] memory and CPU per role (start -> end)"]
    for role in ("hub", "proxy", "service"):
        if role in after:
            rss0 = before.get(role, (0, 0.0, 0))[0] / 2**20
            rss1, cpu1, _ = after[role]
            growth = (rss1 / 2**20 / rss0 - 1) * 100 if rss0 else float("nan")
            lines.append(f"  {role:<8} RSS {rss0:7.1f} -> {rss1 / 2**20:7.1f} MiB "
                         f"({growth:+.0f} %, target < +20 %)  CPU "
                         f"{cpu1 - before.get(role, (0, 0.0, 0))[1]:7.1f} s")
    for role in ("server", "kernel"):
        if role in after:
            rss, cpu, count = after[role]
            lines.append(f"  {role:<8} {count} processes, RSS {rss / 2**20:7.1f} MiB, "
                         f"CPU {cpu:7.1f} s")
    return lines


# --- the load ------------------------------------------------------------------------------

@dataclass
class Load:
    """The storm, the ramp and the soak against one running hub."""

    base: str
    recorder: Recorder
    students: list[Person]
    teachers: list[Person]
    servers: int
    release_zip: bytes | None
    sockets: dict[str, KernelConnection] = field(default_factory=dict)
    files: dict[str, dict[str, bytes]] = field(default_factory=dict)

    @property
    def with_service(self) -> bool:
        return self.release_zip is not None

    async def storm(self, arrival_seconds: float) -> None:
        """Everyone signs in over the window; teachers release; then the lab's first minutes."""
        everyone = self.teachers + self.students

        async def arrive(index: int, person: Person) -> None:
            await asyncio.sleep(index * arrival_seconds / len(everyone))
            await person.sign_in()

        await self.each([lambda i=i, p=p: arrive(i, p) for i, p in enumerate(everyone)])
        if self.with_service:
            await self.each([self.release(t) for t in self.teachers])
        await self.each([self.lab_student(s) if index < self.servers else self.api_student(s)
                         for index, s in enumerate(self.students)])
        if self.with_service:
            await self.each([self.grade(t) for t in self.teachers])

    async def each(self, work: list) -> None:
        """Run the coroutines (or factories of them) at once; a failure ends only its own."""
        async def guarded(job: object) -> None:
            try:
                await (job() if callable(job) else job)  # type: ignore[operator]
            except RequestFailed:
                pass

        await asyncio.gather(*(guarded(job) for job in work))

    async def release(self, teacher: Person) -> None:
        await teacher.call("service", "POST", f"{SERVICE_API}/assignments/{ASSIGNMENT}/releases"
                           f"?class={teacher.class_id}", ok=(201,), token=True,
                           data=self.release_zip, headers={"Content-Type": "application/zip"})

    async def lab_student(self, student: Person) -> None:
        await student.start_server()
        await student.server("GET", "kernelspecs")
        files: dict[str, bytes] = {}
        if self.with_service:
            await student.assignments()
            files = await student.fetch()
            await student.server("PUT", f"contents/{ASSIGNMENT}", ok=(200, 201),
                                 json={"type": "directory"})
            for name, data in files.items():
                if name.endswith(".ipynb"):
                    await student.server("PUT", f"contents/{ASSIGNMENT}/{name}", ok=(200, 201),
                                         json={"type": "notebook", "format": "json",
                                               "content": json.loads(data)})
        kernel = await student.open_kernel()
        self.sockets[student.name] = kernel
        result = await student.run_cell(kernel, "1 + 1")
        if result != "2":
            student.recorder.fail("kernel", f"{student.name}: 1 + 1 gave {result!r}")
        if self.with_service:
            await student.submit(files)
            self.files[student.name] = files

    async def api_student(self, student: Person) -> None:
        await student.call("hub-api", "GET", "hub/api/user", token=True)
        if self.with_service:
            await student.assignments()
            files = await student.fetch()
            await student.submit(files)
            self.files[student.name] = files

    async def grade(self, teacher: Person) -> None:
        """The class's collection, a few submissions' grades, a comment, the gradebook page."""
        path = f"{SERVICE_API}/classes/{teacher.class_id}/assignments/{ASSIGNMENT}"
        collection = json.loads(await teacher.call("service", "GET", f"{path}/collection",
                                                   token=True))
        done = [s["submission"]["id"] for s in collection["students"] if s["submission"]]
        for submission in done[:3]:
            grades = json.loads(await teacher.call(
                "service", "GET", f"{SERVICE_API}/submissions/{submission}/grades", token=True))
            if grades["cells"]:
                cell = grades["cells"][0]
                await teacher.call("service", "PUT", f"{SERVICE_API}/submissions/{submission}"
                                   f"/grades/{cell['notebook']}/{cell['grade_id']}", token=True,
                                   json={"comment": "看过了 / seen", "reason": "基准 / bench"})
        await teacher.call("service", "GET",
                           f"services/classroom/classes/{teacher.class_id}/gradebook", token=True)

    async def ramp(self, seconds: float) -> int | None:
        """More students at once each level; the first level whose p95 passes 1 s."""
        levels = sorted({n for n in (5, 10, 20, 40, 80, 160, 320, 640) if n < len(self.students)}
                        | {len(self.students)})
        for level in levels:
            began = time.monotonic()
            await self.each([self.hammer(s, began + seconds) for s in self.students[:level]])
            by_category, errors = self.recorder.window(began)
            worst = max(((percentile(v, .95), c) for c, v in by_category.items() if v),
                        default=(0.0, "-"))
            print(f"  ramp {level:>4} at once: worst p95 {worst[0] * 1e3:8.1f} ms ({worst[1]}), "
                  f"{sum(len(v) for v in by_category.values())} requests, {len(errors)} errors",
                  flush=True)
            if worst[0] > BEND_SECONDS:
                return level
        return None

    async def hammer(self, student: Person, until: float) -> None:
        """As fast as one client goes: the hub API, the assignment list, the lab's poll."""
        has_server = student.name in self.sockets
        while time.monotonic() < until:
            await student.call("hub-api", "GET", "hub/api/user", token=True)
            if self.with_service:
                await student.assignments()
            if has_server:
                await student.server("GET", "kernels")

    async def soak(self, minutes: float) -> None:
        """Each student at a lab's pace until the end."""
        until = time.monotonic() + minutes * 60
        await self.each([self.steady(s, until) for s in self.students])

    async def steady(self, student: Person, until: float) -> None:
        await asyncio.sleep(random.uniform(0, LAB_POLL_SECONDS))
        tick = 0
        kernel = self.sockets.get(student.name)
        while time.monotonic() < until:
            began = time.monotonic()
            try:
                if kernel is not None:
                    await student.server("GET", "kernels")
                    await student.server("GET", "sessions")
                    if tick % 3 == 0 and student.name in self.files:
                        name, data = next((n, d) for n, d in self.files[student.name].items()
                                          if n.endswith(".ipynb"))
                        await student.server("PUT", f"contents/{ASSIGNMENT}/{name}",
                                             ok=(200, 201), json={"type": "notebook",
                                                                  "format": "json",
                                                                  "content": json.loads(data)})
                    if tick % 6 == 0:
                        await student.run_cell(kernel, f"sum(range({tick}))")
                if tick % 6 == 0:
                    await student.call("hub-api", "GET", "hub/api/user", token=True)
                    if self.with_service:
                        await student.assignments()
            except RequestFailed:
                pass
            tick += 1
            await asyncio.sleep(max(0.0, LAB_POLL_SECONDS - (time.monotonic() - began)))

    async def report_every_minute(self, label: str, root: int) -> None:
        """The last minute's figures and the RSS now, every minute of the run (cancelled at
        its end)."""
        minute = 0
        while True:
            began = time.monotonic()
            await asyncio.sleep(60.0)
            minute += 1
            lines = summary_lines(f"{label} minute {minute}", self.recorder, began)
            now = usage(root)
            lines.append("  RSS " + ", ".join(f"{r} {now[r][0] / 2**20:.0f} MiB"
                                              for r in ("hub", "proxy", "service") if r in now))
            print("\n".join(lines), flush=True)

    async def close(self) -> None:
        for connection in self.sockets.values():
            await connection.close()
        for person in self.students + self.teachers:
            await person.close()


@dataclass
class Result:
    """What one run (ours or stock) measured."""

    recorder: Recorder
    before: dict
    after: dict
    idle_server_mib: float
    bend: int | None
    lost: int


async def drive(base: str, root: int, people: dict[str, tuple[str, str, str]],
                args: argparse.Namespace, label: str, release_zip: bytes | None,
                idle_memory: Callable[[], float]) -> Result:
    """The storm, ramp and soak against the hub at ``base`` whose process tree is ``root``;
    ``idle_memory`` measures one idle server (a box in local mode, a container in docker)."""
    recorder = Recorder()
    persons = {name: Person(base, name, password, recorder, class_id=klass)
               for name, (password, _role, klass) in people.items()}
    load = Load(base, recorder,
                [persons[n] for n, (_, role, _) in people.items() if role == "student"],
                [persons[n] for n, (_, role, _) in people.items() if role == "teacher"],
                args.servers, release_zip)
    before = usage(root)
    reporter = asyncio.ensure_future(load.report_every_minute(label, root))
    try:
        started = time.monotonic()
        await load.storm(args.arrival_seconds)
        print("\n".join(summary_lines(f"{label} storm", recorder, started)), flush=True)
        idle = await asyncio.to_thread(idle_memory)
        print(f"  ramp (p95 above {BEND_SECONDS:.0f} s bends):", flush=True)
        bend = await load.ramp(args.ramp_seconds)
        await load.soak(args.soak_minutes)
        lost = 0
        if release_zip is not None:
            for student in load.students:
                if student.name in load.files:
                    history = json.loads(await student.call(
                        "service", "GET", f"{SERVICE_API}/classes/{student.class_id}"
                        f"/assignments/{ASSIGNMENT}/submissions", token=True))
                    lost += not history["submissions"]
        after = usage(root)
    finally:
        reporter.cancel()
        await load.close()
    return Result(recorder, before, after, idle, bend, lost)


def run_ours(args: argparse.Namespace, work: Path) -> Result:
    """``aiclass up`` with the ten classes imported before the bell."""
    if args.mode == "docker":
        return run_ours_docker(args, work)
    # start_hub writes the [hub] table's ports first: the spawn limit's line joins that table.
    settings = (f"concurrent_spawn_limit = {args.spawn_limit}\n"
                "[demo]\nstudents = 1\n[org]\nmirror_interval_minutes = 1440\n")
    hub = start_hub(work / "data", settings, timeout=600)
    try:
        people = seed_roster(hub.data_dir, work, args.students)
        release_zip = zip_folder(source_assignment(work / "upload"))
        return asyncio.run(drive(f"{hub.url}/", hub.process.pid, people, args, "aiclass",
                                 release_zip, lambda: idle_server_mib(hub.process.pid)))
    finally:
        stop_process_group(hub)


def run_ours_docker(args: argparse.Namespace, work: Path) -> Result:
    """Docker mode: a container per server, the hub on a students' network's gateway."""
    run_id = f"i21-{uuid.uuid4().hex[:6]}"
    (work / "data").mkdir()
    with temporary_student_network(f"aiclass-test-{run_id}-network") as network, \
            running_docker_hub(work / "data", run_id, network, students=1,
                               hub_settings=f"concurrent_spawn_limit = {args.spawn_limit}\n",
                               more_settings="[org]\nmirror_interval_minutes = 1440\n") as hub:
        people = seed_roster(hub.data_dir, work, args.students)
        release_zip = zip_folder(source_assignment(work / "upload"))
        return asyncio.run(drive(hub.url, hub.process.pid, people, args, "aiclass",
                                 release_zip,
                                 lambda: idle_memory_mib(f"aiclass-test-{run_id}-")))


STOCK_LOCAL_CONFIG = """
c.JupyterHub.bind_url = "http://127.0.0.1:{port}/"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_port}"
c.ConfigurableHTTPProxy.command = ["{proxy}"]
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "bench"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{homes}/{{username}}"
c.Spawner.cmd = ["{singleuser}"]
c.Spawner.args = ["--allow-root"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 900
c.Spawner.http_timeout = 900
c.JupyterHub.concurrent_spawn_limit = {limit}
c.JupyterHub.cleanup_servers = True
"""


def run_stock(args: argparse.Namespace, work: Path, mode: str) -> Result:
    """Stock JupyterHub, the same load less the classroom service (it has none)."""
    port = free_port()
    volumes = f"bench-i21-{uuid.uuid4().hex[:6]}-"
    if mode == "docker":
        config = STOCK_CONFIG.format(port=port, hub_port=free_port(), proxy_port=free_port(),
                                     image=image_reference("student"), volumes=volumes,
                                     proxy=find_proxy())
        # The same spawn limit and start timeout as ours (aiclass's [hub] start_timeout).
        timeout = HubSettings.start_timeout
        config += (f"c.JupyterHub.concurrent_spawn_limit = {args.spawn_limit}\n"
                   f"c.Spawner.start_timeout = {timeout}\nc.Spawner.http_timeout = {timeout}\n")
    else:
        config = STOCK_LOCAL_CONFIG.format(port=port, hub_port=free_port(),
                                           proxy_port=free_port(), proxy=find_proxy(),
                                           homes=work / "homes",
                                           singleuser=Path(sys.executable).parent
                                           / "jupyterhub-singleuser",
                                           limit=args.spawn_limit)
    (work / "jupyterhub_config.py").write_text(config)
    url = f"http://127.0.0.1:{port}/"
    with (work / "stock.log").open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f",
                                    str(work / "jupyterhub_config.py")], cwd=work, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(f"{url}hub/api/")
            people = {f"s-r21-{i:04d}": ("bench", "student", "") for i in range(args.students)}
            idle = (partial(idle_memory_mib, volumes) if mode == "docker"
                    else partial(idle_server_mib, process.pid))
            result = asyncio.run(drive(url, process.pid, people, args, "stock", None, idle))
            if result.recorder.errors:
                print((work / "stock.log").read_text(errors="replace")[-3000:], file=sys.stderr)
            return result
        finally:
            process.terminate()
            process.wait(120)
            if mode == "docker":
                cleanup(volumes)


def ratio_lines(ours: Recorder, stock: Recorder) -> list[str]:
    lines = ["ratios, stock p95 / aiclass p95 (above 1: aiclass is faster)"]
    for category in CATEGORIES:
        mine = [s for _, c, s in ours.samples if c == category]
        theirs = [s for _, c, s in stock.samples if c == category]
        if mine and theirs:
            a, b = percentile(mine, .95), percentile(theirs, .95)
            lines.append(f"  {category:<8} aiclass {a * 1e3:8.1f} ms  stock {b * 1e3:8.1f} ms"
                         f"  ratio {b / a:5.2f}x")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser(__name__, __doc__)
    parser.add_argument("--students", type=int, default=300, help="students of the 10 classes")
    parser.add_argument("--servers", type=int, default=100,
                        help="students who start a server (the rest use the APIs)")
    parser.add_argument("--arrival-seconds", type=float, default=60.0,
                        help="the window over which everyone signs in")
    parser.add_argument("--ramp-seconds", type=float, default=15.0,
                        help="seconds at each level of the ramp")
    parser.add_argument("--soak-minutes", type=float, default=30.0,
                        help="minutes of steady activity after the storm")
    parser.add_argument("--stock-soak-minutes", type=float, default=None,
                        help="the stock run's soak (default: --soak-minutes): a shorter one "
                             "keeps the comparison within a session when ours soaks 30 min")
    parser.add_argument("--spawn-limit", type=int, default=100,
                        help="concurrent_spawn_limit of both hubs (JupyterHub's and aiclass's "
                             "default, 100): students over it are asked to retry (HTTP 429) "
                             "and do; in local mode 100 starts at once on 2 cores take "
                             "longer each than the 120 s start timeout")
    parser.add_argument("--mode", choices=("local", "docker"), default="local")
    parser.add_argument("--no-stock", action="store_true", help="skip the stock comparison")
    args = parser.parse_args(argv)
    if args.servers > args.students:
        parser.error("--servers 不能多于 --students / --servers cannot exceed --students")
    # Stopped early (kill, a CI timeout), the hubs and their hundred servers go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped (SIGTERM)"))
    work = world_traversable_dir("aiclass-bench-i21-")
    try:
        (work / "ours").mkdir()
        (work / "stock").mkdir()
        ours = run_ours(args, work / "ours")
        stock_args = argparse.Namespace(**{**vars(args), "soak_minutes": (
            args.soak_minutes if args.stock_soak_minutes is None else args.stock_soak_minutes)})
        stock = None if args.no_stock else run_stock(stock_args, work / "stock", args.mode)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nRegional load, {args.mode} mode: {args.students} students of {CLASSES} classes "
          f"signing in over {args.arrival_seconds:.0f} s, {args.servers} servers, soak "
          f"{args.soak_minutes:g} min; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    print("\n".join(summary_lines("aiclass, whole run", ours.recorder)))
    print("\n".join(usage_lines("aiclass", ours.before, ours.after)))
    holds = available_mib() / ours.idle_server_mib
    print(f"idle server: {ours.idle_server_mib:.0f} MiB -> this machine holds about "
          f"{holds:.0f} more (MemAvailable now / idle server)")
    print(f"bends at: {ours.bend or 'not within'} students at once (p95 > {BEND_SECONDS:.0f} s)")
    print(f"submissions lost: {ours.lost} (target 0)")
    if stock is not None:
        print("\n".join(summary_lines("stock JupyterHub, whole run", stock.recorder)))
        print("\n".join(usage_lines("stock", stock.before, stock.after)))
        print(f"stock soak: {stock_args.soak_minutes:g} min; stock idle server: "
              f"{stock.idle_server_mib:.0f} MiB; bends at: "
              f"{stock.bend or 'not within'} students at once")
        print("\n".join(ratio_lines(ours.recorder, stock.recorder)))
    return 0 if not ours.recorder.errors and ours.lost == 0 else 1
