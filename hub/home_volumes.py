"""Students' home volumes (docker mode) copied to tar archives and back, through the engine.

In docker mode the hub runs in a container and the homes live on named volumes whose
files are under no path the hub can see, and binding a path of the hub's container into
another container would name a host path that does not exist. So the files go through
the Docker SDK's archive API: a helper container of the student image (which every
docker-mode host has) is created with one volume mounted and never started, and
``get_archive``/``put_archive`` copy the volume's files through the engine, owners and
modes included. The helper has no network and runs nothing.

An archive holds one volume, its members named ``<volume>/…`` like a local-mode home's
``<user>/…``, so ``hub.backup`` checks both kinds the same way before restoring.
"""

from __future__ import annotations

import re
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

import docker
from docker.errors import NotFound

MOUNT = "aiclass-home"
"""Where the helper mounts the volume: a path the image lacks, so nothing is copied up."""


def volume_pattern(template: str) -> re.Pattern[str]:
    """The volume names ``[docker] home_volume`` (``aiclass-home-{username}``) makes."""
    before, _, after = template.partition("{username}")
    return re.compile(f"{re.escape(before)}.+{re.escape(after)}")


def home_volumes(template: str) -> list[str]:
    """Every students' home volume on the engine, by name."""
    pattern = volume_pattern(template)
    return sorted(v.name for v in docker.from_env().volumes.list()
                  if pattern.fullmatch(v.name))


def _renamed(member: tarfile.TarInfo, old: str, new: str) -> tarfile.TarInfo:
    # A non-ASCII name read from the engine's archive sits in a PAX header too, which
    # tarfile would write back instead of the new name.
    member.pax_headers = {k: v for k, v in member.pax_headers.items()
                          if k not in ("path", "linkpath")}
    for field in ("name", "linkname"):
        value = getattr(member, field)
        if field == "linkname" and not member.islnk():
            continue
        if value == old or value.startswith(f"{old}/"):
            setattr(member, field, new + value[len(old):])
    return member


def _rewrite(source: BinaryIO, target: BinaryIO, old: str, new: str) -> None:
    """Copy a tar, renaming its top directory ``old`` to ``new`` (hard links too)."""
    with tarfile.open(fileobj=source) as tar, tarfile.open(fileobj=target, mode="w") as out:
        for member in tar:
            data = tar.extractfile(member) if member.isfile() else None
            out.addfile(_renamed(member, old, new), data)


def _helper(client: docker.DockerClient, image: str, volume: str, mode: str):  # noqa: ANN202
    return client.containers.create(image, command=["true"], network_mode="none",
                                    labels={"aiclass.role": "backup-helper"},
                                    volumes={volume: {"bind": f"/{MOUNT}", "mode": mode}})


def archive_volume(image: str, volume: str, target: Path) -> None:
    """Write volume ``volume``'s files to ``target`` (``<volume>/…``)."""
    client = docker.from_env()
    helper = _helper(client, image, volume, "ro")
    try:
        stream, _stat = helper.get_archive(f"/{MOUNT}")
        with tempfile.TemporaryFile() as raw, target.open("wb") as out:
            for chunk in stream:
                raw.write(chunk)
            raw.seek(0)
            _rewrite(raw, out, MOUNT, volume)
    finally:
        helper.remove(force=True)


def existing_volumes(volumes: list[str]) -> list[str]:
    """Those of ``volumes`` the engine already has (a restore makes fresh ones only)."""
    client, found = docker.from_env(), []
    for volume in volumes:
        try:
            client.volumes.get(volume)
        except NotFound:
            continue
        found.append(volume)
    return found


def restore_volume(image: str, volume: str, archive: Path) -> None:
    """Create volume ``volume`` and write ``archive``'s files (``<volume>/…``) into it."""
    client = docker.from_env()
    client.volumes.create(volume)
    helper = _helper(client, image, volume, "rw")
    try:
        with archive.open("rb") as source, tempfile.TemporaryFile() as staged:
            _rewrite(source, staged, volume, MOUNT)
            staged.seek(0)
            helper.put_archive("/", staged)
    finally:
        helper.remove(force=True)
