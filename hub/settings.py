"""The one settings object: ``<data dir>/aiclass.toml``, read and validated once.

Every key is declared here, with its type, default and documentation, so that the
settings reference in the README, the commented default file written on first run
and the validator all come from the same declarations. Validation happens before
anything starts: an unknown key, a value of the wrong type or range, or an
unreadable file raises :class:`SettingsError` naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

SETTINGS_FILE_NAME = "aiclass.toml"
DATA_DIR_ENV = "AICLASS_DATA"
OVERRIDES_ENV = "AICLASS_OVERRIDES"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


class SettingsError(Exception):
    """A settings file that cannot be used; the message names the file and the key."""


def checkout_project() -> dict[str, Any] | None:
    """The ``[project]`` table of this checkout's ``pyproject.toml``; None when installed.

    Installed, ``hub/`` sits in site-packages, where another distribution may have dropped a
    ``pyproject.toml`` of its own (kubernetes_asyncio's wheel does): only ours counts.
    """
    if not PYPROJECT.is_file():
        return None
    with PYPROJECT.open("rb") as f:
        project = tomllib.load(f).get("project", {})
    return project if project.get("name") == "aiclass" else None


def pinned_version(distribution: str) -> str:
    """The exact version (``==``) that ``pyproject.toml`` pins ``distribution`` to (in any extra).

    ``pyproject.toml`` is the one place a dependency's version is written. The torch
    requirements of the student images default to the hub's own torch, read here, so
    the explainers, the grader and a student's server run the same version, and moving
    torch is one edit. The checkout's file is read; a hub installed without its checkout
    reads the same list from its installed metadata.
    """
    project = checkout_project()
    if project:
        extras = project.get("optional-dependencies", {}).values()
        requirements = [*project["dependencies"], *(r for extra in extras for r in extra)]
    else:
        requirements = metadata.requires("aiclass") or []
    for requirement in requirements:
        unmarked = requirement.split(";", 1)[0].strip()
        pinned = re.fullmatch(rf"{re.escape(distribution)}\s*==\s*([\w.+!-]+)", unmarked)
        if pinned:
            return pinned.group(1)
    raise LookupError(f"pyproject.toml pins no exact version of {distribution}")


TORCH_VERSION = pinned_version("torch")


def setting(
    default: Any,
    doc: str,
    *,
    choices: tuple[Any, ...] | None = None,
    minimum: int | float | None = None,
    maximum: int | float | None = None,
    check: Callable[[Any], str | None] | None = None,
) -> Any:
    """Declare one settings key with its documentation and constraints."""
    meta = {"doc": doc, "choices": choices, "minimum": minimum, "maximum": maximum,
            "check": check}
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def _url_path(value: str) -> str | None:
    if not (value.startswith("/") and value.endswith("/")):
        return "必须以 / 开头和结尾 / must start and end with /"
    return None


def _username_list(value: list[str]) -> str | None:
    bad = [name for name in value if not name or name != name.strip().lower()]
    return f"用户名必须为小写且无空格 / usernames must be lowercase: {bad}" if bad else None


@dataclass(frozen=True)
class HubSettings:
    """[hub]: where and how the hub runs."""

    mode: str = setting("local", "运行模式 / run mode: local (processes, SQLite), docker "
                        "(a container per student, PostgreSQL) or kubernetes (a pod per "
                        "student through the Zero to JupyterHub chart, PostgreSQL)",
                        choices=("local", "docker", "kubernetes"))
    ip: str = setting("127.0.0.1", "对外监听地址 / address the proxy listens on")
    port: int = setting(8000, "对外端口 / public port of the proxy", minimum=1, maximum=65535)
    hub_port: int = setting(8081, "hub 内部 API 端口 / port of the hub's internal API",
                            minimum=1, maximum=65535)
    proxy_api_port: int = setting(8001, "代理管理端口 / port of the proxy's REST API",
                                  minimum=1, maximum=65535)
    base_url: str = setting("/", "URL 前缀 / URL prefix of the whole hub", check=_url_path)
    admin_users: list[str] = setting([], "JupyterHub 超级管理员 / JupyterHub superusers "
                                     "(usernames)", check=_username_list)
    concurrent_spawn_limit: int = setting(100, "同时启动的服务器上限 / servers starting at once",
                                          minimum=1, maximum=10000)
    start_timeout: int = setting(120, "服务器启动超时（秒）/ seconds a server may take to start",
                                 minimum=5, maximum=3600)


@dataclass(frozen=True)
class LocaleSettings:
    """[locale]: the language students and teachers see."""

    default: str = setting("zh_CN", "界面语言 / interface language of hub pages, JupyterLab "
                           "and notebooks", choices=("zh_CN", "en"))


@dataclass(frozen=True)
class AuthSettings:
    """[auth]: sign-in with roster passwords."""

    method: str = setting("roster", "登录方式 / sign-in: roster passwords or oauth (provincial "
                          "SSO)", choices=("roster", "oauth"))
    max_failed_logins: int = setting(5, "连续失败几次后锁定 / failed sign-ins before lock-out",
                                     minimum=1, maximum=100)
    lockout_minutes: int = setting(15, "锁定时长（分钟）/ minutes an account stays locked",
                                   minimum=1, maximum=1440)
    min_password_length: int = setting(8, "新密码最短长度 / shortest new password",
                                       minimum=6, maximum=128)
    address_failure_burst: int = setting(
        100, "同一网络地址可连续失败的登录次数（一个班共用一个地址，需大于班级人数）/ failed "
        "sign-ins one network address may make in a burst (a class shares one address: keep it "
        "above a class's size)", minimum=1, maximum=100000)
    address_failures_per_minute: int = setting(
        20, "同一网络地址每分钟恢复的失败次数 / failed sign-ins an address earns back per "
        "minute", minimum=1, maximum=100000)


def _readable_file(value: str) -> str | None:
    if value and not Path(value).is_file():
        return f"文件不存在或不可读 / is not a readable file: {value}"
    return None


@dataclass(frozen=True)
class TlsSettings:
    """[tls]: serve HTTPS from a certificate and its key (both, or neither for plain HTTP)."""

    certificate: str = setting("", "证书文件（PEM，含中间证书）/ certificate file (PEM, with the "
                               "chain); empty: plain HTTP", check=_readable_file)
    key: str = setting("", "私钥文件（PEM）/ private key file (PEM)", check=_readable_file)

    def __post_init__(self) -> None:
        if bool(self.certificate) != bool(self.key):
            raise ValueError("certificate 和 key 必须同时设置 / certificate and key go together")

    @property
    def enabled(self) -> bool:
        """Whether the hub serves HTTPS (and its cookies are ``Secure``)."""
        return bool(self.certificate)


@dataclass(frozen=True)
class DatabaseSettings:
    """[database]: the service database (organisation model, gradebook)."""

    url: str = setting("", "SQLAlchemy 数据库地址；留空则用数据目录中的 SQLite / SQLAlchemy URL; "
                       "empty means a SQLite file in the data dir")
    hub_url: str = setting("", "JupyterHub 自身数据库地址；留空则用数据目录中的 SQLite / "
                           "SQLAlchemy URL of JupyterHub's own database; empty means a SQLite "
                           "file in the data dir")
    password_file: str = setting("", "数据库密码文件（如 compose secret），密码不写入本文件 / "
                                 "file holding the database password (e.g. a compose secret), "
                                 "put into both URLs so it is never written here")


@dataclass(frozen=True)
class LabSettings:
    """[lab]: what a student's and a teacher's JupyterLab looks like."""

    default_url: str = setting("/lab", "登录后打开的页面 / page opened after sign-in",
                               choices=("/lab", "/tree"))
    cjk_font: str = setting("Noto Sans CJK SC", "matplotlib 中文字体 / matplotlib font for "
                            "Chinese labels")


@dataclass(frozen=True)
class LocalSettings:
    """[local]: local mode, a bubblewrap box per person on this machine."""

    uid_base: int = setting(
        1000000, "本地模式服务器的 uid 起点：每人的 uid 为起点加其 hub 用户编号（以 root 运行时）/ "
        "first uid of local-mode servers: each person's server runs as this plus their hub "
        "user id (when the hub runs as root); keep the range clear of real accounts and above "
        "65534, the grading sandboxes' uid", minimum=65536, maximum=2000000000)


@dataclass(frozen=True)
class DemoSettings:
    """[demo]: the demo region seeded on first run."""

    seed_on_first_run: bool = setting(True, "首次启动时创建演示区域 / seed the demo region "
                                      "when the database is empty")
    students: int = setting(40, "演示学生人数 / number of demo students", minimum=1,
                            maximum=2000)
    activity: bool = setting(True, "本地模式下为演示区域生成几周的教学活动（小学、作业、真实评分、"
                             "反馈）/ in local mode, seed the demo region with a few weeks of "
                             "teaching (a primary school, assignments, real grading, feedback)")


def _memory_size(value: str) -> str | None:
    number = value[:-1] if value[-1:].upper() in ("K", "M", "G") else value
    if not number.isdigit():
        return "必须形如 512M 或 2G / must look like 512M or 2G"
    return None


def _students_network(value: str) -> str | None:
    if value in ("host", "none", "bridge", ""):
        return ("必须是学生专用的 bridge 网络：host 让学生访问宿主机上的一切 / must be a bridge "
                "network of the students' own: host lets them reach everything on the host")
    return None


@dataclass(frozen=True)
class DockerSettings:
    """[docker]: docker mode, a container per student, and how its images are built."""

    network: str = setting("aiclass-students", "学生容器所在的 Docker bridge 网络（不存在时以 "
                           "--internal 创建），每个容器有自己的网络命名空间 / Docker bridge "
                           "network of student containers, created --internal if missing; each "
                           "container has a network namespace of its own",
                           check=_students_network)
    fence_network: bool = setting(True, "用 nftables 把学生网络限制为只能访问代理端口（启用 TLS "
                                  "时为 hub API 和课堂服务端口；hub 需 CAP_NET_ADMIN）；"
                                  "仅在中心自己的防火墙做同样限制时关闭 / fence the students' "
                                  "network in with "
                                  "nftables to the proxy's port only (with [tls], the hub API's "
                                  "and the classroom service's; the hub needs CAP_NET_ADMIN); off "
                                  "only where the center's own firewall does the same")
    registry_prefix: str = setting("", "镜像名前缀（如本地镜像仓库 registry.example.cn/）/ "
                                   "image name prefix, e.g. a center's registry mirror")
    home_volume: str = setting("aiclass-home-{username}", "每个学生的主目录卷名 / named "
                               "volume holding each student's home")
    container_prefix: str = setting("aiclass", "学生容器名前缀（容器名为 前缀-用户名）/ "
                                    "prefix of student container names (prefix-username)")
    course_data: str = setting("", "只读挂载到 /srv/course 的课程数据（宿主机路径或卷名）/ "
                               "course data mounted read-only at /srv/course (host path or "
                               "volume); empty: none")
    cpu_mem_limit: str = setting("2G", "CPU 环境内存上限 / memory limit of the CPU profile",
                                 check=_memory_size)
    cpu_cpu_limit: float = setting(1.0, "CPU 环境核数上限 / CPU cores of the CPU profile",
                                   minimum=0.1, maximum=256)
    cpu_pids_limit: int = setting(512, "CPU 环境进程数上限 / process limit of the CPU profile",
                                  minimum=64, maximum=65536)
    gpu_mem_limit: str = setting("16G", "GPU 环境内存上限 / memory limit of the GPU profile",
                                 check=_memory_size)
    gpu_cpu_limit: float = setting(4.0, "GPU 环境核数上限 / CPU cores of the GPU profile",
                                   minimum=0.1, maximum=256)
    gpu_pids_limit: int = setting(1024, "GPU 环境进程数上限 / process limit of the GPU "
                                  "profile", minimum=64, maximum=65536)
    concurrent_boots: int = setting(0, "同时启动的学生容器数，其余排队（0：CPU 核数的两倍）/ "
                                    "student containers booting at once, the rest wait their "
                                    "turn (0: twice the host's cores)", minimum=0, maximum=1024)
    cull_idle_minutes: int = setting(60, "空闲多少分钟后停止服务器（0 不停止）/ minutes before "
                                     "an idle server is stopped (0: never)", minimum=0,
                                     maximum=10080)
    apt_mirror: str = setting("", "构建镜像用的 Debian 镜像源；留空则沿用本机 APT 设置 / Debian "
                              "mirror for image builds; empty: the one this host's APT uses")
    apt_security_mirror: str = setting("", "Debian 安全更新源；留空则沿用本机 / Debian "
                                       "security mirror; empty: this host's")
    cpu_torch: str = setting(f"torch=={TORCH_VERSION}+cpu", "student 镜像的 torch 要求 / torch "
                             "requirement of the student image (CPU build)")
    #: PyPI's plain build is the CUDA one; excluding ``+cpu`` keeps pip from preferring a CPU
    #: wheel that a find-links folder offers.
    gpu_torch: str = setting(f"torch=={TORCH_VERSION},!={TORCH_VERSION}+cpu",
                             "student-gpu 镜像的 torch 要求 / torch requirement of the "
                             "student-gpu image (CUDA build)")


def _gpu_resource(value: str) -> str | None:
    if not re.fullmatch(r"nvidia\.com/(gpu|mig-\d+g\.\d+gb)", value):
        return ("必须是 nvidia.com/gpu 或 nvidia.com/mig-<n>g.<m>gb / must be nvidia.com/gpu or "
                "nvidia.com/mig-<n>g.<m>gb")
    return None


def _quantity(value: str) -> str | None:
    if not re.fullmatch(r"\d+(Mi|Gi|Ti|M|G|T)", value):
        return "必须形如 10Gi 或 512Mi / must look like 10Gi or 512Mi"
    return None


def _dns_name(value: str) -> str | None:
    if value and not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", value):
        return ("必须是小写字母、数字和 - 组成的 Kubernetes 名称 / must be a Kubernetes name: "
                "lowercase letters, digits and -")
    return None


def _host_name(value: str) -> str | None:
    if value and not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", value):
        return "必须是主机名，如 ai.edu.example.cn / must be a host name like ai.edu.example.cn"
    return None


@dataclass(frozen=True)
class GpuSettings:
    """[gpu]: sharing the center's GPUs between students in docker mode."""

    enabled: bool = setting(False, "提供 GPU 环境 / offer the GPU profile")
    groups: list[str] = setting([], "可以使用 GPU 的 JupyterHub 组（如高年级班级）/ JupyterHub "
                                "groups allowed the GPU profile, e.g. senior classes")
    devices: list[str] = setting([], "没有 nvidia-smi 时使用的设备 UUID（GPU-… 或 MIG-…）/ "
                                 "device UUIDs used when nvidia-smi is absent")
    max_students_per_device: int = setting(4, "每块 GPU（或 MIG 实例）同时服务的学生数 / "
                                           "students sharing one GPU or MIG instance",
                                           minimum=1, maximum=64)
    memory_fraction: float = setting(0.0, "每个学生可用的显存比例；0 表示 1/每卡人数 / share "
                                     "of device memory per student; 0: 1 / students per "
                                     "device", minimum=0.0, maximum=1.0)
    resource: str = setting("nvidia.com/gpu", "kubernetes 模式下 GPU 环境申请的扩展资源：整卡 "
                            "nvidia.com/gpu，或 MIG 实例如 nvidia.com/mig-1g.10gb / kubernetes "
                            "mode: the extended resource a GPU server asks for, a whole GPU "
                            "(nvidia.com/gpu) or a MIG instance such as nvidia.com/mig-1g.10gb",
                            check=_gpu_resource)


@dataclass(frozen=True)
class ServiceSettings:
    """[service]: the classroom service (assignment exchange, teacher pages)."""

    port: int = setting(0, "课堂服务的本机端口；0 表示启动时自动选择 / loopback port of the "
                        "classroom service; 0: pick a free one when the hub starts",
                        minimum=0, maximum=65535)
    max_submission_mb: int = setting(100, "每次提交的大小上限（MB）/ size limit of one "
                                     "submission in MB", minimum=1, maximum=10240)
    max_file_mb: int = setting(50, "提交中单个文件的大小上限（MB）/ size limit of one file "
                               "of a submission in MB", minimum=1, maximum=10240)
    max_files: int = setting(200, "每次提交的文件数上限 / files in one submission",
                             minimum=1, maximum=100000)
    max_unpack_ratio: int = setting(100, "上传的压缩包最多可解压为自身大小的几倍（超过即视为"
                                    "压缩炸弹）/ how many times its size an uploaded zip may "
                                    "inflate to (beyond: refused as a zip bomb)",
                                    minimum=2, maximum=100000)
    submissions_per_minute: int = setting(6, "每个学生每份作业每分钟的提交次数上限 / "
                                          "submissions per student and assignment per minute",
                                          minimum=1, maximum=1000)
    max_submissions: int = setting(100, "每个学生每份作业保留的提交次数上限 / submissions kept "
                                   "per student and assignment", minimum=1, maximum=100000)
    grading_workers: int = setting(1, "课堂服务中的评分进程数（0 不在服务中评分）/ grading "
                                   "workers in the classroom service (0: none)",
                                   minimum=0, maximum=64)
    grading_queue_per_student: int = setting(3, "每个学生同时等待评分的提交数上限（同一作业的"
                                             "新提交替换旧的）/ submissions one student may "
                                             "have waiting to be graded (a newer one of the "
                                             "same assignment replaces the older)",
                                             minimum=1, maximum=1000)
    grading_fair_share_seconds: int = setting(20, "有其他学生在等待时，一份评分任务最多占用评分"
                                              "进程的秒数；超过且该学生还有别的提交在等时，"
                                              "任务退回队列稍后重评（学生唯一的提交从不退回）/ "
                                              "seconds a grading job may hold its worker while "
                                              "others wait; past it, a job whose student has "
                                              "more waiting goes back to the queue and is "
                                              "graded later (a student's only submission never "
                                              "does)", minimum=5, maximum=3600)
    grading_cpus: float = setting(0.0, "本地模式下评分（评分进程及其沙箱合计）最多使用的 CPU "
                                  "核数，其余留给课堂服务与学生；0：主机核数减一（单核主机为"
                                  "一核）；需以 root 运行并可写 cgroup / local mode: CPU cores "
                                  "grading may use, its worker processes and their sandboxes "
                                  "together, the rest staying free for requests and students; "
                                  "0: all but one of the host's cores (one on a single-core "
                                  "host); needs root and a writable cgroup tree, else grading "
                                  "runs niced only", minimum=0.0, maximum=256.0)
    competition_scorers: int = setting(2, "同时在沙箱中运行的比赛笔记本数（其余排队等候）/ "
                                       "competition notebook entries run in sandboxes at "
                                       "once (the others wait their turn)",
                                       minimum=1, maximum=64)
    log_format: str = setting("text", "课堂服务日志的格式：text 便于阅读，json 每行一个 JSON "
                              "对象，便于日志系统收集 / format of the classroom service's log: "
                              "text to read, json for one JSON object a line that log "
                              "collectors parse", choices=("text", "json"))


@dataclass(frozen=True)
class KubernetesSettings:
    """[kubernetes]: kubernetes mode (Zero to JupyterHub); limits and culling from [docker]."""

    namespace: str = setting("aiclass", "安装到的命名空间 / namespace the chart is installed in",
                             check=_dns_name)
    release: str = setting("aiclass", "Helm 发布名 / Helm release name", check=_dns_name)
    storage_class: str = setting("", "学生主目录 PVC 的 StorageClass；留空用集群默认 / "
                                 "StorageClass of students' home PVCs; empty: the cluster's "
                                 "default", check=_dns_name)
    storage_size: str = setting("5Gi", "每个学生主目录的大小 / size of each student's home",
                                check=_quantity)
    cpu_guarantee: float = setting(0.1, "每个服务器保证的 CPU 核数（调度用）/ CPU cores "
                                   "guaranteed to each server (what the scheduler packs by)",
                                   minimum=0.01, maximum=256)
    mem_guarantee: str = setting("512M", "每个服务器保证的内存 / memory guaranteed to each "
                                 "server", check=_memory_size)
    ingress_host: str = setting("", "对外主机名（经集群的 Ingress）；留空则用 LoadBalancer 服务 / "
                                "public host name, served through the cluster's Ingress; empty: "
                                "a LoadBalancer service", check=_host_name)
    tls_secret: str = setting("", "Ingress 使用的 TLS Secret（kubernetes.io/tls）名；需要 "
                              "ingress_host / name of the kubernetes.io/tls Secret the Ingress "
                              "serves; needs ingress_host", check=_dns_name)
    secret: str = setting("aiclass-secrets", "hub 的 Secret：数据库密码（键 database-password）"
                          "和 OIDC 客户端密钥（键 oauth-client-secret）/ the hub's Secret: the "
                          "database password (key database-password) and the OIDC client "
                          "secret (key oauth-client-secret)", check=_dns_name)
    user_placeholders: int = setting(40, "预留给整班同时上课的占位 pod 数（通常为一个班的人数）/ "
                                     "placeholder pods keeping room for a class arriving at "
                                     "once (usually one class's size)", minimum=0,
                                     maximum=10000)
    prepull: bool = setting(True, "在每个节点预先拉取学生镜像 / pull the student images on "
                            "every node ahead of the lesson")
    service_port: int = setting(8181, "课堂服务在 hub pod 中的端口 / port of the classroom "
                                "service in the hub pod", minimum=1024, maximum=65535)

    def __post_init__(self) -> None:
        if self.tls_secret and not self.ingress_host:
            raise ValueError("tls_secret 需要 ingress_host / tls_secret needs ingress_host")


def _identifier(value: str) -> str | None:
    ok = value and value.isascii() and value.replace("-", "").isalnum() and value == value.lower()
    return None if ok else "只能用小写字母、数字和 - / lowercase letters, digits and - only"


@dataclass(frozen=True)
class OrgSettings:
    """[org]: the region's organisation model and its mirror into JupyterHub."""

    region_id: str = setting("region", "区域代码（花名册中的学校都属于它）/ id of the region the "
                             "roster's schools belong to", check=_identifier)
    region_name: str = setting("本区域", "区域名称 / name of the region")
    region_admins_are_superusers: bool = setting(False, "区域管理员是否为 JupyterHub 超级管理员 / "
                                                 "make region admins JupyterHub superusers")
    mirror_interval_minutes: int = setting(10, "每隔几分钟把组织结构同步到 hub / minutes between "
                                           "two reconciliations of the hub's groups and roles",
                                           minimum=1, maximum=1440)


@dataclass(frozen=True)
class OAuthSettings:
    """[oauth]: sign-in through the province's education SSO (OpenID Connect)."""

    issuer: str = setting("", "OIDC 签发方地址 / OIDC issuer URL")
    authorize_url: str = setting("", "授权地址 / authorization endpoint")
    token_url: str = setting("", "令牌地址 / token endpoint")
    userdata_url: str = setting("", "用户信息地址 / userinfo endpoint")
    client_id: str = setting("", "客户端 ID / client id")
    client_secret_file: str = setting("", "存放客户端密钥的文件（相对数据目录）/ file holding the "
                                      "client secret, relative to the data dir")
    callback_url: str = setting("", "回调地址；留空则用 hub 地址 + hub/oauth_callback / callback "
                                "URL; empty: the hub's URL + hub/oauth_callback")
    scopes: list[str] = setting(["openid", "profile", "email"], "请求的范围 / scopes requested")
    username_claim: str = setting("preferred_username", "用户名所在的声明 / claim holding the "
                                  "pseudonymous username")
    school_claim: str = setting("school", "学校代码所在的声明 / claim holding the school id")
    classes_claim: str = setting("classes", "班级代码列表所在的声明 / claim holding the class ids")
    role_claim: str = setting("role", "角色所在的声明 / claim holding the role")
    district_claim: str = setting("", "区县代码所在的声明；填写后，角色声明为区县管理员的账号由统一"
                                  "身份认证设为该区县（须已存在）的管理员；留空则区县管理员只来自"
                                  "花名册 / claim holding a district id: when set, an account "
                                  "whose role claim is district_admin becomes the admin of that "
                                  "(existing) district; empty: district admins come from the "
                                  "roster only")
    require_verified_email: bool = setting(True, "拒绝 email_verified 不为真的账号 / refuse "
                                           "accounts whose email_verified claim is not true")
    login_service: str = setting("省教育统一身份认证", "登录按钮上的名称 / name on the sign-in "
                                 "button")


def _iso_date(value: str) -> str | None:
    try:
        date.fromisoformat(value)
    except ValueError:
        return "必须是 YYYY-MM-DD 格式的日期 / must be a date like 2026-09-01"
    return None


@dataclass(frozen=True)
class ReportsSettings:
    """[reports]: what school and region reports measure against (the provincial programme)."""

    term_start: str = setting("2026-09-01", "本学期第一天 / first day of the current term "
                              "(YYYY-MM-DD)", check=_iso_date)
    periods_per_year: int = setting(8, "每名学生每学年应上的 AI 课时 / AI class periods per "
                                    "student and school year (the benchmark)", minimum=1,
                                    maximum=400)
    period_minutes: int = setting(45, "一课时的分钟数 / minutes in one class period",
                                  minimum=10, maximum=120)
    pass_percent: int = setting(60, "及格线（得分百分比）/ pass mark in percent of the points",
                                minimum=0, maximum=100)
    gpu_hours_per_school: float = setting(0.0, "每所学校每学期分配的 GPU 小时 / GPU hours "
                                          "allocated to each school per term", minimum=0.0)
    activity_poll_minutes: int = setting(5, "每隔几分钟记录一次服务器活动 / minutes between "
                                         "two samples of server activity", minimum=1,
                                         maximum=60)
    refresh_minutes: int = setting(15, "每隔几分钟重新计算区域报告 / minutes between two "
                                   "recomputations of the region report", minimum=1,
                                   maximum=1440)


@dataclass(frozen=True)
class ProgrammeSettings:
    """[programme]: the provincial programme's applications and supervision (督导评估)."""

    max_evidence_mb: int = setting(20, "学校上传的一份佐证材料的大小上限（MB）/ size limit of "
                                   "one evidence file a school uploads, in MB",
                                   minimum=1, maximum=1024)


@dataclass(frozen=True)
class PrivacySettings:
    """[privacy]: what is kept of people who left the roster, and for how long (minors' data)."""

    # A person has left when no class of the roster has them any more; the days count from
    # their last trace (last submission, last change in their home), so a pupil between two
    # school years loses nothing while the next year's roster is being made.
    keep_anonymised_grades: bool = setting(True, "删除个人数据时保留匿名化的成绩（学校统计用）/ "
                                           "on erasure, keep the grades re-keyed to a "
                                           "pseudonymous id for the school's statistics")
    left_submissions_days: int = setting(365, "离开花名册的人的提交、成绩和反馈保留天数 / days "
                                         "the submissions, grades and feedback of people who "
                                         "left are kept after their last submission",
                                         minimum=0, maximum=36500)
    left_homes_days: int = setting(90, "离开花名册的人的主目录保留天数 / days the home of "
                                   "someone who left is kept after its last change",
                                   minimum=0, maximum=36500)
    left_signins_days: int = setting(180, "离开花名册的人的登录与活动记录保留天数 / days the "
                                     "sign-in and activity history of someone who left is "
                                     "kept (then it no longer says who)", minimum=0,
                                     maximum=36500)
    audit_retention_days: int = setting(1095, "审计记录保留天数，更早的记录从链首删除（链仍可"
                                        "校验）/ days audit rows are kept; older ones are "
                                        "pruned from the head of the chain, which still "
                                        "verifies", minimum=30, maximum=36500)


@dataclass(frozen=True)
class Settings:
    """Every section of ``aiclass.toml``, plus where it came from."""

    hub: HubSettings = field(default_factory=HubSettings)
    locale: LocaleSettings = field(default_factory=LocaleSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    lab: LabSettings = field(default_factory=LabSettings)
    local: LocalSettings = field(default_factory=LocalSettings)
    demo: DemoSettings = field(default_factory=DemoSettings)
    docker: DockerSettings = field(default_factory=DockerSettings)
    gpu: GpuSettings = field(default_factory=GpuSettings)
    kubernetes: KubernetesSettings = field(default_factory=KubernetesSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    org: OrgSettings = field(default_factory=OrgSettings)
    oauth: OAuthSettings = field(default_factory=OAuthSettings)
    reports: ReportsSettings = field(default_factory=ReportsSettings)
    programme: ProgrammeSettings = field(default_factory=ProgrammeSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    data_dir: Path = field(default=Path("aiclass-data"), metadata={"internal": True})

    @property
    def database_url(self) -> str:
        """The service database's URL, defaulting to a SQLite file in the data dir."""
        return self._with_password(
            self.database.url or f"sqlite:///{self.data_dir / 'aiclass.sqlite'}")

    @property
    def hub_database_url(self) -> str:
        """JupyterHub's own database URL, defaulting to a SQLite file in the data dir."""
        return self._with_password(
            self.database.hub_url or f"sqlite:///{self.data_dir / 'jupyterhub.sqlite'}")

    def _with_password(self, url: str) -> str:
        """Put the password from ``[database] password_file`` into a server URL.

        The file is read each time a URL is asked for (once per process in practice), so a
        rotated secret takes effect at the next restart without editing ``aiclass.toml``.
        """
        if not self.database.password_file or url.startswith("sqlite"):
            return url
        from sqlalchemy.engine import make_url

        path = Path(self.database.password_file)
        try:
            password = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"[database] password_file {path}: 无法读取 / cannot be read: "
                                f"{exc.strerror}") from exc
        return make_url(url).set(password=password).render_as_string(hide_password=False)

    @property
    def public_url(self) -> str:
        """The URL people open in their browser."""
        scheme = "https" if self.tls.enabled else "http"
        return f"{scheme}://{self.hub.ip}:{self.hub.port}{self.hub.base_url}"


def sections() -> dict[str, type]:
    """The settings sections by name, in declaration order."""
    return {
        f.name: f.default_factory  # type: ignore[misc]
        for f in dataclasses.fields(Settings)
        if not f.metadata.get("internal")
    }


def _type_error(expected: Any, value: Any) -> str | None:
    origin = typing.get_origin(expected)
    if origin is list:
        (item_type,) = typing.get_args(expected)
        if not isinstance(value, list):
            return "必须是列表 / must be a list"
        for item in value:
            if _type_error(item_type, item):
                name = item_type.__name__
                return f"列表元素必须是 {name} / list items must be {name}"
        return None
    if expected is bool:
        ok = isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif expected is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, expected)
    return None if ok else f"必须是 {expected.__name__} 类型 / must be of type {expected.__name__}"


def _check_value(f: dataclasses.Field, expected: Any, value: Any) -> str | None:
    problem = _type_error(expected, value)
    if problem:
        return problem
    meta = f.metadata
    if meta["choices"] is not None and value not in meta["choices"]:
        options = ", ".join(map(str, meta["choices"]))
        return f"必须是以下之一 / must be one of: {options}"
    if meta["minimum"] is not None and value < meta["minimum"]:
        return f"不能小于 / must be at least {meta['minimum']}"
    if meta["maximum"] is not None and value > meta["maximum"]:
        return f"不能大于 / must be at most {meta['maximum']}"
    if meta["check"] is not None:
        return meta["check"](value)
    return None


def _build_section(name: str, cls: type, raw: Any, source: str) -> Any:
    if not isinstance(raw, Mapping):
        raise SettingsError(f"{source}: [{name}] 必须是一个表 / must be a table")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in known:
            raise SettingsError(
                f"{source}: [{name}] {key}: 未知的设置项 / unknown key "
                f"(known: {', '.join(known)})"
            )
        problem = _check_value(known[key], hints[key], value)
        if problem:
            raise SettingsError(f"{source}: [{name}] {key} = {value!r}: {problem}")
        values[key] = value
    try:
        return cls(**values)
    except ValueError as exc:
        raise SettingsError(f"{source}: [{name}]: {exc}") from exc


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = {name: dict(section) if isinstance(section, Mapping) else section
              for name, section in base.items()}
    for name, section in overrides.items():
        merged.setdefault(name, {}).update(section)
    return merged


def parse_settings(raw: Mapping[str, Any], source: str, data_dir: Path) -> Settings:
    """Validate a parsed settings mapping; ``source`` names it in errors."""
    known = sections()
    built = {}
    for name, value in raw.items():
        if name not in known:
            raise SettingsError(
                f"{source}: [{name}]: 未知的设置段 / unknown section "
                f"(known: {', '.join(known)})"
            )
        built[name] = _build_section(name, known[name], value, source)
    settings = Settings(**built, data_dir=data_dir)
    if settings.hub.mode == "kubernetes":
        _check_kubernetes(settings, source)
    return settings


def _check_kubernetes(settings: Settings, source: str) -> None:
    """Kubernetes mode's pods come and go: its state must live on PostgreSQL, TLS at the edge."""
    if not (settings.database.url and settings.database.hub_url):
        raise SettingsError(
            f"{source}: [database] url, hub_url: kubernetes 模式需要 PostgreSQL（pod 中的 SQLite "
            "文件随 pod 消失）/ kubernetes mode needs PostgreSQL (a SQLite file in a pod goes "
            "with the pod)")
    if settings.tls.enabled:
        raise SettingsError(
            f"{source}: [tls]: kubernetes 模式的 TLS 由 Ingress 终止，请设置 [kubernetes] "
            "ingress_host 和 tls_secret / in kubernetes mode the Ingress terminates TLS: set "
            "[kubernetes] ingress_host and tls_secret")


def load_settings(data_dir: Path, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Read ``<data_dir>/aiclass.toml`` (absent means all defaults) and apply overrides.

    Overrides come from command-line options such as ``aiclass up --port``; they are
    validated exactly like the file.
    """
    data_dir = data_dir.resolve()
    path = data_dir / SETTINGS_FILE_NAME
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise SettingsError(f"{path}: 无法读取 / cannot be read: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise SettingsError(f"{path}: 不是 UTF-8 文本 / is not UTF-8 text: {exc}") from exc
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{path}: TOML 语法错误 / TOML syntax error: {exc}") from exc
    merged = _merge(raw, overrides or {})
    return parse_settings(merged, str(path), data_dir)


def default_data_dir() -> Path:
    """The data dir a command uses without ``--data``: the one the hub runs on, if any.

    ``aiclass up`` and the hub image set :data:`DATA_DIR_ENV`, so an admin's
    ``docker-compose exec hub aiclass roster ...`` works on the hub's own data dir.
    """
    return Path(os.environ.get(DATA_DIR_ENV) or "aiclass-data")


def settings_from_environment() -> Settings:
    """Load the settings for a process started by ``aiclass up`` (the hub, its services).

    ``aiclass up`` passes the data dir and its command-line overrides in the
    environment; this is the one place they are read.
    """
    return load_settings(default_data_dir(), _overrides_from_environment())


def _overrides_from_environment() -> dict[str, Any]:
    return json.loads(os.environ.get(OVERRIDES_ENV) or "{}")


def environment_for(settings: Settings, overrides: Mapping[str, Any]) -> dict[str, str]:
    """The environment variables that let a child process load these settings."""
    return {DATA_DIR_ENV: str(settings.data_dir), OVERRIDES_ENV: json.dumps(dict(overrides))}


def service_environment(settings: Settings) -> dict[str, str]:
    """The environment of a service the hub starts, so that it loads the hub's own settings.

    The hub was given its command-line overrides by ``aiclass up`` (:func:`environment_for`);
    each of its services is given the same, unchanged.
    """
    return environment_for(settings, _overrides_from_environment())


def _toml_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def default_settings_text() -> str:
    """A commented ``aiclass.toml`` with every key at its default, for first run and docs."""
    lines = ["# aiclass 设置文件 / settings file. 每一项都是默认值 / every key shows its default.",
             ""]
    for name, cls in sections().items():
        lines.append(f"[{name}]")
        lines.append(f"# {cls.__doc__}")
        for f in dataclasses.fields(cls):
            default = getattr(cls(), f.name)
            lines.append(f"# {f.metadata['doc']}")
            lines.append(f"# {f.name} = {_toml_value(default)}")
        lines.append("")
    return "\n".join(lines)


def settings_reference_markdown() -> str:
    """The settings reference table for the README."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for name, cls in sections().items():
        for f in dataclasses.fields(cls):
            default = _toml_value(getattr(cls(), f.name))
            rows.append(f"| `{name}.{f.name}` | `{default}` | {f.metadata['doc']} |")
    return "\n".join(rows)
