"""A jupyter_client kernel manager whose kernel already runs in a warm sandbox.

nbgrader's :class:`~nbgrader.preprocessors.Execute` (nbclient underneath) starts
kernels through a kernel manager; this one spawns nothing: it connects to the
kernel a pooled sandbox has booted, over ZeroMQ IPC sockets in a directory
shared with that sandbox only, and hands it the submission's files. The
executor stays in the grader, out of the student's reach.
"""

from __future__ import annotations

import signal
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Any as AnyTrait
from traitlets import Dict

from grading.sandbox.base import WarmSandbox


class SandboxProvisioner(LocalProvisioner):
    """Provisions the kernel by activating an already booted sandbox."""

    sandbox = AnyTrait()
    files = Dict()

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> dict:
        sandbox: WarmSandbox = self.sandbox
        sandbox.activate(self.files)
        self.process = sandbox.process
        self.pid = sandbox.process.pid
        self.pgid = sandbox.process.pid
        return self.connection_info

    async def send_signal(self, signum: int) -> None:
        if signum in (signal.SIGKILL, signal.SIGTERM):
            self.sandbox.kill()
        # Interrupts travel as messages (interrupt_mode "message"), never as host signals.

    async def kill(self, restart: bool = False) -> None:
        self.sandbox.kill()

    async def terminate(self, restart: bool = False) -> None:
        self.sandbox.kill()

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart=restart)
        self.sandbox.close()


class SandboxKernelManager(AsyncKernelManager):
    """Kernel manager for one notebook in one sandbox (IPC transport, message interrupts)."""

    sandbox = AnyTrait()
    files = Dict()

    @property
    def kernel_spec(self) -> KernelSpec:
        """The sandbox's Python kernel, described here rather than looked up among installed specs.

        The kernel runs in the sandbox's image; the grader need not have ipykernel (the hub
        image has not), so no ``python3`` spec of its own may exist. Nothing is launched from
        the spec: the provisioner activates the booted sandbox instead.
        """
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(name=self.kernel_name, language="python",
                                           display_name="Python 3 (sandbox)", argv=[],
                                           interrupt_mode="message")
        return self._kernel_spec

    def client(self, **kwargs: Any) -> AsyncKernelClient:
        """A client on this manager's own ZeroMQ context, so :meth:`close_connections` can
        close both at once."""
        kwargs.setdefault("context", self.context)
        return super().client(**kwargs)

    def close_connections(self, client: AsyncKernelClient | None) -> None:
        """Stop ``client``'s channels and destroy the context it shares with this manager.

        nbclient cleans up only a kernel manager it made itself; handed this one, it leaves
        the client's channels running and both contexts open. Each graded notebook then
        kept a context (an I/O and a reaper thread) whose sockets went on reconnecting to
        the removed sandbox's: a grading worker had 2,600 threads and the host's CPU went to
        them after 15 minutes of a region's morning.
        """
        if client is not None:
            client.stop_channels()
        self.context.destroy(linger=0)

    async def _async_pre_start_kernel(self, **kw: Any):
        # The kernel chose its own key and sockets while it waited in the pool.
        self.load_connection_info(self.sandbox.wait_booted())
        self.connection_file = str(self.sandbox.scratch / "connection.json")
        if self.provisioner is None:
            self.provisioner = SandboxProvisioner(
                kernel_id=self.kernel_id or "sandbox",
                kernel_spec=self.kernel_spec,
                parent=self,
                sandbox=self.sandbox,
                files=self.files,
            )
        return await super()._async_pre_start_kernel(**kw)
