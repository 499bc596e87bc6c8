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

import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import docker
from docker.errors import NotFound
from dockerspawner import DockerSpawner

MOUNT = "aiclass-home"
"""Where the helper mounts the volume: a path the image lacks, so nothing is copied up."""


def home_volume_name(template: str, username: str) -> str:
    """The volume ``[docker] home_volume`` names for ``username``, escaped as DockerSpawner
    escapes it (``-`` becomes ``-2d``), so that the name is the one the spawner mounted."""
    return template.format(username=DockerSpawner._escape(username))


def home_volumes(template: str, usernames: Iterable[str]) -> list[str]:
    """The home volumes of these people that exist on the engine, by name.

    Only the hub's own people: another hub on the same engine (a demo beside the center's
    hub, a test) keeps its students' homes out of this hub's backup.
    """
    wanted = {home_volume_name(template, username) for username in usernames}
    return sorted(v.name for v in docker.from_env().volumes.list() if v.name in wanted)


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
