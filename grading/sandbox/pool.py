"""A pool of booted sandboxes, each used for exactly one notebook.

Starting a sandbox and importing ipykernel inside it takes a few hundred
milliseconds; the pool does it ahead of time on a background thread, so a
worker that finishes one notebook finds the next kernel already waiting.
"""

from __future__ import annotations

import queue
import threading

from grading.sandbox.base import SandboxBackend, SandboxError, WarmSandbox


class SandboxPool:
    """Keeps ``size`` sandboxes booted; :meth:`take` hands out one and boots a replacement."""

    def __init__(self, backend: SandboxBackend, size: int):
        self.backend = backend
        self.size = max(1, size)
        self._ready: queue.Queue[WarmSandbox] = queue.Queue()
        self._wanted = threading.Semaphore(0)
        self._closed = threading.Event()
        #: Every sandbox started and not yet handed out, whether or not it is queued, so
        #: that closing the pool leaves no booted kernel (or container) behind.
        self._unused: dict[str, WarmSandbox] = {}
        self._lock = threading.Lock()
        self._filler = threading.Thread(target=self._fill, name="sandbox-pool", daemon=True)
        for _ in range(self.size):
            self._wanted.release()
        self._filler.start()

    def _fill(self) -> None:
        while True:
            self._wanted.acquire()
            if self._closed.is_set():
                return
            try:
                sandbox = self.backend.start()
                with self._lock:
                    closing = self._closed.is_set()
                    if not closing:
                        self._unused[sandbox.id] = sandbox
                if closing:  # the pool closed while this one was starting
                    sandbox.close()
                    return
                self._ready.put(sandbox)
            except SandboxError as error:
                self.backend.log.error("%s", error)
                self._ready.put(error)  # type: ignore[arg-type]

    def take(self) -> WarmSandbox:
        """A booted sandbox for one notebook; never handed out twice."""
        if self._closed.is_set():
            raise SandboxError("sandbox pool is closed")
        sandbox = self._ready.get()
        self._wanted.release()
        if isinstance(sandbox, SandboxError):
            raise sandbox
        with self._lock:
            del self._unused[sandbox.id]
        return sandbox

    def close(self) -> None:
        """Stop the filler and remove every sandbox that was never used."""
        self._closed.set()
        self._wanted.release()
        self._filler.join(timeout=30)
        with self._lock:
            unused = list(self._unused.values())
            self._unused.clear()
        for sandbox in unused:
            sandbox.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
