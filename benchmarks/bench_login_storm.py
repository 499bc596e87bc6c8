"""Login storm: a class of 40 starts its servers at 8:00.

Measured in one run, on this machine (127.0.0.1, and for aiclass the gateway of a students'
network of the benchmark's own), with the same student image:

1. stock JupyterHub + DockerSpawner (only the host-network port handling DockerSpawner's own
   documentation prescribes), every student signs in and starts a server at once: time from the
   start request to a lab that answers;
2. aiclass in docker mode, the same storm;
3. aiclass with **prepare class** (the teacher starts the class's servers before the lesson):
   time from sign-in to a lab that answers, all students at the same instant, and arriving
   over half a minute as a class walks in (sign-in verifies an Argon2id hash, ~0.1 s of CPU
   each, so 40 in the same instant queue on 2 cores);
4. memory of an idle student container (``docker stats``), stock and ours;
5. the storm's CPU floor (:mod:`benchmarks.start_cpu`): the CPU seconds of one server start on
   an otherwise idle hub, over every process that works for it, times the students, over the
   cores; and the hub's CPU seconds per sign-in-to-lab of a prepared class, stock and ours
   (CPU, not wall time: robust on a busy machine).

Run: ``.venv/bin/python -m benchmarks login_storm [--students 40]`` (the Docker engine
must be running and ``aiclass images build --only student`` done, or it builds the image).
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import requests

from benchmarks import argument_parser
from benchmarks.start_cpu import (
    StartCost,
    measure_sign_ins,
    measure_start,
    only_container_of,
    proxy_of,
    storm_floor,
)
from hub.commands.up import find_proxy
from hub.images import image_reference
from hub.service.prepare import prepare_class
from hub.spawners.student_network import StudentNetwork, temporary_student_network

REPO = Path(__file__).resolve().parents[1]
#: Students entering a classroom sign in over about half a minute, not in the same millisecond.
ARRIVAL_WINDOW = 30.0
ANCHOR = "anchor (stock, 20 at once, this kind of machine): p50 29.6 s, p95 33.4 s, 122 MiB idle"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True).stdout.strip()


def wait_for(url: str, timeout: float = 120.0, interval: float = 0.5) -> None:
    """Poll ``url`` every ``interval`` seconds until it answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(interval)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@dataclass
class Browser:
    """One student's browser: a cookie session on the hub."""

    hub: str
    name: str
    session: requests.Session
    landing: str = ""
    """Where the hub sent the browser after signing in (its ``Location``)."""

    @classmethod
    def sign_in(cls, hub: str, name: str, password: str) -> Browser:
        session = requests.Session()
        session.get(f"{hub}hub/login", timeout=60)
        response = session.post(
            f"{hub}hub/login",
            data={
                "username": name,
                "password": password,
                # the roster login asks for a new password at the first sign-in
                "new_password": f"{password}-new",
                "new_password_confirm": f"{password}-new",
                "_xsrf": session.cookies.get("_xsrf"),
            },
            allow_redirects=False,
            timeout=120,
        )
        if response.status_code != 302:
            raise RuntimeError(f"sign-in of {name} failed: HTTP {response.status_code}")
        return cls(hub, name, session, response.headers.get("Location", ""))

    def api(self, method: str, path: str, **kwargs: object) -> requests.Response:
        xsrf = self.session.cookies.get("_xsrf", path="/hub/") or ""
        return self.session.request(
            method,
            f"{self.hub}hub/api{path}",
            headers={"X-XSRFToken": xsrf},
            timeout=300,
            **kwargs,  # type: ignore[arg-type]
        )

    def lab_ready(self, timeout: float = 600.0, first: str = "") -> None:
        """Poll until the student's lab page loads (through the hub's OAuth redirects),
        trying ``first`` (a path on the hub) first."""
        deadline = time.monotonic() + timeout
        url = urljoin(self.hub, first) if first else ""
        while time.monotonic() < deadline:
            response = self.session.get(url or f"{self.hub}user/{self.name}/lab", timeout=300)
            url = ""
            if response.status_code == 200 and "/user/" in response.url:
                if "JupyterLab" in response.text:
                    return
            time.sleep(0.25)
        raise RuntimeError(f"{self.name}'s lab was not ready in {timeout:.0f} s")

    def start_and_wait(self) -> float:
        """Seconds from the start request to a ready lab."""
        began = time.perf_counter()
        response = self.api("POST", f"/users/{self.name}/server", json={})
        if response.status_code not in (201, 202):
            raise RuntimeError(f"start for {self.name}: HTTP {response.status_code}")
        self.lab_ready()
        return time.perf_counter() - began

    def stop(self) -> None:
        self.api("DELETE", f"/users/{self.name}/server")


def at_once(work: Sequence[Callable[[], float]]) -> list[float]:
    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        return list(pool.map(lambda job: job(), work))


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def idle_memory_mib(volume_prefix: str) -> float:
    """Median memory of the running containers whose home volume has ``volume_prefix``."""
    time.sleep(15)
    names = []
    for volume in docker("volume", "ls", "-q", "--filter", f"name={volume_prefix}").split():
        names += docker("ps", "-q", "--filter", f"volume={volume}").split()
    if not names:
        return float("nan")
    out = docker("stats", "--no-stream", "--format", "{{.MemUsage}}", *names)
    values = []
    for line in out.splitlines():
        used = line.split("/")[0].strip()
        number, unit = float(used[:-3]), used[-3:]
        values.append(number * {"KiB": 1 / 1024, "MiB": 1.0, "GiB": 1024.0}[unit])
    return statistics.median(values)


def cleanup(volume_prefix: str) -> None:
    for volume in docker("volume", "ls", "-q", "--filter", f"name={volume_prefix}").split():
        for container in docker("ps", "-aq", "--filter", f"volume={volume}").split():
            docker("rm", "-f", container)
        docker("volume", "rm", "-f", volume)


@contextmanager
def running(argv: list[str], cwd: Path, url: str, log: Path) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        try:
            wait_for(f"{url}hub/api/")
            yield process
        finally:
            process.terminate()
            process.wait(120)


STOCK_CONFIG = """
from dockerspawner import DockerSpawner
from jupyterhub.utils import random_port


class HostNetworkDockerSpawner(DockerSpawner):
    # DockerSpawner's documented override for network_mode=host
    async def get_ip_and_port(self):
        return self.host_ip, self.port


def pick_port(spawner):
    spawner.port = random_port()


c.JupyterHub.spawner_class = HostNetworkDockerSpawner
c.JupyterHub.bind_url = "http://127.0.0.1:{port}/"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_port}"
c.ConfigurableHTTPProxy.command = ["{proxy}"]
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "bench"
c.Authenticator.allow_all = True
c.DockerSpawner.image = "{image}"
c.DockerSpawner.network_name = "host"
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.remove = True
c.DockerSpawner.volumes = {{"{volumes}{{username}}": "/home/jovyan"}}
c.DockerSpawner.name_template = "{volumes}{{username}}"
c.Spawner.ip = "127.0.0.1"
c.Spawner.pre_spawn_hook = pick_port
c.Spawner.start_timeout = 600
c.Spawner.http_timeout = 600
"""


@dataclass
class StockRun:
    """What the stock hub's run measured."""

    times: list[float]
    memory: float
    start_cost: StartCost | None = None
    """CPU of one start, measured when the run starts a single server."""
    sign_in_cpu: StartCost | None = None
    """CPU per sign-in-to-lab of a running server (a class of many at once)."""


def sign_in_to_lab(hub: str, name: str, password: str) -> float:
    """Seconds from a new browser's sign-in to its running server's lab, following the
    hub's redirect after the sign-in as a browser does."""
    began = time.perf_counter()
    browser = Browser.sign_in(hub, name, password)
    browser.lab_ready(timeout=600, first=browser.landing)
    return time.perf_counter() - began


def sign_ins_at_once(hub: str, people: Sequence[tuple[str, str]]) -> list[float]:
    """Everyone of ``people`` (name, password) signs in to their running server at once."""
    return at_once([lambda p=p: sign_in_to_lab(hub, *p) for p in people])


def started_container(browser: Browser, volume_prefix: str) -> str:
    """Start ``browser``'s server, the only one of the run, and return its container."""
    browser.start_and_wait()
    return only_container_of(volume_prefix)


def stock_storm(work: Path, image: str, students: int) -> StockRun:
    port, volumes = free_port(), f"bench-stock-{uuid.uuid4().hex[:6]}-"
    (work / "jupyterhub_config.py").write_text(
        STOCK_CONFIG.format(
            port=port,
            hub_port=free_port(),
            proxy_port=free_port(),
            image=image,
            volumes=volumes,
            proxy=find_proxy(),
        )
    )
    url = f"http://127.0.0.1:{port}/"
    argv = [sys.executable, "-m", "jupyterhub", "-f", str(work / "jupyterhub_config.py")]
    try:
        with running(argv, work, url, work / "stock.log") as hub:
            browsers = [Browser.sign_in(url, f"stu{i:02d}", "bench") for i in range(students)]
            run = StockRun([], float("nan"))
            if students == 1:
                (browser,) = browsers
                began = time.perf_counter()
                run.start_cost = measure_start(
                    lambda: started_container(browser, volumes), hub.pid, proxy_of(hub.pid))
                run.times = [time.perf_counter() - began]
            else:
                run.times = at_once([b.start_and_wait for b in browsers])
                run.memory = idle_memory_mib(volumes)
                _, run.sign_in_cpu = measure_sign_ins(
                    lambda: sign_ins_at_once(url, [(b.name, "bench") for b in browsers]),
                    students, hub.pid, proxy_of(hub.pid), volumes)
            at_once([lambda b=b: b.stop() or 0.0 for b in browsers])
    finally:
        cleanup(volumes)
    return run


@dataclass
class OurRun:
    """What aiclass's run measured."""

    cold: list[float]
    memory: float
    start_cost: StartCost
    prepared: list[float] = field(default_factory=list)
    sign_in_cpu: StartCost | None = None
    """CPU per sign-in-to-lab of the prepared class at once."""
    summary: dict = field(default_factory=dict)


def aiclass_storms(work: Path, students: int) -> OurRun:
    port, volumes = free_port(), f"bench-ours-{uuid.uuid4().hex[:6]}-"
    with temporary_student_network(f"{volumes}network") as network:
        return _aiclass_storms(work, students, port, volumes, network)


def _aiclass_storms(
    work: Path, students: int, port: int, volumes: str, network: StudentNetwork
) -> OurRun:
    (work / "aiclass.toml").write_text(
        textwrap.dedent(
            f"""
            [hub]
            mode = "docker"
            ip = "{network.gateway}"
            port = {port}
            hub_port = {free_port()}
            proxy_api_port = {free_port()}
            start_timeout = 600

            [demo]
            students = {students * 3}

            [docker]
            home_volume = "{volumes}{{username}}"
            container_prefix = "{volumes}container"
            cull_idle_minutes = 0
            network = "{network.name}"
            """
        )
    )
    url = f"http://{network.gateway}:{port}/"
    argv = [sys.executable, "-m", "hub.cli", "up", "--data", str(work)]
    try:
        with running(argv, REPO, url, work / "aiclass.log") as hub:
            with (work / "demo-accounts.csv").open(encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            klass = next(r["class"] for r in rows if r["role"] == "student")
            pupils = [r for r in rows if r["role"] == "student" and r["class"] == klass]
            teacher = next(r for r in rows if r["role"] == "teacher" and klass in r["class"])
            alone = next(r for r in rows if r["role"] == "student" and r["class"] != klass)
            single = Browser.sign_in(url, alone["username"], alone["password"])
            start_cost = measure_start(
                lambda: started_container(single, volumes), hub.pid, proxy_of(hub.pid))
            single.stop()
            browsers = [Browser.sign_in(url, r["username"], r["password"]) for r in pupils]
            cold = at_once([b.start_and_wait for b in browsers])
            report("aiclass docker mode, no preparation", cold)
            memory = idle_memory_mib(volumes)
            at_once([lambda b=b: b.stop() or 0.0 for b in browsers])
            time.sleep(5)

            lead = Browser.sign_in(url, teacher["username"], teacher["password"])
            token = lead.api("POST", f"/users/{lead.name}/tokens", json={"note": "prepare"})
            began = time.perf_counter()
            states = prepare_class(
                f"{url}hub/api", token.json()["token"], [r["username"] for r in pupils]
            )
            prepare_seconds = time.perf_counter() - began

            print(f"prepare class: {states}", flush=True)
            people = [(r["username"], f"{r['password']}-new") for r in pupils]
            prepared, sign_in_cpu = measure_sign_ins(
                lambda: sign_ins_at_once(url, people), len(people), hub.pid, proxy_of(hub.pid),
                volumes)
            report("aiclass, prepare class: sign-in -> lab, at once", prepared)

            def arrive(index: int, person: tuple[str, str]) -> float:
                time.sleep(index * ARRIVAL_WINDOW / len(people))
                return sign_in_to_lab(url, *person)

            walking_in = at_once([lambda i=i, p=p: arrive(i, p) for i, p in enumerate(people)])
            summary = {
                "prepare_seconds": prepare_seconds,
                "states": states,
                "walking_in": walking_in,
            }
            at_once([lambda b=b: b.stop() or 0.0 for b in browsers])
    finally:
        cleanup(volumes)
    return OurRun(cold, memory, start_cost, prepared, sign_in_cpu, summary)


def report(label: str, times: Sequence[float]) -> tuple[float, float]:
    p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
    print(
        f"{label:<44} n={len(times):>3}  p50 {p50:6.2f} s  p95 {p95:6.2f} s  "
        f"max {max(times):6.2f} s",
        flush=True,
    )
    return p50, p95


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser(__name__, __doc__)
    parser.add_argument("--students", type=int, default=40,
                        help="students of the class that signs in at once")
    args = parser.parse_args(argv)
    image = image_reference("student")
    if not docker("image", "ls", "-q", image):
        subprocess.run(
            [sys.executable, "-m", "hub.cli", "images", "build", "--only", "student"],
            cwd=REPO,
            check=True,
        )
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="aiclass-storm-"))
    try:
        (work / "stock").mkdir()
        (work / "ours").mkdir()
        single = stock_storm(work / "stock", image, 1)
        stock_run = stock_storm(work / "stock", image, args.students)
        stock, stock_memory = stock_run.times, stock_run.memory
        report("stock JupyterHub + DockerSpawner", stock)
        print(f"stock idle container memory {stock_memory:.0f} MiB", flush=True)
        ours = aiclass_storms(work / "ours", args.students)
        cold, our_memory, prepared, summary = ours.cold, ours.memory, ours.prepared, ours.summary
    finally:
        shutil.rmtree(work, ignore_errors=True)

    n = args.students
    print(f"\nLogin storm, {n} students of one class at once ({image}); {ANCHOR}")
    print(f"machine load (1-minute average, {os.cpu_count()} cores): {load_before:.1f} at the "
          f"start, {os.getloadavg()[0]:.1f} at the end")
    print(f"stock: one spawn alone                       {single.times[0]:.2f} s")
    _, stock_p95 = report("stock JupyterHub + DockerSpawner", stock)
    _, cold_p95 = report("aiclass docker mode, no preparation", cold)
    _, prepared_p95 = report("aiclass, prepare class: sign-in -> lab, at once", prepared)
    _, warm_p95 = report(
        f"aiclass, prepare class: arrivals over {ARRIVAL_WINDOW:.0f} s", summary["walking_in"]
    )
    ready = sum(1 for s in summary["states"].values() if s == "ready")
    print(f"prepare class: {ready}/{n} ready in {summary['prepare_seconds']:.1f} s")
    print(f"idle container memory: stock {stock_memory:.0f} MiB, aiclass {our_memory:.0f} MiB")
    floor = storm_floor(ours.start_cost, n)
    print(f"one server start, idle hub: aiclass {ours.start_cost.describe()}")
    if single.start_cost is not None:
        print(f"one server start, idle hub: stock   {single.start_cost.describe()}")
    print(f"CPU floor of the storm: {n} x {ours.start_cost.total:.2f} CPU s / "
          f"{os.cpu_count()} cores = {floor:.1f} s")
    for label, cost in (("aiclass", ours.sign_in_cpu), ("stock  ", stock_run.sign_in_cpu)):
        if cost is not None:
            print(f"one sign-in -> lab of a running server, {label}: {cost.describe()}")
    if ours.sign_in_cpu is not None:
        print(f"CPU floor of the prepared class at once: {n} x {ours.sign_in_cpu.total:.3f} "
              f"CPU s / {os.cpu_count()} cores = {storm_floor(ours.sign_in_cpu, n):.2f} s")
    print(
        f"ratios: stock p95 / aiclass p95 = {stock_p95 / cold_p95:.2f}x (target >= 4x); "
        f"aiclass p95 / floor = {cold_p95 / floor:.2f} (target <= 1.5); "
        f"prepared p95 at once {prepared_p95:.2f} s, arriving {warm_p95:.2f} s "
        f"(target < 1 s); idle memory {our_memory:.0f} MiB (target < 120 MiB)"
    )
    return 0
