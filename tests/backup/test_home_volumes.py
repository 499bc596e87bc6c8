"""Docker mode's home volumes: backed up through the engine and restored onto fresh volumes."""

from __future__ import annotations

import io
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
from docker.errors import NotFound

from hub.backup import BackupError, backup, restore
from hub.db import ServiceDatabase
from hub.home_volumes import home_volume_name
from hub.images import image_reference
from hub.org.models import Person
from hub.settings import load_settings
from tests.backup.library_class import STUDENT, seed_class

PEOPLE = (STUDENT, "stu-backup2")
"""On this hub's roster (``seed_class`` and one more): their homes are backed up."""
STRANGER = "stu-elsewhere"
"""A student of another hub on the same engine: their home is not this hub's to back up."""

pytestmark = pytest.mark.docker


@pytest.fixture
def volumes() -> Iterator[tuple[str, list[str]]]:
    """Two students' home volumes named by a template of this test's own, and a third of
    someone on another hub of the same engine; removed after."""
    try:
        client = docker.from_env()
        client.images.get(image_reference("student"))
    except (docker.errors.DockerException, NotFound):
        pytest.skip("Docker engine or the student image missing: `make images` starts the "
                    "engine and builds it")
    template = f"aiclass-partd-{uuid.uuid4().hex[:6]}-{{username}}"
    names = [home_volume_name(template, u) for u in (*PEOPLE, STRANGER)]
    yield template, names
    for name in names:
        try:
            client.volumes.get(name).remove(force=True)
        except NotFound:
            pass


def home_tar(owner: int) -> bytes:
    """A home as the student's container leaves it: their files, a link, one private file."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        def add(name: str, kind: bytes, mode: int, data: bytes = b"", link: str = "") -> None:
            member = tarfile.TarInfo(name)
            member.type, member.mode, member.uid, member.gid = kind, mode, owner, 100
            member.size, member.linkname = len(data), link
            tar.addfile(member, io.BytesIO(data) if data else None)
        add("aiclass-home", tarfile.DIRTYPE, 0o755)
        add("aiclass-home/作业", tarfile.DIRTYPE, 0o700)
        add("aiclass-home/作业/笔记.ipynb", tarfile.REGTYPE, 0o600, b'{"cells": []}')
        add("aiclass-home/data.bin", tarfile.REGTYPE, 0o644, bytes(range(256)) * 64)
        add("aiclass-home/course", tarfile.SYMTYPE, 0o777, link="/srv/course")
    return buffer.getvalue()


def listing(volume: str) -> dict[str, tuple]:
    """Each file of a volume: owner, mode, link and bytes, read through a helper container."""
    client = docker.from_env()
    helper = client.containers.create(image_reference("student"), command=["true"],
                                      network_mode="none",
                                      volumes={volume: {"bind": "/v", "mode": "ro"}})
    try:
        stream, _ = helper.get_archive("/v")
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            return {m.name: (m.uid, m.gid, m.mode & 0o7777, m.linkname,
                             tar.extractfile(m).read() if m.isfile() else None) for m in tar}
    finally:
        helper.remove(force=True)


def test_home_volumes_come_back_onto_fresh_volumes(
        volumes: tuple[str, list[str]], tmp_path: Path) -> None:
    """Are both students' volumes back file for file (owners, modes, links, bytes) after
    the volumes are removed and the backup restored; and is a restore refused while a
    volume of the same name exists?"""
    template, names = volumes
    client = docker.from_env()
    for owner, name in enumerate(names, start=1000):
        client.volumes.create(name)
        helper = client.containers.create(image_reference("student"), command=["true"],
                                          network_mode="none",
                                          volumes={name: {"bind": "/aiclass-home",
                                                          "mode": "rw"}})
        try:
            helper.put_archive("/", home_tar(owner))
        finally:
            helper.remove(force=True)
    before = {name: listing(name) for name in names}
    assert before[names[1]]["v/作业/笔记.ipynb"][:3] == (1001, 100, 0o600)

    data = tmp_path / "data"
    data.mkdir()
    (data / "aiclass.toml").write_text(
        f'[hub]\nmode = "docker"\n[docker]\nhome_volume = "{template}"\n', encoding="utf-8")
    seed_class(load_settings(data))
    with ServiceDatabase(load_settings(data).database_url).session() as session:
        session.add(Person(username=PEOPLE[1], display_name="王五", role="student"))
    made = backup(load_settings(data), tmp_path / "backups")
    assert {f"homes/{name}.tar" for name in names[:2]} == {
        str(p.relative_to(made.set_dir)) for p in made.set_dir.rglob("*.tar")}
    names = names[:2]

    with pytest.raises(BackupError, match=names[0]):
        restore(tmp_path / "backups", tmp_path / "refused")
    assert not (tmp_path / "refused").exists()

    for name in names:
        client.volumes.get(name).remove(force=True)
    restore(tmp_path / "backups", tmp_path / "restored")
    assert {name: listing(name) for name in names} == {name: before[name] for name in names}
