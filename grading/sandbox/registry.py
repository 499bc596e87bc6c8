"""Sandbox backends by name, and the choice of one for a grading run.

Each backend module registers its class under the names that callers, settings and
``aiclass grade --sandbox`` use (``@register_backend("docker")``); the package's
``__init__`` imports the backends that ship. A new backend (a Kubernetes Job per
notebook) is one module that registers itself and one import line there: nothing
that chooses a backend changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from grading.sandbox.base import SandboxBackend, SandboxError
from grading.sandbox.limits import SandboxLimits

Backend = TypeVar("Backend", bound=SandboxBackend)

#: Every registered backend class, by name.
BACKENDS: dict[str, type[SandboxBackend]] = {}
#: What ``auto`` tries, in order: containers when an engine answers and has the image,
#: else the local bubblewrap box.
AUTO_ORDER = ("docker", "local")


def register_backend(*names: str) -> Callable[[type[Backend]], type[Backend]]:
    """Class decorator: make a backend choosable under ``names``."""
    def register(backend_class: type[Backend]) -> type[Backend]:
        for name in names:
            if name in BACKENDS or name == "auto":
                raise ValueError(f"sandbox backend name {name!r} is taken")
            BACKENDS[name] = backend_class
        return backend_class
    return register


def backend_choices() -> list[str]:
    """What ``--sandbox`` accepts: ``auto`` and every registered name."""
    return ["auto", *BACKENDS]


def choose_backend(kind: str = "auto", limits: SandboxLimits | None = None,
                   image: str | None = None) -> SandboxBackend:
    """The backend named ``kind``, or for ``auto`` the first of :data:`AUTO_ORDER` available.

    ``image`` is the container image for backends that run one (Docker); the hub computes
    it (the student image, under the center's registry prefix). Without it, ``auto``
    grades locally. A chosen backend first removes what dead graders left behind.
    """
    if kind != "auto" and kind not in BACKENDS:
        raise ValueError(f"未知的沙箱类型 / unknown sandbox kind: {kind!r} "
                         f"({', '.join(backend_choices())})")
    limits = limits or SandboxLimits()
    for name in AUTO_ORDER if kind == "auto" else (kind,):
        backend = BACKENDS[name].for_run(limits, image)
        if backend.available():
            backend.remove_orphans()
            return backend
    raise SandboxError(backend.unavailable_reason())
