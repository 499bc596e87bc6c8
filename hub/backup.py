"""Backups of a whole classroom, and their restore onto an empty data dir.

One backup set holds everything a center would miss after losing its disk: the service
database (organisation, exchange, gradebook, reports), JupyterHub's own database, the
settings file, the students' homes and the exchange's content store. Cookie secrets and
service tokens are not in it: the hub makes new ones, and people sign in again.

Layout of a backup folder ``DEST`` (many sets, one store of blobs)::

    DEST/blobs/ab/abcd…            exchange blobs, shared by every set
    DEST/sets/<UTC time>/manifest.json
    DEST/sets/<UTC time>/aiclass.toml, service.*, hub.*, homes/<user or volume>.tar

Consistency while the hub runs: the databases are snapshot first (SQLite through its
online backup API, PostgreSQL through ``pg_dump``, each a single transaction's view), then
the blobs are copied. A row is committed only after every blob it names is on disk, and
blobs are immutable and named by their SHA-256, so every blob the snapshot names is
already there when it is copied; a blob is swept only when no row has named it for the
grace period, far longer than a backup. Blobs already in ``DEST/blobs`` are not copied
again (their name is their checksum), so a nightly backup copies only the day's new work.
Homes are read last, file by file: a notebook being saved at that second may be the
previous save, as after a power cut.

Every file of a set is listed in its manifest with its SHA-256; restore checks all of
them, and every blob the set needs, before it writes anything, and refuses a damaged
backup naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import make_url

from grading.exchange.content_store import BLOBS_IN_DATA_DIR, ContentStore
from hub.db import ServiceDatabase
from hub.home_volumes import archive_volume, existing_volumes, home_volumes, restore_volume
from hub.images import image_reference
from hub.org.models import Person
from hub.settings import SETTINGS_FILE_NAME, Settings, load_settings

FORMAT = 1
MANIFEST = "manifest.json"
BLOBS = "blobs"
SETS = "sets"
HOMES = "homes"


class BackupError(Exception):
    """A backup that cannot be made, or a backup set that is damaged or cannot be restored."""


@dataclass(frozen=True)
class BackupSummary:
    """What a backup or a restore did, for the command line and the benchmark."""

    set_dir: Path
    files: int
    blobs: int
    new_blobs: int
    bytes_written: int


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in chunks (blobs and dumps can be large)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# -- databases ---------------------------------------------------------------------------

def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database:
        raise BackupError(f"{url}: 不是 SQLite 文件 / not a SQLite file")
    return Path(database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A ``pg_dump``/``pg_restore`` URL without the password, and the environment with it.

    The password goes through ``PGPASSWORD`` so that it never shows in a process list.
    """
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BackupError(f"{argv[0]}: 未安装 PostgreSQL 客户端 / the PostgreSQL client is not "
                          "installed (apt-get install postgresql-client)") from exc
    if done.returncode:
        raise BackupError(f"{what}: {done.stderr.strip()}")


def dump_database(url: str, stem: Path) -> Path | None:
    """Snapshot one database into ``stem.sqlite`` or ``stem.pgdump``; return the file.

    ``None`` for a SQLite database not made yet (a hub never started has no JupyterHub
    database).
    """
    if url.startswith("sqlite"):
        source = _sqlite_path(url)
        target = stem.with_suffix(".sqlite")
        if not source.exists():
            return None
        with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(target)) as copy:
            live.backup(copy)  # one consistent snapshot; writers go on meanwhile
        return target
    target = stem.with_suffix(".pgdump")
    dsn, env = _libpq(url)
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", f"--dbname={dsn}"],
         env, f"pg_dump {make_url(url).database}")
    return target


def refuse_if_not_empty(url: str, what: str) -> None:
    """Refuse a restore target that already holds a database (nothing is overwritten)."""
    if url.startswith("sqlite"):
        target = _sqlite_path(url)
        if target.exists():
            raise BackupError(f"{what} ({target}): 数据库已存在，拒绝覆盖 / the database "
                              "exists; restore onto an empty data dir")
        return
    engine = create_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError(f"{what} ({make_url(url).render_as_string()}): 数据库不是空的，"
                          f"拒绝覆盖 / the database is not empty ({len(tables)} tables); "
                          "restore onto an empty one")


def load_database(dump: Path, url: str, what: str) -> None:
    """Restore one snapshot into the database at ``url`` (checked empty beforehand)."""
    if url.startswith("sqlite"):
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(dump)) as source, closing(sqlite3.connect(target)) as live:
            source.backup(live)
        return
    dsn, env = _libpq(url)
    _run(["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction",
          f"--dbname={dsn}", str(dump)], env, f"pg_restore {what}")


# -- homes -------------------------------------------------------------------------------

def _home_dirs(settings: Settings) -> Iterator[tuple[str, Path]]:
    homes = settings.data_dir / HOMES
    if homes.is_dir():
        for home in sorted(homes.iterdir()):
            if home.is_dir() and not home.is_symlink():
                yield home.name, home


def _helper_image(settings: Settings) -> str:
    return image_reference("student", settings.docker.registry_prefix)


def _usernames(settings: Settings) -> list[str]:
    """Everyone on this hub's roster, whose homes the backup holds."""
    with ServiceDatabase(settings.database_url).session() as session:
        return list(session.scalars(select(Person.username)))


def _archive_homes(settings: Settings, target: Path) -> list[Path]:
    """One tar per home, owners, modes and times kept: ``<data>/homes/<user>`` in local
    mode, each home volume in docker mode (``hub.home_volumes``)."""
    target.mkdir()
    archives = []
    if settings.hub.mode == "docker":
        for volume in home_volumes(settings.docker.home_volume, _usernames(settings)):
            archive_volume(_helper_image(settings), volume, target / f"{volume}.tar")
            archives.append(target / f"{volume}.tar")
        return archives
    for name, home in _home_dirs(settings):
        archive = target / f"{name}.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(home, arcname=name)
        archives.append(archive)
    return archives


def _unsafe(member: tarfile.TarInfo, home: str, links: set[str]) -> str | None:
    """Why tar must not unpack ``member`` of ``home``'s archive, or ``None``.

    Python 3.11.2 has no extraction filters, so this is the check they make: inside the
    home, no ``..``, no device, no hard link leaving the home, nothing written through a
    symbolic link (which may point anywhere: students make them).
    """
    path = Path(member.name)
    if path.is_absolute() or ".." in path.parts or path.parts[0] != home:
        return "不在该学生的主目录中 / outside this student's home"
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        return "不是普通文件 / not a regular file"
    if any(str(parent) in links for parent in path.parents):
        return "经由符号链接写入 / written through a symbolic link"
    if member.islnk():
        target = Path(member.linkname)
        if target.is_absolute() or ".." in target.parts or target.parts[0] != home:
            return "硬链接指向主目录之外 / hard link out of the home"
    return None


def _home_members(archive: Path, tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The members of one home's archive, refused whole if any is unsafe; no set-id bits."""
    home, links, members = archive.stem, set(), []
    for member in tar:
        problem = _unsafe(member, home, links)
        if problem is not None:
            raise BackupError(f"{archive}: {member.name!r} {problem}")
        if member.issym():
            links.add(member.name)
        member.mode &= 0o1777
        members.append(member)
    return members


def _check_home_archive(archive: Path) -> None:
    """Refuse a home's archive before anything is restored (a forged one with its
    manifest line recomputed is refused whole rather than half unpacked)."""
    try:
        with tarfile.open(archive) as tar:
            _home_members(archive, tar)
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{archive}: 归档无法读取 / the archive cannot be read: "
                          f"{exc}") from exc


def _unpack_homes(source: Path, data_dir: Path) -> None:
    homes = data_dir / HOMES
    homes.mkdir(parents=True, exist_ok=True)
    for archive in sorted(source.glob("*.tar")):
        with tarfile.open(archive) as tar:
            tar.extractall(homes, members=_home_members(archive, tar))


# -- the set -----------------------------------------------------------------------------

def _blob_store(settings: Settings) -> ContentStore:
    return ContentStore(settings.data_dir / BLOBS_IN_DATA_DIR)


def _copy_new_blobs(source: ContentStore, target: ContentStore) -> tuple[list[str], int]:
    """Copy the blobs ``target`` lacks; return every blob's name and how many were new."""
    names, new = [], 0
    for name in source.names():
        names.append(name)
        copy = target.path(name)
        if copy.exists():
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        partial = copy.with_name(copy.name + ".partial")
        shutil.copyfile(source.path(name), partial)
        partial.rename(copy)
        new += 1
    return names, new


def backup(settings: Settings, destination: Path) -> BackupSummary:
    """Write one backup set of the classroom at ``settings`` under ``destination``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    set_dir = destination / SETS / stamp
    set_dir.mkdir(parents=True)
    dumps = (dump_database(settings.database_url, set_dir / "service"),
             dump_database(settings.hub_database_url, set_dir / "hub"))
    files = [dump for dump in dumps if dump is not None]
    blobs, new = _copy_new_blobs(_blob_store(settings), ContentStore(destination / BLOBS))
    settings_file = settings.data_dir / SETTINGS_FILE_NAME
    if settings_file.exists():
        shutil.copy2(settings_file, set_dir / SETTINGS_FILE_NAME)
        files.append(set_dir / SETTINGS_FILE_NAME)
    files += _archive_homes(settings, set_dir / HOMES)
    manifest = {
        "format": FORMAT,
        "created_at": stamp,
        "mode": settings.hub.mode,
        "files": {str(f.relative_to(set_dir)): file_sha256(f) for f in files},
        "blobs": blobs,
    }
    (set_dir / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    written = sum(f.stat().st_size for f in files)
    return BackupSummary(set_dir, len(files), len(blobs), new, written)


def latest_set(source: Path) -> Path:
    """``source`` itself when it is a set, else the newest set under ``source/sets``."""
    if (source / MANIFEST).exists():
        return source
    sets = sorted(p for p in (source / SETS).glob("*") if (p / MANIFEST).exists())
    if not sets:
        raise BackupError(f"{source}: 没有备份 / no backup set here ({MANIFEST} not found)")
    return sets[-1]


def _set_blobs(set_dir: Path) -> ContentStore:
    """The blobs a set names, in the backup folder's store that every set shares."""
    return ContentStore(set_dir.parent.parent / BLOBS)


def verify(set_dir: Path) -> dict:
    """Check every file and blob of a set against its manifest; return the manifest.

    Raises :class:`BackupError` naming the first file that is missing, changed or extra
    (a file nobody listed could be a planted one).
    """
    try:
        manifest = json.loads((set_dir / MANIFEST).read_text(encoding="utf-8"))
        listed: dict[str, str] = manifest["files"]
        blobs: list[str] = manifest["blobs"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{set_dir / MANIFEST}: 清单损坏 / the manifest is damaged: "
                          f"{exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{set_dir / MANIFEST}: 未知的备份格式 / unknown backup format "
                          f"{manifest.get('format')!r}")
    present = {str(p.relative_to(set_dir)) for p in set_dir.rglob("*") if p.is_file()}
    for extra in sorted(present - set(listed) - {MANIFEST}):
        raise BackupError(f"{set_dir / extra}: 清单中没有此文件 / not in the manifest")
    for name, expected in sorted(listed.items()):
        path = set_dir / name
        if Path(name).is_absolute() or ".." in Path(name).parts or not path.is_file():
            raise BackupError(f"{path}: 文件缺失 / file missing")
        if file_sha256(path) != expected:
            raise BackupError(f"{path}: 校验和不符，备份已损坏 / checksum mismatch, the "
                              "backup is damaged")
    for name in listed:
        if Path(name).parent == Path(HOMES):
            _check_home_archive(set_dir / name)
    stored = _set_blobs(set_dir)
    for blob in blobs:
        try:
            path = stored.path(blob)
        except ValueError as exc:
            raise BackupError(f"{set_dir / MANIFEST}: {exc}") from exc
        if not path.is_file():
            raise BackupError(f"{path}: 文件缺失 / blob missing")
        if file_sha256(path) != blob:
            raise BackupError(f"{path}: 校验和不符，备份已损坏 / checksum mismatch, the "
                              "backup is damaged")
    return manifest


def _dump_of(set_dir: Path, manifest: dict, stem: str) -> Path | None:
    for suffix in (".sqlite", ".pgdump"):
        if f"{stem}{suffix}" in manifest["files"]:
            return set_dir / f"{stem}{suffix}"
    return None


def restore(source: Path, data_dir: Path) -> BackupSummary:
    """Restore a backup set (or the newest under ``source``) onto an empty data dir.

    The databases go where the backed-up settings file says (``[database] url`` and
    ``hub_url``). Everything that could refuse is checked before anything is written:
    every file and blob against the manifest, the data dir empty, each database absent
    or without tables.
    """
    set_dir = latest_set(source)
    manifest = verify(set_dir)
    if data_dir.exists() and any(data_dir.iterdir()):
        raise BackupError(f"{data_dir}: 数据目录不是空的，拒绝覆盖 / the data dir is not "
                          "empty; restore onto an empty one")
    settings = replace(load_settings(set_dir), data_dir=data_dir.resolve())
    databases = [(dump, url, what) for dump, url, what in (
        (_dump_of(set_dir, manifest, "service"), settings.database_url,
         "服务数据库 / service database"),
        (_dump_of(set_dir, manifest, "hub"), settings.hub_database_url,
         "JupyterHub 数据库 / JupyterHub database")) if dump is not None]
    for _dump, url, what in databases:
        refuse_if_not_empty(url, what)
    volumes = sorted(p.stem for p in (set_dir / HOMES).glob("*.tar"))
    if settings.hub.mode == "docker" and (taken := existing_volumes(volumes)):
        raise BackupError(f"{', '.join(taken)}: 主目录卷已存在，拒绝覆盖 / home volumes "
                          "exist; restore onto fresh volumes")
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    if SETTINGS_FILE_NAME in manifest["files"]:
        shutil.copy2(set_dir / SETTINGS_FILE_NAME, data_dir / SETTINGS_FILE_NAME)
    for dump, url, what in databases:
        load_database(dump, url, what)
    store, stored = _blob_store(settings), _set_blobs(set_dir)
    for blob in manifest["blobs"]:
        target = store.path(blob)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stored.path(blob), target)
    if settings.hub.mode == "docker":
        for volume in volumes:
            restore_volume(_helper_image(settings), volume, set_dir / HOMES / f"{volume}.tar")
    else:
        _unpack_homes(set_dir / HOMES, data_dir)
    written = sum((set_dir / name).stat().st_size for name in manifest["files"])
    return BackupSummary(set_dir, len(manifest["files"]), len(manifest["blobs"]),
                         len(manifest["blobs"]), written)


def describe(summary: BackupSummary) -> str:
    """One line for the command line."""
    return (f"{summary.set_dir}: {summary.files} 个文件 / files, {summary.blobs} 个内容块 / "
            f"blobs ({summary.new_blobs} 新 / new), {summary.bytes_written} 字节 / bytes")
