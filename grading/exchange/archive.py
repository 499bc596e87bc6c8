"""The zip archives the exchange moves over HTTP, and the checks an upload must pass.

An upload is untrusted: its entry names may climb out of the assignment folder,
name a symlink, repeat, or hide a zip bomb; a ``.ipynb`` may not be a notebook.
:func:`unpack` reads it entirely in memory, checks everything before anything is
stored, and refuses with a message that names the offending file.
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


@dataclass(frozen=True)
class ArchiveLimits:
    """How much one upload may hold; the caller's settings decide (the hub's ``[service]``)."""

    max_total_bytes: int
    max_file_bytes: int
    max_files: int


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
    files: dict[str, bytes] = {}
    total = 0
    for info in infos:
        if _is_symlink(info):
            raise ExchangeRefused("symlink", f"不允许提交符号链接：{info.filename!r}",
                                  f"symbolic links are not allowed: {info.filename!r}")
        if info.is_dir():
            continue
        path = check_relative_path(info.filename)
        if SKIPPED_PARTS.intersection(path.split("/")) or path.endswith(".pyc"):
            continue
        if path in files:
            raise ExchangeRefused("bad_path", f"文件重复：{path!r}", f"duplicate file: {path!r}")
        if len(files) >= limits.max_files:
            raise ExchangeRefused("too_many_files", f"文件太多（最多 {limits.max_files} 个）",
                                  f"too many files (at most {limits.max_files})")
        if info.file_size > limits.max_file_bytes:
            raise _file_too_large(path, limits)
        try:
            with archive.open(info) as stream:
                content = stream.read(limits.max_file_bytes + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise ExchangeRefused("bad_archive", f"压缩包中的 {path!r} 已损坏",
                                  f"{path!r} in the archive is damaged") from exc
        if len(content) > limits.max_file_bytes:
            raise _file_too_large(path, limits)
        total += len(content)
        if total > limits.max_total_bytes:
            raise _too_large(limits)
        if path.endswith(".ipynb"):
            check_notebook(path, content)
        files[path] = content
    if notebooks_required and not any(path.endswith(".ipynb") for path in files):
        raise ExchangeRefused("no_notebooks", "上传的内容中没有笔记本（.ipynb）",
                              "the upload holds no notebook (.ipynb)")
    return files


def pack(files: dict[str, bytes]) -> bytes:
    """A zip of ``files`` (relative path → content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in sorted(files):
            archive.writestr(path, files[path])
    return buffer.getvalue()


def _too_large(limits: ArchiveLimits) -> ExchangeRefused:
    limit = limits.max_total_bytes // MIB
    return ExchangeRefused("too_large", f"提交内容超过 {limit} MB 的上限",
                           f"the upload is over the {limit} MB limit")


def _file_too_large(path: str, limits: ArchiveLimits) -> ExchangeRefused:
    limit = limits.max_file_bytes // MIB
    return ExchangeRefused("file_too_large", f"文件 {path} 超过 {limit} MB 的上限",
                           f"file {path} is over the {limit} MB limit")
