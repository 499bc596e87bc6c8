"""The zip archives the exchange moves over HTTP, and the checks an upload must pass.

An upload is untrusted: its entry names may climb out of the assignment folder,
name a symlink, repeat, or hide a zip bomb; a ``.ipynb`` may not be a notebook.
:func:`unpack` checks everything before anything is stored, and refuses with a
message that names the offending file. A zip bomb (kilobytes that inflate to
gigabytes) is refused twice over: first from the sizes the archive declares,
before a byte is inflated, then while inflating, a chunk at a time, because
declared sizes are the attacker's to write; either way no more than the limits
(total, per file, and :attr:`ArchiveLimits.max_ratio` times the upload) is ever
held in memory.
"""

from __future__ import annotations

import io
import json
import stat
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from nbformat import ValidationError
from nbformat.validator import get_validator

from grading.exchange.errors import ExchangeRefused

SKIPPED_PARTS = frozenset({".ipynb_checkpoints", "__pycache__"})
MIB = 1024 * 1024
RATIO_FLOOR = MIB
"""Archives that inflate to less than this are never refused for their ratio."""
CHUNK = 256 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """How much one upload may hold; the caller's settings decide (the hub's ``[service]``)."""

    max_total_bytes: int
    max_file_bytes: int
    max_files: int
    max_ratio: int = 100
    """How many times its own size an archive may inflate to (beyond :data:`RATIO_FLOOR`):
    notebooks deflate three to ten times, a zip bomb a thousand times."""

    def inflated_limit(self, archive_bytes: int) -> int:
        """The most an archive of ``archive_bytes`` may inflate to."""
        return min(self.max_total_bytes, max(RATIO_FLOOR, self.max_ratio * archive_bytes))


def check_relative_path(name: str) -> str:
    """Return ``name`` normalised if it stays inside the folder, else refuse."""
    if (not name or "\\" in name or "\x00" in name or name.startswith("/")
            or ":" in PurePosixPath(name).parts[0]):
        raise ExchangeRefused("bad_path", f"文件路径不允许：{name!r}",
                              f"file path not allowed: {name!r}")
    parts = PurePosixPath(name).parts
    if any(part in ("", ".", "..") for part in parts) or ".." in name.split("/"):
        raise ExchangeRefused("bad_path", f"文件路径不能离开作业文件夹：{name!r}",
                              f"file path leaves the assignment folder: {name!r}")
    return "/".join(parts)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _with_cell_ids(content: dict) -> dict:
    """Add missing cell ids to a copy, as nbformat itself repairs them on reading.

    nbformat 4.5 made cell ids required; older tools still write 4.5 notebooks
    without them, and Jupyter opens those, so they are not refused here.
    """
    cells = content.get("cells")
    if not isinstance(cells, list) or all(isinstance(c, dict) and "id" in c for c in cells):
        return content
    repaired = [{"id": f"cell-{index}", **cell} if isinstance(cell, dict) else cell
                for index, cell in enumerate(cells)]
    return {**content, "cells": repaired}


def check_notebook(name: str, data: bytes) -> None:
    """Refuse a ``.ipynb`` that is not a valid Jupyter notebook (nbformat 4's schema).

    The schema is checked with ``fastjsonschema``: some thirty times faster than
    ``jsonschema``, which matters when a class submits at once.
    """
    try:
        content = json.loads(data.decode("utf-8"))
        if not isinstance(content, dict) or content.get("nbformat") != 4:
            raise ValueError("not an nbformat 4 notebook")
        minor = content.get("nbformat_minor")
        validator = get_validator(version=4, version_minor=minor if isinstance(minor, int)
                                  else 5, name="fastjsonschema")
        if validator is None:
            raise ValueError(f"unknown nbformat minor version {minor!r}")
        validator.validate(_with_cell_ids(content))
    except (UnicodeDecodeError, ValueError, ValidationError) as exc:
        raise ExchangeRefused(
            "bad_notebook", f"{name} 不是有效的 Jupyter 笔记本", f"{name} is not a valid "
            f"Jupyter notebook ({type(exc).__name__})",
        ) from exc


def unpack(data: bytes, limits: ArchiveLimits, *, notebooks_required: bool = True
           ) -> dict[str, bytes]:
    """Check an uploaded zip and return its files by relative path."""
    if len(data) > limits.max_total_bytes + MIB:
        raise _too_large(limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ExchangeRefused("bad_archive", "上传的内容不是有效的 zip 压缩包",
                              "the upload is not a valid zip archive") from exc
    members = _members(infos, limits)
    inflated_limit = limits.inflated_limit(len(data))
    declared = sum(info.file_size for _path, info in members)
    if declared > inflated_limit and inflated_limit < limits.max_total_bytes:
        raise _inflates_too_much(inflated_limit, limits)
    for path, info in members:
        if info.file_size > limits.max_file_bytes:
            raise _file_too_large(path, limits)
    if declared > inflated_limit:
        raise _too_large(limits)
    files: dict[str, bytes] = {}
    total = 0
    for path, info in members:
        content = bytearray()
        try:
            with archive.open(info) as stream:
                while chunk := stream.read(CHUNK):
                    content += chunk
                    total += len(chunk)
                    if len(content) > limits.max_file_bytes:
                        raise _file_too_large(path, limits)
                    if total > inflated_limit:
                        raise _inflates_too_much(inflated_limit, limits)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise ExchangeRefused("bad_archive", f"压缩包中的 {path!r} 已损坏",
                                  f"{path!r} in the archive is damaged") from exc
        if path.endswith(".ipynb"):
            check_notebook(path, bytes(content))
        files[path] = bytes(content)
    if notebooks_required and not any(path.endswith(".ipynb") for path in files):
        raise ExchangeRefused("no_notebooks", "上传的内容中没有笔记本（.ipynb）",
                              "the upload holds no notebook (.ipynb)")
    return files


def _members(infos: list[zipfile.ZipInfo], limits: ArchiveLimits
             ) -> list[tuple[str, zipfile.ZipInfo]]:
    """The entries to unpack with their checked paths (names, links, duplicates, count);
    :func:`unpack` checks their declared sizes next, still before inflating anything."""
    members: list[tuple[str, zipfile.ZipInfo]] = []
    seen: set[str] = set()
    for info in infos:
        if _is_symlink(info):
            raise ExchangeRefused("symlink", f"不允许提交符号链接：{info.filename!r}",
                                  f"symbolic links are not allowed: {info.filename!r}")
        if info.is_dir():
            continue
        path = check_relative_path(info.filename)
        if SKIPPED_PARTS.intersection(path.split("/")) or path.endswith(".pyc"):
            continue
        if path in seen:
            raise ExchangeRefused("bad_path", f"文件重复：{path!r}", f"duplicate file: {path!r}")
        if len(members) >= limits.max_files:
            raise ExchangeRefused("too_many_files", f"文件太多（最多 {limits.max_files} 个）",
                                  f"too many files (at most {limits.max_files})")
        seen.add(path)
        members.append((path, info))
    return members


_MEMBER_DATE = (1980, 1, 1, 0, 0, 0)


def pack(files: dict[str, bytes]) -> bytes:
    """A zip of ``files`` (relative path → content), the same bytes for the same files.

    Each member carries a fixed date rather than the clock's: a release is stored by the
    archive's hash, and the same files released twice (a retried request, a folder and its
    upload) must be recognised as the same release.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in sorted(files):
            member = zipfile.ZipInfo(path, date_time=_MEMBER_DATE)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            archive.writestr(member, files[path], compresslevel=1)
    return buffer.getvalue()


def _too_large(limits: ArchiveLimits) -> ExchangeRefused:
    limit = limits.max_total_bytes // MIB
    return ExchangeRefused("too_large", f"提交内容超过 {limit} MB 的上限",
                           f"the upload is over the {limit} MB limit")


def _file_too_large(path: str, limits: ArchiveLimits) -> ExchangeRefused:
    limit = limits.max_file_bytes // MIB
    return ExchangeRefused("file_too_large", f"文件 {path} 超过 {limit} MB 的上限",
                           f"file {path} is over the {limit} MB limit")


def _inflates_too_much(inflated_limit: int, limits: ArchiveLimits) -> ExchangeRefused:
    """Over the total limit, or (a smaller limit) over the ratio: a zip bomb."""
    if inflated_limit == limits.max_total_bytes:
        return _too_large(limits)
    return ExchangeRefused(
        "zip_bomb", f"压缩包解压后超过其大小的 {limits.max_ratio} 倍，疑似压缩炸弹，已拒绝",
        f"the archive inflates to over {limits.max_ratio} times its size: refused as a zip bomb")
