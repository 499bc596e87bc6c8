"""Zip an assignment folder for upload, and unpack downloads safely into one.

Uploads never follow symbolic links (a link could point at another student's or the
system's files), and only files under the assignment folder are sent.
"""

from __future__ import annotations

import fnmatch
import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from nbgrader.exchange.abc.exchange import ExchangeError


def _ignored(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def zip_folder(folder: Path, ignore: list[str]) -> bytes:
    """The files under ``folder`` as a zip; a symbolic link is refused by name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for directory, subdirs, files in os.walk(folder):
            base = Path(directory)
            for name in list(subdirs):
                if (base / name).is_symlink():
                    raise _symlink_error(folder, base / name)
                if _ignored(name, ignore):
                    subdirs.remove(name)
            subdirs.sort()
            for name in sorted(files):
                path = base / name
                if path.is_symlink():
                    raise _symlink_error(folder, path)
                if not _ignored(name, ignore):
                    archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _symlink_error(folder: Path, path: Path) -> ExchangeError:
    name = path.relative_to(folder).as_posix()
    return ExchangeError(f"作业文件夹中不能有符号链接：{name}（symbolic links cannot be "
                         f"submitted: {name}）")


def safe_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The archive's files, refusing any name that would leave the target folder."""
    members = []
    for info in archive.infolist():
        parts = PurePosixPath(info.filename).parts
        if info.filename.startswith("/") or ".." in parts or "\\" in info.filename:
            raise ExchangeError(f"课堂服务返回了不安全的文件名（unsafe file name from the "
                                f"service）：{info.filename!r}")
        if not info.is_dir():
            members.append(info)
    return members


def unzip_into(data: bytes, destination: Path, *, only_missing: bool = False) -> list[str]:
    """Unpack a downloaded zip into ``destination`` atomically; return the paths written.

    A new folder is built beside the destination and renamed into place, so an
    interrupted download never leaves half an assignment.
    """
    archive = zipfile.ZipFile(io.BytesIO(data))
    members = safe_members(archive)
    if only_missing and destination.is_dir():
        written = []
        for info in members:
            target = destination / info.filename
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(info))
                written.append(info.filename)
        return written
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    try:
        for info in members:
            target = staging / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
        staging.chmod(0o755)
        os.replace(staging, destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [info.filename for info in members]
