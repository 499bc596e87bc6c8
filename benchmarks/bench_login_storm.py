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
4. memory of an idle student container (``docker stats``), stock and ours.

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
from dataclasses import dataclass
from pathlib import Path

import requests

from benchmarks import argument_parser
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


def wait_for(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@dataclass
class Browser:
    """One student's browser: a cookie session on the hub."""

    hub: str
    name: str
    session: requests.Session

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
        return cls(hub, name, session)

    def api(self, method: str, path: str, **kwargs: object) -> requests.Response:
        xsrf = self.session.cookies.get("_xsrf", path="/hub/") or ""
        return self.session.request(
            method,
            f"{self.hub}hub/api{path}",
            headers={"X-XSRFToken": xsrf},
            timeout=300,
            **kwargs,  # type: ignore[arg-type]
        )

    def lab_ready(self, timeout: float = 600.0) -> None:
        """Poll until the student's lab page loads (through the hub's OAuth redirects)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.session.get(f"{self.hub}user/{self.name}/lab", timeout=300)
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
def running(argv: list[str], cwd: Path, url: str, log: Path) -> Iterator[None]:
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
            yield
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


def stock_storm(work: Path, image: str, students: int) -> tuple[list[float], float]:
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
        with running(argv, work, url, work / "stock.log"):
            browsers = [Browser.sign_in(url, f"stu{i:02d}", "bench") for i in range(students)]
            times = at_once([b.start_and_wait for b in browsers])
            memory = idle_memory_mib(volumes)
            at_once([lambda b=b: b.stop() or 0.0 for b in browsers])
    finally:
        cleanup(volumes)
    return times, memory


def aiclass_storms(work: Path, students: int) -> tuple[list[float], float, list[float], dict]:
    port, volumes = free_port(), f"bench-ours-{uuid.uuid4().hex[:6]}-"
    with temporary_student_network(f"{volumes}network") as network:
        return _aiclass_storms(work, students, port, volumes, network)


def _aiclass_storms(
    work: Path, students: int, port: int, volumes: str, network: StudentNetwork
) -> tuple[list[float], float, list[float], dict]:
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
        with running(argv, REPO, url, work / "aiclass.log"):
            with (work / "demo-accounts.csv").open(encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            klass = next(r["class"] for r in rows if r["role"] == "student")
            pupils = [r for r in rows if r["role"] == "student" and r["class"] == klass]
            teacher = next(r for r in rows if r["role"] == "teacher" and klass in r["class"])
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

            def sign_in_to_lab(row: dict) -> float:
                began = time.perf_counter()
                again = f"{row['password']}-new"
                Browser.sign_in(url, row["username"], again).lab_ready(timeout=600)
                return time.perf_counter() - began

            print(f"prepare class: {states}", flush=True)
            prepared = at_once([lambda r=r: sign_in_to_lab(r) for r in pupils])
            report("aiclass, prepare class: sign-in -> lab, at once", prepared)

            def arrive(index: int, row: dict) -> float:
                time.sleep(index * ARRIVAL_WINDOW / len(pupils))
                return sign_in_to_lab(row)

            walking_in = at_once([lambda i=i, r=r: arrive(i, r) for i, r in enumerate(pupils)])
            summary = {
                "prepare_seconds": prepare_seconds,
                "states": states,
                "walking_in": walking_in,
            }
            at_once([lambda b=b: b.stop() or 0.0 for b in browsers])
    finally:
        cleanup(volumes)
    return cold, memory, prepared, summary


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
    work = Path(tempfile.mkdtemp(prefix="aiclass-storm-"))
    try:
        (work / "stock").mkdir()
        (work / "ours").mkdir()
        single_stock, _ = stock_storm(work / "stock", image, 1)
        stock, stock_memory = stock_storm(work / "stock", image, args.students)
        report("stock JupyterHub + DockerSpawner", stock)
        print(f"stock idle container memory {stock_memory:.0f} MiB", flush=True)
        cold, our_memory, prepared, summary = aiclass_storms(work / "ours", args.students)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    n = args.students
    print(f"\nLogin storm, {n} students of one class at once ({image}); {ANCHOR}")
    print(f"stock: one spawn alone                       {single_stock[0]:.2f} s")
    _, stock_p95 = report("stock JupyterHub + DockerSpawner", stock)
    _, cold_p95 = report("aiclass docker mode, no preparation", cold)
    report("aiclass, prepare class: sign-in -> lab, at once", prepared)
    _, warm_p95 = report(
        f"aiclass, prepare class: arrivals over {ARRIVAL_WINDOW:.0f} s", summary["walking_in"]
    )
    ready = sum(1 for s in summary["states"].values() if s == "ready")
    print(f"prepare class: {ready}/{n} ready in {summary['prepare_seconds']:.1f} s")
    print(f"idle container memory: stock {stock_memory:.0f} MiB, aiclass {our_memory:.0f} MiB")
    print(
        f"ratios: stock p95 / aiclass p95 = {stock_p95 / cold_p95:.2f}x (target >= 2x); "
        f"prepared p95 {warm_p95:.2f} s (target < 1 s); "
        f"idle memory {our_memory:.0f} MiB (target < 120 MiB)"
    )
    return 0
