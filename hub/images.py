"""The container images, built offline from Debian packages and wheels (``aiclass images build``).

Docker Hub is unreachable from many Chinese education networks, so nothing here pulls an image:
the base is a Debian root filesystem made by ``debootstrap`` from the configured APT mirror and
turned into an image with ``docker import``; Python packages come from a wheelhouse downloaded
on the host with ``pip download`` (which honours the host's pip index or mirror) and installed
with ``--no-index`` inside ``docker build --network host``. The network is only used by ``apt``
against the configured mirror.

Which wheels, exactly, is not left to the resolver on the day: each image's lock
(``images/locks/<image>.txt``, written by ``aiclass images lock`` and committed) names every
wheel with its sha256, so two centers building one version install the same bytes, and a build
whose resolution no longer matches its lock stops instead of quietly installing something else.

A rebuild with nothing changed must reuse every layer, so the base is imported only when its tag
is missing, the wheelhouse is a cache keyed by file name, and the wheels built from this checkout
are made reproducible (``SOURCE_DATE_EPOCH``) so that identical sources give identical bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.requirements import Requirement

from hub.settings import DockerSettings, checkout_project, load_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
RECIPES = REPO_ROOT / "images"
BUILD_DIR = RECIPES / "build"

DEBIAN_SUITE = "bookworm"
#: The image's interpreter: Debian 12 ships CPython 3.11 with glibc 2.36.
IMAGE_PYTHON = "3.11"
IMAGE_GLIBC_MINOR = 36
#: Fixed wheel timestamps (1980-01-02, the earliest a zip file can hold) make rebuilt wheels
#: byte-identical, so Docker's content-addressed COPY cache still hits.
REPRODUCIBLE_EPOCH = "315619200"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"


class ImageBuildError(RuntimeError):
    """A step of the image build failed; the message says which and how to fix it."""


@dataclass(frozen=True)
class ImageRecipe:
    """One image: where its Dockerfile lives and which wheels it is given."""

    name: str
    recipe: str
    #: ``pyproject.toml`` extras whose requirements the image installs (``hub``, ``lab``, ...).
    extras: tuple[str, ...]
    local_distributions: tuple[str, ...]
    torch: str | None = None
    default: bool = True
    #: Distributions left out of the image on purpose, with everything that only they need
    #: (see :data:`SLOW_TO_IMPORT`, :data:`LAB_ONLY`).
    excluded: tuple[str, ...] = ()
    #: Files of this checkout (relative to its root) copied into the build context.
    checkout_files: tuple[str, ...] = ()


@dataclass
class BuildOptions:
    """What a center may change about the build; filled from the ``[images]`` settings."""

    version: str
    registry_prefix: str = ""
    apt_mirror: str = DEFAULT_MIRROR
    apt_security_mirror: str = DEFAULT_SECURITY_MIRROR
    cpu_torch: str = DockerSettings().cpu_torch
    #: The CUDA build: PyPI's plain release (or a ``+cuXXX`` from a PyTorch mirror); the
    #: exclusion keeps pip from preferring a ``+cpu`` wheel that a find-links folder offers.
    gpu_torch: str = DockerSettings().gpu_torch

    def tag(self, name: str) -> str:
        """The full image reference for one of our images, e.g. ``aiclass/student:0.1.0``."""
        return image_reference(name, self.registry_prefix, self.version)


def extension_directories() -> tuple[str, ...]:
    """The small distributions under ``extensions/`` that student servers install."""
    root = REPO_ROOT / "extensions"
    found = sorted(p.parent for p in root.glob("*/pyproject.toml"))
    return tuple(str(p.relative_to(REPO_ROOT)) for p in found)


#: rfc3987-syntax compiles a Lark grammar when imported, and jupyter_server imports it through
#: jsonschema's optional format checks: 1-3 s of CPU for every student server that starts,
#: multiplied by a class of 40 at the bell. jsonschema skips those checks when it is absent.
SLOW_TO_IMPORT = ("rfc3987-syntax", "lark")

#: nbgrader declares JupyterLab, its server, the classic notebook and ipywidgets as requirements
#: for the extensions it adds to a server, but the hub only imports its library (the gradebook,
#: the preprocessors, the course directory): the servers that run those extensions are the
#: students', in the student image. Leaving them out keeps the hub image a hub's.
LAB_ONLY = ("jupyterlab", "jupyterlab-server", "notebook", "ipywidgets")

LOCKS = RECIPES / "locks"


def recipes() -> dict[str, ImageRecipe]:
    """Every image this project builds, in build order (the base comes first, separately)."""
    extensions = extension_directories()
    return {
        "student": ImageRecipe(
            "student",
            "student",
            ("lab", "explainers"),
            extensions,
            torch="cpu",
            excluded=SLOW_TO_IMPORT,
        ),
        "student-gpu": ImageRecipe(
            "student-gpu",
            "student",
            ("lab", "explainers"),
            extensions,
            torch="gpu",
            default=False,
            excluded=SLOW_TO_IMPORT,
        ),
        "hub": ImageRecipe(
            "hub",
            "hub",
            ("hub",),
            (".",),
            excluded=LAB_ONLY + SLOW_TO_IMPORT,
            checkout_files=("jupyterhub_config.py", "assignments"),
        ),
        "postgres": ImageRecipe("postgres", "postgres", (), ()),
    }


def project_version() -> str:
    """This project's version, which image tags carry: the checkout's, else the installed one."""
    project = checkout_project()
    return str(project["version"]) if project else metadata.version("aiclass")


def image_reference(name: str, registry_prefix: str = "", version: str | None = None) -> str:
    """The full reference of one of our images, e.g. ``aiclass/student:0.1.0``."""
    return f"{registry_prefix}aiclass/{name}:{version or project_version()}"


def host_debian_mirrors(
    sources: Iterable[Path] = (
        Path("/etc/apt/sources.list"),
        *sorted(Path("/etc/apt/sources.list.d").glob("*")),
    ),
) -> tuple[str, str]:
    """The Debian and Debian-security mirrors this host's APT uses, else deb.debian.org.

    A center that set up a domestic mirror for its servers gets the same mirror in its
    images without configuring it twice.
    """
    mirror, security = DEFAULT_MIRROR, DEFAULT_SECURITY_MIRROR
    found_main = found_security = False
    for path in sources:
        if not path.is_file():
            continue
        for uri, suites in _apt_entries(path.read_text(errors="replace")):
            if f"{DEBIAN_SUITE}-security" in suites and not found_security:
                security, found_security = uri, True
            elif DEBIAN_SUITE in suites and not found_main:
                mirror, found_main = uri, True
    return mirror, security


def _apt_entries(text: str) -> list[tuple[str, list[str]]]:
    """(URI, suites) pairs from either one-line or deb822 APT source syntax."""
    entries: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 3 and words[0] == "deb":
            rest = [w for w in words[1:] if not w.startswith("[")]
            entries.append((rest[0].rstrip("/"), [rest[1]]))
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if ":" in line and not line.startswith((" ", "#")):
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
        if "deb" in fields.get("types", "").split() and "uris" in fields:
            for uri in fields["uris"].split():
                entries.append((uri.rstrip("/"), fields.get("suites", "").split()))
    return entries


def image_platforms() -> list[str]:
    """pip ``--platform`` tags for the image (pip does not expand manylinux tags itself)."""
    tags = [f"manylinux_2_{minor}_x86_64" for minor in range(IMAGE_GLIBC_MINOR, 4, -1)]
    return [*tags, "manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]


def run(command: Sequence[str], what: str, **kwargs: object) -> subprocess.CompletedProcess:
    """Run a build step, turning a failure into an :class:`ImageBuildError` naming the step."""
    print(f"[aiclass images] {what}: {' '.join(command)}", flush=True)
    try:
        return subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]
    except FileNotFoundError as error:
        raise ImageBuildError(f"{what}: 找不到命令 / command not found: {command[0]}") from error
    except subprocess.CalledProcessError as error:
        raise ImageBuildError(
            f"{what} 失败 / failed (exit {error.returncode}): {' '.join(command)}"
        ) from error


class ImageBuilder:
    """Builds the base image, the wheelhouse and each image recipe with the Docker CLI."""

    def __init__(
        self,
        options: BuildOptions,
        docker: str = "docker",
        work_dir: Path = BUILD_DIR,
        locks: Path = LOCKS,
    ) -> None:
        self.options = options
        self.docker = docker
        #: Where the builder's own wheels, pip reports and constraints go (tests use their own).
        self.work_dir = work_dir
        self.locks = locks

    def image_exists(self, tag: str) -> bool:
        """Whether the engine already holds ``tag``."""
        result = subprocess.run(
            [self.docker, "image", "inspect", tag], capture_output=True, check=False
        )
        return result.returncode == 0

    def image_id(self, tag: str) -> str:
        """The content id of ``tag`` (equal ids mean every layer was reused)."""
        result = run(
            [self.docker, "image", "inspect", "--format", "{{.Id}}", tag],
            f"inspect {tag}",
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def build(self, names: Sequence[str]) -> list[str]:
        """Build the named images (and the base if missing); return their tags."""
        all_recipes = recipes()
        unknown = [n for n in names if n not in all_recipes]
        if unknown:
            raise ImageBuildError(
                f"未知镜像 / unknown image: {', '.join(unknown)} "
                f"(可选 / choose from: {', '.join(all_recipes)})"
            )
        if not RECIPES.is_dir():
            raise ImageBuildError(
                f"{RECIPES} 不存在：请在源码目录中构建 / build from a source checkout"
            )
        self.build_base()
        return [self.build_image(all_recipes[name]) for name in names]

    def build_base(self) -> str:
        """Import a minimal Debian made by debootstrap, unless the tag already exists."""
        tag = self.options.tag("base")
        if self.image_exists(tag):
            print(f"[aiclass images] {tag} exists, reusing it", flush=True)
            return tag
        if shutil.which("debootstrap") is None:
            raise ImageBuildError(
                "需要 debootstrap：apt-get install debootstrap / debootstrap is required"
            )
        with tempfile.TemporaryDirectory(prefix="aiclass-rootfs-", dir="/var/tmp") as tmp:
            rootfs = Path(tmp) / "rootfs"
            run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    "--include=ca-certificates",
                    DEBIAN_SUITE,
                    str(rootfs),
                    self.options.apt_mirror,
                ],
                "debootstrap",
            )
            self._configure_rootfs(rootfs)
            tar = subprocess.Popen(
                ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
                stdout=subprocess.PIPE,
            )
            run(
                [
                    self.docker,
                    "import",
                    "--change",
                    "ENV LANG=C.UTF-8",
                    "--change",
                    'CMD ["/bin/bash"]',
                    "-",
                    tag,
                ],
                "docker import",
                stdin=tar.stdout,
            )
            if tar.wait() != 0:
                raise ImageBuildError(f"tar of {rootfs} failed (exit {tar.returncode})")
        return tag

    def _configure_rootfs(self, rootfs: Path) -> None:
        """Point APT at the configured mirror and keep later layers small."""
        options = self.options
        (rootfs / "etc/apt/sources.list").write_text(
            f"deb {options.apt_mirror} {DEBIAN_SUITE} main\n"
            f"deb {options.apt_mirror} {DEBIAN_SUITE}-updates main\n"
            f"deb {options.apt_security_mirror} {DEBIAN_SUITE}-security main\n"
        )
        (rootfs / "etc/apt/apt.conf.d/90aiclass").write_text(
            'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
            'Acquire::Languages "none";\n'
        )
        (rootfs / "etc/dpkg/dpkg.cfg.d/90aiclass-nodoc").write_text(
            "path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\n"
            "path-exclude=/usr/share/man/*\npath-exclude=/usr/share/info/*\n"
        )
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (rootfs / leftover).glob("*"):
                if item.is_file():
                    item.unlink()

    def build_image(self, recipe: ImageRecipe) -> str:
        """Assemble one image's build context and run ``docker build`` on it."""
        context = self.work_dir / "context" / recipe.name
        if context.exists():
            shutil.rmtree(context)
        shutil.copytree(RECIPES / recipe.recipe, context)
        for name in recipe.checkout_files:
            if (REPO_ROOT / name).is_dir():
                shutil.copytree(REPO_ROOT / name, context / name,
                                ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
            else:
                shutil.copy2(REPO_ROOT / name, context / name)
        local = self.local_wheels(recipe)
        self.wheelhouse(recipe, local, context / "wheels")
        (context / "local").mkdir()
        for wheel in local:
            os.link(wheel, context / "local" / wheel.name)
        normalise_modes(context)
        tag = self.options.tag(recipe.name)
        run(
            [
                self.docker,
                "build",
                "--network",
                "host",
                "--build-arg",
                f"BASE_IMAGE={self.options.tag('base')}",
                "--label",
                f"org.aiclass.version={self.options.version}",
                "--label",
                f"org.aiclass.image={recipe.name}",
                "-t",
                tag,
                str(context),
            ],
            f"docker build {tag}",
        )
        return tag

    def local_wheels(self, recipe: ImageRecipe) -> list[Path]:
        """Reproducible wheels of this checkout's own distributions for ``recipe``.

        Fixed timestamps and a fixed umask: a wheel records its files' modes, so a wheel built
        from a shell with a stricter umask would otherwise differ and miss the build cache.
        """
        out = self.work_dir / "local-wheels" / recipe.name
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        env = {**os.environ, "SOURCE_DATE_EPOCH": REPRODUCIBLE_EPOCH}
        for directory in recipe.local_distributions:
            run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "wheel",
                    "--quiet",
                    "--no-deps",
                    "--no-build-isolation",
                    "--wheel-dir",
                    str(out),
                    str(REPO_ROOT / directory),
                ],
                f"wheel {directory}",
                env=env,
                umask=0o022,
            )
        return sorted(out.glob("*.whl"))

    def requirements(self, recipe: ImageRecipe, local: Sequence[Path]) -> list[str]:
        """What pip resolves for the image: the local wheels, the recipe's extras, and torch.

        torch comes from the ``[docker]`` settings rather than the extra, so that the student
        and student-gpu images share one recipe and differ only in that wheel.
        """
        wanted: list[str] = [str(w) for w in local]
        wanted += [r for r in project_requirements(recipe.extras) if Requirement(r).name != "torch"]
        if recipe.torch == "cpu":
            wanted.append(self.options.cpu_torch)
        elif recipe.torch == "gpu":
            wanted.append(self.options.gpu_torch)
        return wanted

    def _pip_target(self) -> list[str]:
        """pip options that select wheels for the image's Python and platform, not the host's.

        Everything else (index, mirror, find-links, certificates) comes from the user's own
        pip configuration, so a center's domestic PyPI mirror is used as configured.
        """
        target = [
            "--only-binary=:all:",
            "--python-version",
            IMAGE_PYTHON,
            "--implementation",
            "cp",
            "--abi",
            f"cp{IMAGE_PYTHON.replace('.', '')}",
        ]
        for platform in image_platforms():
            target += ["--platform", platform]
        return target

    def resolve(
        self, recipe: ImageRecipe, local: Sequence[Path], constraints: Path | None = None
    ) -> dict[str, ResolvedWheel]:
        """The wheels the image needs, by normalised name: pip's resolution, pruned.

        pip resolves once with ``--dry-run --report`` for the image's Python and platform;
        the recipe's exclusions and whatever only they need are then dropped, and so are the
        local wheels, which are installed on their own.
        """
        report_path = self.work_dir / f"resolve-{recipe.name}.json"
        report_path.parent.mkdir(parents=True, exist_ok=True)
        constrained = ["--constraint", str(constraints)] if constraints else []
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--ignore-installed",
                "--quiet",
                "--report",
                str(report_path),
                *self._pip_target(),
                *constrained,
                *self.requirements(recipe, local),
            ],
            f"resolve wheels for {recipe.name}",
        )
        report = json.loads(report_path.read_text())
        local_names = {_dist_name(w.name) for w in local}
        return {
            _normalise(item["metadata"]["name"]): ResolvedWheel(
                name=item["metadata"]["name"],
                version=item["metadata"]["version"],
                sha256=item["download_info"]["archive_info"]["hashes"]["sha256"],
                filename=_url_filename(item["download_info"]["url"]),
            )
            for item in needed_items(report, {_normalise(n) for n in recipe.excluded})
            if _normalise(item["metadata"]["name"]) not in local_names
        }

    def lock(self, recipe: ImageRecipe) -> Path:
        """Resolve ``recipe`` afresh and write its lock (``images/locks/<name>.txt``)."""
        resolved = self.resolve(recipe, self.local_wheels(recipe))
        path = self.lock_path(recipe)
        path.parent.mkdir(parents=True, exist_ok=True)
        header = (
            f"# aiclass/{recipe.name} 的依赖锁 / the lock of aiclass/{recipe.name}: every wheel "
            "its build installs.\n"
            "# 由 `aiclass images lock` 生成，请勿手改 / written by `aiclass images lock`; "
            "do not edit.\n"
        )
        path.write_text(header + "".join(w.lock_line() + "\n" for w in sorted_wheels(resolved)))
        return path

    def lock_path(self, recipe: ImageRecipe) -> Path:
        """Where ``recipe``'s lock is committed: ``images/locks/<name>.txt``."""
        return self.locks / f"{recipe.name}.txt"

    def locked_resolution(
        self, recipe: ImageRecipe, local: Sequence[Path]
    ) -> dict[str, ResolvedWheel]:
        """The image's wheels, resolved under its lock; refused if they drift from it.

        The lock is given to pip as constraints, so pip picks the locked versions; a package
        the lock lacks or no longer needs, or a wheel whose bytes differ (another mirror, a
        rebuilt release), means the lock no longer describes the image, and the build stops.
        """
        path = self.lock_path(recipe)
        if not path.is_file():
            raise ImageBuildError(
                f"{path} 不存在：请运行 aiclass images lock --only {recipe.name} 并提交 / "
                f"missing: run `aiclass images lock --only {recipe.name}` and commit it"
            )
        locked = read_lock(path)
        constraints = self.work_dir / f"constraints-{recipe.name}.txt"
        constraints.parent.mkdir(parents=True, exist_ok=True)
        constraints.write_text("".join(f"{w.name}=={w.version}\n" for w in locked.values()))
        try:
            resolved = self.resolve(recipe, local, constraints)
        except ImageBuildError as error:
            raise ImageBuildError(
                f"{error}\n锁文件 {path} 已不满足依赖 / the lock no longer satisfies the "
                f"requirements: run `aiclass images lock --only {recipe.name}`"
            ) from error
        drift = lock_drift(locked, resolved)
        if drift:
            raise ImageBuildError(
                f"镜像 {recipe.name} 的依赖与锁文件 {path} 不符 / the resolved wheels differ "
                f"from the lock:\n  " + "\n  ".join(drift) + "\n"
                f"请运行 / run `aiclass images lock --only {recipe.name}`, review and commit"
            )
        return resolved

    def wheelhouse(self, recipe: ImageRecipe, local: Sequence[Path], into: Path) -> None:
        """Link into ``into`` exactly the locked wheels, downloading (cached) what is missing.

        Every file is checked against the lock's sha256 before it enters the build context,
        and the image installs them with ``--require-hashes`` as well.
        """
        into.mkdir(parents=True)
        if not recipe.extras and not local:
            (into / "requirements.txt").write_text("")
            return
        resolved = self.locked_resolution(recipe, local)
        cache = BUILD_DIR / "wheelhouse"
        cache.mkdir(parents=True, exist_ok=True)
        lock_file = self.lock_path(recipe)
        if any(not (cache / w.filename).exists() for w in resolved.values()):
            run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--require-hashes",
                    "--progress-bar",
                    "off",
                    "--dest",
                    str(cache),
                    *self._pip_target(),
                    "-r",
                    str(lock_file),
                ],
                f"download wheels for {recipe.name}",
            )
        for wheel in sorted_wheels(resolved):
            path = cache / wheel.filename
            if not path.exists():
                raise ImageBuildError(f"下载后仍缺少 / still missing after download: {path.name}")
            if _sha256(path) != wheel.sha256:
                raise ImageBuildError(
                    f"{path} 与锁文件的 sha256 不符 / does not match the lock's sha256: "
                    "delete it and build again"
                )
            os.link(path, into / path.name)
        (into / "requirements.txt").write_text(lock_file.read_text())


@dataclass(frozen=True)
class ResolvedWheel:
    """One wheel of an image: what the lock pins and the file that carries it."""

    name: str
    version: str
    sha256: str
    filename: str = ""

    def lock_line(self) -> str:
        """The wheel as a pip requirement line with its hash."""
        return f"{self.name}=={self.version} --hash=sha256:{self.sha256}"


def project_requirements(extras: Iterable[str]) -> list[str]:
    """The requirement strings of these ``pyproject.toml`` extras, in order, without repeats."""
    with (REPO_ROOT / "pyproject.toml").open("rb") as f:
        optional = tomllib.load(f)["project"]["optional-dependencies"]
    found: list[str] = []
    for extra in extras:
        found += [r for r in optional[extra] if r not in found]
    return found


def needed_items(report: dict, excluded: set[str]) -> list[dict]:
    """The items of a pip report that the requested ones need without passing an exclusion.

    pip has no way to leave a declared dependency out, so the report's graph is walked from
    the requested distributions through each one's ``Requires-Dist`` (markers evaluated for
    the image's Python, extras followed), stopping at excluded names.
    """
    items = {_normalise(item["metadata"]["name"]): item for item in report["install"]}
    environment = {**report["environment"], "python_version": IMAGE_PYTHON}
    pending = [
        (_normalise(item["metadata"]["name"]), frozenset(item.get("requested_extras") or ()))
        for item in report["install"]
        if item["requested"]
    ]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        name, extras = pending.pop()
        if name in excluded or name not in items or (name, extras) in seen:
            continue
        seen.add((name, extras))
        for line in items[name]["metadata"].get("requires_dist", []):
            requirement = Requirement(line)
            marker = requirement.marker
            if marker and not any(
                marker.evaluate({**environment, "extra": extra}) for extra in extras or {""}
            ):
                continue
            pending.append((_normalise(requirement.name), frozenset(requirement.extras)))
    return [items[name] for name in sorted({name for name, _ in seen})]


def read_lock(path: Path) -> dict[str, ResolvedWheel]:
    """A lock file's wheels by normalised name; a line that is not ``name==version --hash``
    is an error naming the file and line."""
    wheels: dict[str, ResolvedWheel] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        words = line.split()
        pin, _, version = words[0].partition("==")
        if len(words) != 2 or not version or not words[1].startswith("--hash=sha256:"):
            raise ImageBuildError(
                f"{path} 第 {number} 行无法识别 / line {number} is not "
                f"`name==version --hash=sha256:…`: {line}"
            )
        wheels[_normalise(pin)] = ResolvedWheel(pin, version, words[1].split(":", 1)[1])
    return wheels


def lock_drift(locked: dict[str, ResolvedWheel], resolved: dict[str, ResolvedWheel]) -> list[str]:
    """How a resolution differs from a lock, one line per wheel (empty when they agree)."""
    drift = []
    for key in sorted(locked.keys() | resolved.keys()):
        lock, now = locked.get(key), resolved.get(key)
        if now is None:
            drift.append(f"- {lock.name}=={lock.version}: 已不需要 / locked, no longer needed")
        elif lock is None:
            drift.append(f"+ {now.name}=={now.version}: 未锁定 / needed, not in the lock")
        elif (lock.version, lock.sha256) != (now.version, now.sha256):
            drift.append(
                f"~ {now.name}: 锁定 / locked {lock.version} sha256:{lock.sha256[:12]}…, "
                f"解析为 / resolved {now.version} sha256:{now.sha256[:12]}…"
            )
    return drift


def sorted_wheels(wheels: dict[str, ResolvedWheel]) -> list[ResolvedWheel]:
    """Wheels in a stable order (by normalised name), as locks list them."""
    return [wheels[key] for key in sorted(wheels)]


def normalise_modes(context: Path) -> None:
    """Give every file in ``context`` mode 644 (755 if executable) and every folder 755.

    Docker's build cache keys include file modes, and the modes of what this builder writes
    follow the caller's umask: without this, an administrator whose shell has ``umask 077``
    would rebuild every layer that another shell had cached.
    """
    context.chmod(0o755)
    for path in context.rglob("*"):
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod(0o755 if path.stat().st_mode & 0o111 else 0o644)


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _dist_name(wheel_filename: str) -> str:
    return _normalise(wheel_filename.split("-", 1)[0])


def _url_filename(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def build_options(data_dir: Path = Path("aiclass-data")) -> BuildOptions:
    """Build options from the ``[docker]`` settings, with this host's APT mirrors by default."""
    docker_settings = load_settings(data_dir).docker
    mirror, security = host_debian_mirrors()
    return BuildOptions(
        version=project_version(),
        registry_prefix=docker_settings.registry_prefix,
        apt_mirror=docker_settings.apt_mirror or mirror,
        apt_security_mirror=docker_settings.apt_security_mirror or security,
        cpu_torch=docker_settings.cpu_torch,
        gpu_torch=docker_settings.gpu_torch,
    )
