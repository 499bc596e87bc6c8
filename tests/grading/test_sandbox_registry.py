"""Sandbox backends are chosen by name from a registry each backend module fills."""

from __future__ import annotations

from pathlib import Path

import pytest

from grading.sandbox import registry
from grading.sandbox.base import SandboxBackend, SandboxError
from grading.sandbox.bubblewrap import BubblewrapSandbox
from grading.sandbox.docker import DockerSandbox
from grading.sandbox.limits import SandboxLimits
from grading.sandbox.registry import backend_choices, choose_backend, register_backend


def test_the_names_settings_and_the_cli_use_are_registered() -> None:
    """Do ``local``, ``bubblewrap`` and ``docker`` name the backends they always named?"""
    assert registry.BACKENDS["local"] is registry.BACKENDS["bubblewrap"] is BubblewrapSandbox
    assert registry.BACKENDS["docker"] is DockerSandbox
    assert {"auto", "local", "docker"} <= set(backend_choices())


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown sandbox kind"):
        choose_backend("chroot")


def test_a_backend_must_say_how_it_starts() -> None:
    """Can a backend without ``command`` be made? (It would fail only when grading.)"""

    class Incomplete(SandboxBackend):
        def available(self) -> bool:
            return True

    with pytest.raises(TypeError, match="command"):
        Incomplete()


def test_a_new_backend_is_one_registered_class(monkeypatch: pytest.MonkeyPatch) -> None:
    """Is a backend that registers itself chosen by its name, with the run's limits?"""
    monkeypatch.setattr(registry, "BACKENDS", dict(registry.BACKENDS))

    @register_backend("recording")
    class Recording(SandboxBackend):
        name = "recording"

        def available(self) -> bool:
            return True

        def command(self, sandbox_id: str, conn_dir: Path, limits: SandboxLimits,
                    cgroup_procs: list[Path]) -> list[str]:
            return ["true"]

    limits = SandboxLimits(pids=7)
    backend = choose_backend("recording", limits=limits)
    assert isinstance(backend, Recording) and backend.limits == limits
    assert "recording" in backend_choices()
    with pytest.raises(ValueError, match="taken"):
        register_backend("recording")(Recording)


def test_docker_needs_the_image_its_caller_names() -> None:
    """The library does not guess the student image: without one, Docker is not chosen."""
    assert not DockerSandbox().available()
    with pytest.raises(SandboxError, match="no image was given"):
        choose_backend("docker")


@pytest.mark.skipif(not BubblewrapSandbox().available(),
                    reason="bubblewrap is not installed: `make system-run` installs it")
def test_auto_without_an_image_grades_locally() -> None:
    assert isinstance(choose_backend("auto"), BubblewrapSandbox)
