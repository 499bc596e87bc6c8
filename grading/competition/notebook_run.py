"""Run a competition entry's model notebook in a sandbox and collect its predictions.

The sandbox gets the notebook and the competition's released files (training data and
the hidden test set's features: never its labels); the notebook must write
``predictions.csv`` in its working folder. One more cell, added here after the
student's, prints that file, and its text comes back over the kernel's messages: the
sandbox has no path in common with the grader but its socket folder. Whatever the
notebook does, it can only change its own predictions; the score is computed outside
(:mod:`grading.competition.scoring`).
"""

from __future__ import annotations

import threading

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from grading.sandbox.base import SandboxBackend, SandboxError
from grading.sandbox.kernel import SandboxKernelManager
from grading.sandbox.limits import SandboxLimits

PREDICTIONS_FILE = "predictions.csv"
MAX_NOTEBOOK_BYTES = 5 * 1024 * 1024
_PRINT_PREDICTIONS = (
    "import pathlib\n"
    f"_p = pathlib.Path({PREDICTIONS_FILE!r})\n"
    "print(_p.read_text(encoding='utf-8') if _p.is_file() else '\\x00missing', end='')"
)


class NotebookFailed(RuntimeError):
    """The notebook made no predictions; ``message`` and ``message_en`` say why."""

    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message = message
        self.message_en = message_en


def run_for_predictions(notebook: bytes, files: dict[str, bytes], backend: SandboxBackend,
                        limits: SandboxLimits | None = None) -> bytes:
    """The bytes of ``predictions.csv`` that ``notebook`` writes in a fresh sandbox."""
    limits = limits or backend.limits
    if len(notebook) > MAX_NOTEBOOK_BYTES:
        raise NotebookFailed("笔记本超过 5 MB", "the notebook is larger than 5 MB")
    try:
        nb = nbformat.reads(notebook.decode("utf-8"), as_version=4)
    except (UnicodeDecodeError, ValueError, KeyError, AttributeError) as error:
        raise NotebookFailed("无法读取笔记本（需要 .ipynb 文件）",
                             "the notebook cannot be read (an .ipynb file is needed)") from error
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.cells.append(nbformat.v4.new_code_cell(_PRINT_PREDICTIONS))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    sandbox = backend.start(limits)
    deadline = threading.Timer(limits.wall_seconds, sandbox.kill, args=("timeout",))
    deadline.start()
    manager = SandboxKernelManager(sandbox=sandbox, files=files, kernel_name="python3")
    client = NotebookClient(nb, km=manager, timeout=limits.cell_timeout,
                            startup_timeout=60, allow_errors=False)
    try:
        client.execute()
    except CellExecutionError as error:
        raise NotebookFailed(f"笔记本运行出错：{error.ename}: {error.evalue}"[:300],
                             f"the notebook failed: {error.ename}: {error.evalue}"[:300]
                             ) from error
    except (CellTimeoutError, DeadKernelError) as error:
        raise NotebookFailed("笔记本超时或内核退出", "the notebook timed out or its kernel died"
                             ) from error
    except SandboxError:
        raise
    finally:
        deadline.cancel()
        manager.close_connections(client.kc)
        sandbox.close()
    text = "".join(output.get("text", "") for output in nb.cells[-1].outputs
                   if output.get("output_type") == "stream" and output.get("name") == "stdout")
    if text.startswith("\x00missing"):
        raise NotebookFailed(f"笔记本没有写出 {PREDICTIONS_FILE}",
                             f"the notebook wrote no {PREDICTIONS_FILE}")
    return text.encode("utf-8")
