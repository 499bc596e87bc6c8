"""The first code that runs inside a grading sandbox (executed with ``python -c``).

It must not import ``grading``: the sandbox sees only the Python runtime. It
lowers resource limits, starts an IPython kernel on IPC sockets in ``/conn``
(writing ``/conn/kernel.json``) while the sandbox waits in the warm pool. A
thread then waits for one JSON line on stdin — the submission's files — writes
them into the private work directory and creates ``/conn/ready``; only then
does the grader send cells.
In a Docker sandbox the argument carries the source of
:mod:`grading.sandbox.stdio_relay` instead: the kernel's sockets stay in the
container's own ``/conn`` and a relay thread carries them, the files and "ready"
over stdin and stdout, because the grader may not share a folder with it.
Student code therefore cannot raise the limits or see anyone else's files.
Nothing here serves to check the kernel: student code could find and rewrite
it; the grader checks from outside (``grading/README.md``).
"""

import base64
import json
import os
import resource
import sys
import threading

_config = json.loads(sys.argv[1])
for _name, _value in _config["rlimits"].items():
    resource.setrlimit(getattr(resource, _name), (_value, _value))

from ipykernel.kernelapp import IPKernelApp  # noqa: E402


def _write_files(work, request):
    for relpath, data in request.get("files", {}).items():
        target = os.path.realpath(os.path.join(work, relpath))
        if not target.startswith(work + os.sep):
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as file:
            file.write(base64.b64decode(data))


def _receive_files(work):
    _write_files(work, json.loads(sys.stdin.buffer.readline() or b"{}"))
    open("/conn/ready", "w").close()


_relay_stream = os.dup(1) if "relay_source" in _config else None
_devnull = os.open(os.devnull, os.O_RDWR)
os.dup2(_devnull, 1)
os.dup2(_devnull, 2)
_app = IPKernelApp.instance()
_app.initialize(["-f", "/conn/kernel.json", "--transport=ipc", "--ip=/conn/ipc",
                 "--HistoryManager.hist_file=:memory:"])


def _cap_streams(budget):
    """Stop sending printed text past ``budget`` characters (the grader truncates far sooner)."""
    left = [budget]
    for stream in (sys.stdout, sys.stderr):
        def capped(text, _write=stream.write):
            if left[0] <= 0:
                return len(text)
            left[0] -= len(text)
            return _write(text[: len(text) + min(left[0], 0)])
        stream.write = capped


_cap_streams(_config["stream_chars"])

if _relay_stream is None:
    threading.Thread(target=_receive_files, args=(os.getcwd(),), daemon=True).start()
else:
    _relay = {"__name__": "stdio_relay"}
    exec(_config["relay_source"], _relay)
    _work = os.getcwd()
    threading.Thread(target=_relay["serve_sandbox"], daemon=True, args=(
        "/conn/kernel.json", 0, _relay_stream,
        lambda request: _write_files(_work, request))).start()
_app.start()
