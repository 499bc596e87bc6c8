"""A student's kernel writes to the Docker sandbox's relay stream itself.

The kernel's messages reach the grader over the container's stdout
(:mod:`grading.sandbox.stdio_relay`), and student code in the kernel can find that pipe
among its own file descriptors. A forged record that claims a gigantic frame must end the
sandbox at once, not make the grader's launcher buffer whatever the sandbox streams.
"""

from __future__ import annotations

import struct
import time

import pytest
from jupyter_client import BlockingKernelClient

from grading.sandbox.docker import DockerSandbox
from grading.sandbox.stdio_relay import MAX_RECORD
from hub.images import image_reference

STUDENT_IMAGE = image_reference("student")

pytestmark = pytest.mark.skipif(
    not DockerSandbox(image=STUDENT_IMAGE).available(),
    reason="Docker engine or student image missing: `make images` starts the engine and builds it",
)

#: A record header for iopub with one frame of MAX_RECORD + 1 bytes, then 256 MiB of it, on
#: every pipe the kernel holds (the relay's is a dup of the container's stdout).
FLOOD = f"""
import os
header = {struct.pack("!BII", 5, 1, MAX_RECORD + 1)!r}
chunk = b"x" * (1024 * 1024)
for fd in sorted(map(int, os.listdir("/proc/self/fd")), reverse=True):
    try:
        if os.readlink(f"/proc/self/fd/{{fd}}").startswith("pipe:"):
            os.write(fd, header)
            for _ in range(256):
                os.write(fd, chunk)
    except OSError:
        pass
"""


def test_a_forged_giant_record_ends_the_sandbox_instead_of_filling_the_grader() -> None:
    backend = DockerSandbox(image=STUDENT_IMAGE)
    sandbox = backend.start()
    client = BlockingKernelClient()
    try:
        client.load_connection_info(sandbox.wait_booted(timeout=120))
        sandbox.activate({})
        client.start_channels()
        client.wait_for_ready(timeout=60)
        client.execute(FLOOD)
        deadline = time.monotonic() + 20
        while sandbox.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not sandbox.alive(), "the launcher is still reading the forged record"
        assert sandbox.process.returncode == 137
        assert "relay record over" in sandbox.boot_log()
        assert not backend.engine().containers.list(
            all=True, filters={"name": f"^{backend.container_name(sandbox.id)}$"})
    finally:
        client.stop_channels()
        sandbox.close()
