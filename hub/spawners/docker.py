"""Docker mode: one container per student, their home on a named volume, GPUs shared fairly.

:class:`ClassroomDockerSpawner` is DockerSpawner with the classroom's rules: every server runs
one of the profiles the center allows (CPU, and GPU for the groups the settings name) with that
profile's memory, CPU and process limits; containers drop every capability, cannot gain new
privileges and run as the image's unprivileged user; only the configured images may run; the
student's home lives on a named volume so their work survives the container being removed and
the image being upgraded. Teachers' servers start with the teacher's Jupyter profile that the
image carries (formgrader and course tools), students' with the image's own. Every container
has a network namespace of its own on the students' network (:mod:`hub.spawners.student_network`),
fenced in so that it reaches the hub and the classroom service through the proxy's port (behind
``[tls]``, at their own ports on the network's gateway) and nothing else; ``user_options``
may name a profile the person is allowed, and nothing more.
:func:`configure_docker_mode` turns the settings into that configuration, with idle culling and
a spawn limit.
"""

from __future__ import annotations

import asyncio
import html
import os
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import docker.types
from dockerspawner import DockerSpawner
from tornado import web
from traitlets import Bool, Dict, Float, Integer, List, Unicode, default
from traitlets.config import Config

from hub.images import image_reference
from hub.lab_config import (
    DEFERRED_NBGRADER_EXTENSION,
    ENGLISH_LAB_IN_IMAGE,
    LEAN_SERVER_COMMAND,
    NBGRADER_STUDENT_SERVER_EXTENSIONS,
    NOTEBOOK_SHIM_EXTENSION,
    TEACHER_PROFILE_IN_IMAGE,
    person_profile,
)
from hub.service.registration import EXCHANGE_URL_ENV
from hub.settings import Settings
from hub.spawners.gpu import DEVICE_LABEL, GpuAssignment, GpuPool, NoGpuAvailable
from hub.spawners.profiles import CPU, GPU, ProfileChoice
from hub.spawners.student_network import StudentNetwork, StudentNetworkError

OWNER_LABEL = "org.aiclass.owner"
PROFILE_LABEL = "org.aiclass.profile"
LAB_PROFILE_LABEL = "org.aiclass.lab-profile"


class ClassroomDockerSpawner(ProfileChoice, DockerSpawner):
    """DockerSpawner with classroom profiles, hardening, per-student volumes and GPU slots."""

    profiles = Dict(
        help="""Server profiles by key (``cpu``, ``gpu``): ``display`` (the Chinese label on the
        spawn page), ``image``, ``mem_limit``, ``cpu_limit`` and ``pids_limit``.""",
    ).tag(config=True)

    gpu_groups = List(
        Unicode(), help="JupyterHub groups whose members may choose the GPU profile."
    ).tag(config=True)

    home_volume = Unicode(
        "aiclass-home-{username}",
        help="Named volume for each student's home; {username} is the escaped user name.",
    ).tag(config=True)

    home_dir = Unicode("/home/jovyan", help="The image user's home directory.").tag(config=True)

    course_data = Unicode(
        "", help="Host path or volume with course data, mounted read-only at /srv/course."
    ).tag(config=True)

    database_url = Unicode(
        "", help="SQLAlchemy URL of the service database, where each person's role is read."
    ).tag(config=True)

    lab_config_paths = Dict(
        value_trait=Unicode(),
        default_value={"teacher": TEACHER_PROFILE_IN_IMAGE},
        help="""``JUPYTER_CONFIG_PATH`` inside the container by Jupyter profile (``student``,
        ``teacher``). A profile not listed runs on the image's own configuration, which is the
        student's.""",
    ).tag(config=True)

    lab_locale = Unicode("zh_CN", help="The settings' ``[locale] default``.").tag(config=True)

    locale_config_paths = Dict(
        value_trait=Unicode(),
        default_value={"en": ENGLISH_LAB_IN_IMAGE},
        help="""Configuration directory inside the container, first on ``JUPYTER_CONFIG_PATH``,
        by :attr:`lab_locale`. A locale not listed runs on the image's own, Chinese, lab.""",
    ).tag(config=True)

    docker_threads = Integer(
        8,
        help="""Docker API calls in flight at once. DockerSpawner makes every call through one
        thread, so when a class of 40 starts together each container waits for all the creates
        and starts before it; the engine handles several at a time.""",
    ).tag(config=True)

    ready_poll_interval = Float(
        0.05,
        help="""Seconds between checks that a new server answers. The hub's own check backs
        off up to 5 s between tries; answering the moment the server is up saves that wait.""",
    ).tag(config=True)

    disabled_server_extensions = List(
        Unicode(),
        ["jupyter_lsp", "notebook"],
        help="""Server extensions the image has but students' servers do not load: the language
        server bridge and the classic-notebook UI cost about a tenth of a server's start-up
        CPU, and the lab is the only interface students use.""",
    ).tag(config=True)

    concurrent_boots = Integer(
        help="""Containers booting at once (from create until the server answers); the rest
        wait their turn. Python servers starting together thrash the cores: forty at once on
        two cores each took over twice the CPU one takes alone, so all finished late
        together; a few at a time finish in turn, the first within seconds and the last
        sooner. Default: twice the host's cores.""",
    ).tag(config=True)

    @default("concurrent_boots")
    def _default_concurrent_boots(self) -> int:
        return 2 * (os.cpu_count() or 1)

    defer_nbgrader = Bool(
        True,
        help="""Students' servers load nbgrader's Assignments extensions at their first request
        (``aiclass_deferred_nbgrader``) instead of at start-up, where importing nbgrader is
        0.4 s of the 0.9 s of CPU a server's start takes: a class starting together shares
        the cores. Teachers' servers load nbgrader's formgrader anyway, so theirs stay.""",
    ).tag(config=True)

    lean_student_server = Bool(
        True,
        help="""Students' servers start as ``python -m aiclass_lean_singleuser`` (the image's
        ``jupyterhub-singleuser`` with the hub's ORM, handlers and Alembic left unloaded) and
        without the ``notebook_shim`` extension (it imports IPython for a classic-notebook
        path): an idle student's container holds about 68 MiB instead of 90, so more of a
        class fits in a machine's memory. Teachers' servers run the plain command.""",
    ).tag(config=True)

    proxy_port = Integer(
        8000,
        help="""The proxy's public port: on the students' network the one port of the host a
        container may reach, for the hub's API and the classroom service alike.""",
    ).tag(config=True)

    hub_api_port = Integer(
        0,
        help="""With TLS at the proxy (``[tls]``): the hub's API port, bound on the students'
        network's gateway, where containers reach the hub directly. Through the proxy they
        would have to trust its certificate, which names the hub's public name and not the
        gateway. 0: containers reach the hub and the service through :attr:`proxy_port`.""",
    ).tag(config=True)

    service_port = Integer(
        0,
        help="""With :attr:`hub_api_port`: the classroom service's port on the gateway.""",
    ).tag(config=True)

    secure_cookies = Bool(
        False,
        help="""The proxy speaks TLS: the server's own cookies (its ``_xsrf``) are ``Secure``
        too. The server sees the proxy's plain HTTP and would not mark them itself.""",
    ).tag(config=True)

    fence_network = Bool(
        True,
        help="""Install the nftables fence around :attr:`network_name` before the first
        container starts (see :mod:`hub.spawners.student_network`). Off only where the
        center's own firewall does the same.""",
    ).tag(config=True)

    _gpu_state_restored = False
    _student_networks: dict[str, StudentNetwork] = {}
    _network_lock: asyncio.Lock | None = None
    _boot_gate: asyncio.Semaphore | None = None
    _lab_profile: str | None = None
    _docker_executor: ThreadPoolExecutor | None = None

    def gateway_ports(self) -> list[int]:
        """The host's ports on the gateway a container may reach, the hub API's first."""
        if self.hub_api_port:
            return [self.hub_api_port, self.service_port]
        return [self.proxy_port]

    @property
    def executor(self) -> ThreadPoolExecutor:
        """One pool of :attr:`docker_threads` threads for every server's Docker calls."""
        cls = ClassroomDockerSpawner
        if cls._docker_executor is None:
            cls._docker_executor = ThreadPoolExecutor(self.docker_threads)
        return cls._docker_executor

    @default("network_name")
    def _default_network(self) -> str:
        return "aiclass-students"

    @default("use_internal_ip")
    def _default_use_internal_ip(self) -> bool:
        # the proxy reaches each server at its address on the students' network: no ports
        # are published on the host
        return True

    @default("remove")
    def _default_remove(self) -> bool:
        # Homes live on volumes; a fresh container per start picks up image upgrades.
        return True

    @default("pull_policy")
    def _default_pull_policy(self) -> str:
        # Images are built offline (``aiclass images build``); there is no registry to ask.
        return "never"

    @default("volumes")
    def _default_volumes(self) -> dict[str, str]:
        volumes = {self.home_volume: self.home_dir}
        if self.course_data:
            volumes[self.course_data] = {"bind": "/srv/course", "mode": "ro"}
        return volumes

    @default("allowed_images")
    def _default_allowed_images(self) -> dict[str, str]:
        return {p["image"]: p["image"] for p in self.profiles.values()}

    @default("extra_host_config")
    def _default_extra_host_config(self) -> Any:
        return ClassroomDockerSpawner.host_config

    @default("extra_create_kwargs")
    def _default_extra_create_kwargs(self) -> Any:
        return ClassroomDockerSpawner.create_kwargs

    @default("options_form")
    def _default_options_form(self) -> Any:
        return ClassroomDockerSpawner.profile_form

    @default("options_from_form")
    def _default_options_from_form(self) -> Any:
        return self.profile_from_form

    @default("args")
    def _default_args(self) -> list[str]:
        extensions = {name: False for name in self.disabled_server_extensions}
        if self.defer_nbgrader and self.lab_profile() == "student":
            extensions[DEFERRED_NBGRADER_EXTENSION] = True
            extensions.update({name: False for name in NBGRADER_STUDENT_SERVER_EXTENSIONS})
        if self.lean_student_server and self.lab_profile() == "student":
            extensions[NOTEBOOK_SHIM_EXTENSION] = False
        args = [f"--ServerApp.jpserver_extensions={extensions!r}"] if extensions else []
        if self.secure_cookies:
            args.append('--ServerApp.tornado_settings={"xsrf_cookie_kwargs": {"secure": True}}')
        return args

    def server_command(self) -> list[str] | None:
        """The lean command for students (:attr:`lean_student_server`); ``None`` runs the
        image's own ``jupyterhub-singleuser`` (DockerSpawner's default)."""
        if self.lean_student_server and self.lab_profile() == "student":
            return list(LEAN_SERVER_COMMAND)
        return None

    @property
    def owner(self) -> str:
        """Who holds the GPU slot: one per user and server name."""
        return f"{self.user.name}/{self.name}" if self.name else self.user.name

    # -- profiles -------------------------------------------------------------------------

    def may_use_gpu(self) -> bool:
        """Whether this user is in one of the groups the settings allow GPUs."""
        if GPU not in self.profiles:
            return False
        groups = {group.name for group in self.user.groups}
        return bool(groups.intersection(self.gpu_groups))

    def chosen_profile(self) -> str:
        """The profile of this start, checked against what the user may use."""
        allowed = [key for key in self.profiles if key != GPU or self.may_use_gpu()]
        return self.checked_profile(self.profiles, allowed)

    def profile_form(self) -> str:
        """The spawn page: CPU always, GPU for allowed groups, marked full when no slot is free."""
        if not self.may_use_gpu():
            return ""
        gpu_free = self.gpu_pool().free_slots() > 0
        rows = []
        for key, profile in self.profiles.items():
            label = html.escape(profile["display"])
            disabled = key == GPU and not gpu_free
            if disabled:
                label += "（暂无空闲 GPU，请先使用 CPU 环境 / no GPU free, please use CPU）"
            checked = key == CPU  # GPUs are scarce: a student opts in
            rows.append(
                f'<label class="form-check"><input class="form-check-input" type="radio" '
                f'name="profile" value="{key}"{" checked" if checked else ""}'
                f"{' disabled' if disabled else ''}> {label}</label>"
            )
        return "<p>选择运行环境 / choose an environment</p>\n" + "\n".join(rows)

    def profile_from_form(self, formdata: Mapping[str, list[str]]) -> dict[str, str]:
        """Read the profile; refuse a full GPU pool here so the form comes back offering CPU."""
        profile = formdata.get("profile", [CPU])[0]
        if profile == GPU and self.gpu_pool().free_slots() == 0:
            raise web.HTTPError(
                503, "所有 GPU 都已满，请选择 CPU 环境 / every GPU is busy, please choose CPU"
            )
        return {"profile": profile}

    def lab_profile(self) -> str:
        """The Jupyter profile of this start: ``teacher`` for staff on the roster."""
        if self._lab_profile is None:
            self._lab_profile = (
                person_profile(self.database_url, self.user.name) if self.database_url
                else "student"
            )
        return self._lab_profile

    # -- container settings ---------------------------------------------------------------

    def host_config(self) -> dict[str, Any]:
        """Hardening and limits of the chosen profile, and the GPU device if one was given."""
        profile = self.profiles[self.chosen_profile()]
        config: dict[str, Any] = {
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges:true"],
            "pids_limit": int(profile["pids_limit"]),
        }
        assignment = self.gpu_assignment()
        if assignment is not None:
            config["device_requests"] = [
                docker.types.DeviceRequest(
                    device_ids=[assignment.device.uuid], capabilities=[["gpu"]]
                )
            ]
        return config

    def create_kwargs(self) -> dict[str, Any]:
        """Labels naming the owner, the profile and any GPU slot (read back after restarts)."""
        labels = {
            OWNER_LABEL: self.user.name,
            PROFILE_LABEL: self.chosen_profile(),
            LAB_PROFILE_LABEL: self.lab_profile(),
        }
        assignment = self.gpu_assignment()
        if assignment is not None:
            labels.update(assignment.labels())
        return {"labels": labels, "user": "1000:1000"}

    def get_env(self) -> dict[str, str]:
        env = super().get_env()
        if self.hub_connect_url and env.get(EXCHANGE_URL_ENV):
            # the container's 127.0.0.1 is its own: the service is reached on the gateway
            gateway = urlsplit(self.hub_connect_url).hostname
            port = self.service_port or self.proxy_port
            env[EXCHANGE_URL_ENV] = urlunsplit(urlsplit(env[EXCHANGE_URL_ENV])._replace(
                scheme="http", netloc=f"{gateway}:{port}"))
        config_path = ":".join(path for path in (
            self.locale_config_paths.get(self.lab_locale),
            self.lab_config_paths.get(self.lab_profile())) if path)
        if config_path:
            env["JUPYTER_CONFIG_PATH"] = config_path
        assignment = self.gpu_assignment()
        if assignment is not None:
            env.update(assignment.environment())
        return env

    # -- GPU slots ------------------------------------------------------------------------

    def gpu_pool(self) -> GpuPool:
        """The hub-wide pool, rebuilt from running containers the first time it is used."""
        pool = GpuPool.instance(config=self.config)
        if not ClassroomDockerSpawner._gpu_state_restored:
            ClassroomDockerSpawner._gpu_state_restored = True
            containers = self.client.containers(filters={"label": DEVICE_LABEL})
            restored = pool.restore(c.get("Labels") or {} for c in containers)
            self.log.info("GPU pool: %d slots restored from running containers", restored)
        return pool

    def gpu_assignment(self) -> GpuAssignment | None:
        """The GPU slot of this server, if it runs the GPU profile."""
        if self.user_options.get("profile") != GPU:
            return None
        return self.gpu_pool().assignment(self.owner)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> tuple[str, int]:
        profile_key = self.chosen_profile()
        profile = self.profiles[profile_key]
        self._lab_profile = None  # read the role again: it may have changed since the last start
        self.cmd = self.server_command()
        self.image = profile["image"]
        self.mem_limit = profile["mem_limit"]
        self.cpu_limit = float(profile["cpu_limit"])
        network = await self.student_network()
        self.hub_connect_url = f"http://{network.gateway}:{self.gateway_ports()[0]}"
        if profile_key == GPU:
            try:
                self.gpu_pool().assign(self.owner)
            except NoGpuAvailable as error:
                raise web.HTTPError(503, str(error)) from error
        try:
            async with self.boot_gate():
                ip, port = await super().start()
                await self.wait_until_answering(ip, port)
        except BaseException:
            self.gpu_pool().release(self.owner)
            raise
        return ip, port

    async def student_network(self) -> StudentNetwork:
        """The students' network, made and fenced in once per hub; the proxy must be on it."""
        networks = ClassroomDockerSpawner._student_networks
        async with self.network_lock():
            if self.network_name not in networks:
                networks[self.network_name] = await self.fenced_network()
        return networks[self.network_name]

    def network_lock(self) -> asyncio.Lock:
        """One hub-wide lock: a class starting together makes the network once, not forty times."""
        cls = ClassroomDockerSpawner
        if cls._network_lock is None:
            cls._network_lock = asyncio.Lock()
        return cls._network_lock

    async def fenced_network(self) -> StudentNetwork:
        """Make (if missing) and fence in the students' network; check the hub is on it."""
        loop = asyncio.get_running_loop()
        network = await loop.run_in_executor(
            self.executor, StudentNetwork.ensure, self.client, self.network_name
        )
        try:
            if self.fence_network:
                await loop.run_in_executor(
                    self.executor, network.install_fence, self.gateway_ports()
                )
            port = self.gateway_ports()[0]
            _, writer = await asyncio.open_connection(network.gateway, port)
        except StudentNetworkError as error:
            raise web.HTTPError(500, str(error)) from error
        except OSError as error:
            raise web.HTTPError(
                500,
                f"hub 没有在学生网络的 {network.gateway}:{port} 上监听"
                "（[hub] ip 应为 0.0.0.0 或该地址）"
                f" / the hub does not listen on {network.gateway}:{port}, the students' "
                "network's gateway ([hub] ip must be 0.0.0.0 or that address)",
            ) from error
        writer.close()
        return network

    def boot_gate(self) -> asyncio.Semaphore:
        """The hub-wide turn-taking of :attr:`concurrent_boots` booting containers."""
        cls = ClassroomDockerSpawner
        if cls._boot_gate is None:
            cls._boot_gate = asyncio.Semaphore(self.concurrent_boots)
        return cls._boot_gate

    async def wait_until_answering(self, ip: str, port: int) -> None:
        """Return as soon as the server accepts connections (or the container has exited)."""
        deadline = time.monotonic() + self.start_timeout
        next_poll = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                _, writer = await asyncio.open_connection(ip, port)
            except OSError:
                if time.monotonic() > next_poll:
                    # a crashed server never answers: let the hub report it
                    if await self.poll() is not None:
                        return
                    next_poll = time.monotonic() + 2
                await asyncio.sleep(self.ready_poll_interval)
                continue
            writer.close()
            return

    async def stop(self, now: bool = False) -> None:
        try:
            await super().stop(now=now)
        finally:
            self.gpu_pool().release(self.owner)

    async def poll(self) -> int | None:
        if self.profiles.get(GPU):
            # a restarted hub polls every server first: rebuild the GPU slots then
            self.gpu_pool()
        return await super().poll()


def _profile(display: str, image: str, mem: str, cpus: float, pids: int) -> dict[str, Any]:
    return {
        "display": display,
        "image": image,
        "mem_limit": mem,
        "cpu_limit": cpus,
        "pids_limit": pids,
    }


def student_image(settings: Settings, name: str) -> str:
    """Our image ``name`` at this project's version, with the center's registry prefix."""
    return image_reference(name, settings.docker.registry_prefix)


def configure_docker_mode(c: Config, settings: Settings) -> None:
    """Docker mode's part of the JupyterHub configuration, all from the settings."""
    docker_settings, gpu = settings.docker, settings.gpu
    cpu_memory, cpu_cores = docker_settings.cpu_mem_limit, docker_settings.cpu_cpu_limit
    c.JupyterHub.spawner_class = ClassroomDockerSpawner
    # Students' containers are not the hub's children: a hub restarted or upgraded mid-lesson
    # leaves them running and adopts them (their ids are in its database), and stopping the
    # hub container stays within ``docker stop``'s ten seconds instead of stopping a class.
    c.JupyterHub.cleanup_servers = False
    profiles = {
        CPU: _profile(
            f"CPU 环境（{cpu_memory} 内存，{cpu_cores:g} 核）",
            student_image(settings, "student"),
            docker_settings.cpu_mem_limit,
            docker_settings.cpu_cpu_limit,
            docker_settings.cpu_pids_limit,
        )
    }
    if gpu.enabled:
        profiles[GPU] = _profile(
            f"GPU 环境（{docker_settings.gpu_mem_limit} 内存，共享 GPU）",
            student_image(settings, "student-gpu"),
            docker_settings.gpu_mem_limit,
            docker_settings.gpu_cpu_limit,
            docker_settings.gpu_pids_limit,
        )
    spawner = c.ClassroomDockerSpawner
    spawner.profiles = profiles
    spawner.gpu_groups = list(gpu.groups)
    spawner.network_name = docker_settings.network
    spawner.fence_network = docker_settings.fence_network
    spawner.proxy_port = settings.hub.port
    if settings.tls.enabled:
        spawner.hub_api_port = settings.hub.hub_port
        spawner.secure_cookies = True
    spawner.home_volume = docker_settings.home_volume
    spawner.prefix = docker_settings.container_prefix
    spawner.course_data = docker_settings.course_data
    spawner.database_url = settings.database_url
    spawner.lab_locale = settings.locale.default
    if docker_settings.concurrent_boots:
        spawner.concurrent_boots = docker_settings.concurrent_boots
    spawner.allowed_images = {p["image"]: p["image"] for p in profiles.values()}
    spawner.default_url = settings.lab.default_url
    spawner.start_timeout = settings.hub.start_timeout
    spawner.http_timeout = settings.hub.start_timeout
    c.GpuPool.devices = list(gpu.devices)
    c.GpuPool.max_students_per_device = gpu.max_students_per_device
    if gpu.memory_fraction:
        c.GpuPool.memory_fraction = gpu.memory_fraction
    c.JupyterHub.concurrent_spawn_limit = settings.hub.concurrent_spawn_limit
    if docker_settings.cull_idle_minutes:
        configure_idle_culler(c, docker_settings.cull_idle_minutes * 60)


def configure_idle_culler(c: Config, timeout_seconds: int) -> None:
    """jupyterhub-idle-culler as a hub-managed service with only the scopes it needs."""
    c.JupyterHub.services.append(
        {
            "name": "idle-culler",
            "command": [
                sys.executable,
                "-m",
                "jupyterhub_idle_culler",
                f"--timeout={timeout_seconds}",
                f"--cull-every={max(60, timeout_seconds // 10)}",
            ],
        }
    )
    c.JupyterHub.load_roles.append(
        {
            "name": "idle-culler",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["idle-culler"],
        }
    )
