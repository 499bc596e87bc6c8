"""Erasure in docker mode: the pupil's home is a Docker volume, and it goes with them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import docker
import pytest
from docker.errors import NotFound

from hub.home_volumes import home_volume_name
from hub.privacy.erasure import erase_person
from tests.privacy.conftest import ERASED, OTHER, Classroom


@pytest.fixture
def home_volumes(classroom: Classroom) -> Iterator[dict[str, str]]:
    """A real home volume for each pupil, named as docker mode names them."""
    template = f"aiclass-privtest-{uuid.uuid4().hex[:8]}-{{username}}"
    client = docker.from_env()
    names = {pupil.username: home_volume_name(template, pupil.username)
             for pupil in (ERASED, OTHER)}
    for name in names.values():
        client.volumes.create(name)
    yield names
    for name in names.values():
        try:
            client.volumes.get(name).remove(force=True)
        except NotFound:
            pass
    client.close()


def test_erasure_in_docker_mode_removes_only_the_pupils_volume(
        classroom: Classroom, home_volumes: dict[str, str]) -> None:
    template = home_volumes[ERASED.username].replace(ERASED.username, "{username}")
    settings = replace(classroom.settings,
                       hub=replace(classroom.settings.hub, mode="docker"),
                       docker=replace(classroom.settings.docker, home_volume=template))
    report = erase_person(settings, ERASED.username)
    assert report.home_removed
    client = docker.from_env()
    with pytest.raises(NotFound):
        client.volumes.get(home_volumes[ERASED.username])
    assert client.volumes.get(home_volumes[OTHER.username]).name == home_volumes[OTHER.username]
    client.close()
