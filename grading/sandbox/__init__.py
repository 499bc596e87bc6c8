"""Sandboxes that run one student's notebook each, with a kernel booted in advance.

Backends: :mod:`grading.sandbox.bubblewrap` (local, bubblewrap namespaces) and
:mod:`grading.sandbox.docker` (one container per notebook). Both speak the same
protocol with :mod:`grading.sandbox.boot`, so the grader does not care which
one runs the kernel.
"""

from grading.sandbox.base import SandboxBackend, SandboxError, WarmSandbox
from grading.sandbox.bubblewrap import BubblewrapSandbox
from grading.sandbox.docker import DockerSandbox
from grading.sandbox.pool import SandboxPool, choose_backend

__all__ = [
    "BubblewrapSandbox",
    "DockerSandbox",
    "SandboxBackend",
    "SandboxError",
    "SandboxPool",
    "WarmSandbox",
    "choose_backend",
]
