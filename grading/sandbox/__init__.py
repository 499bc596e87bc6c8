"""Sandboxes that run one student's notebook each, with a kernel booted in advance.

Backends register themselves by name (:mod:`grading.sandbox.registry`); those that
ship are imported here: :mod:`grading.sandbox.bubblewrap` (local, bubblewrap
namespaces) and :mod:`grading.sandbox.docker` (one container per notebook), and
:mod:`grading.sandbox.kubernetes` (one Job per notebook, its grader inside the pod). All
speak the same protocol with :mod:`grading.sandbox.boot`, so the grader does not
care which one runs the kernel.
"""

from grading.sandbox.base import SandboxBackend, SandboxError, WarmSandbox
from grading.sandbox.bubblewrap import BubblewrapSandbox
from grading.sandbox.docker import DockerSandbox
from grading.sandbox.kubernetes import KubernetesSandbox
from grading.sandbox.pool import SandboxPool
from grading.sandbox.registry import backend_choices, choose_backend, register_backend

__all__ = [
    "BubblewrapSandbox",
    "DockerSandbox",
    "KubernetesSandbox",
    "SandboxBackend",
    "SandboxError",
    "SandboxPool",
    "WarmSandbox",
    "backend_choices",
    "choose_backend",
    "register_backend",
]
