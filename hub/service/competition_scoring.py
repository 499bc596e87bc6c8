"""Scoring competition entries in the service: a predictions file at once, a model
notebook in a sandbox on a thread of its own.

A CSV of predictions runs no code of the student's, so it is scored in the request.
A notebook runs in the same sandbox as graded assignments (bubblewrap in ``local``
mode, a container in ``docker`` mode) with the competition's released files only; its
predictions come back and are scored here, where the answer key is. Notebooks wait in
line on one thread (``NOTEBOOK_THREADS``): a competition's last evening must not take
the CPUs that the grading workers and students' servers need.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from grading.competition.notebook_run import NotebookFailed, run_for_predictions
from grading.competition.scoring import AnswerKey, PredictionsRefused, Score, score
from grading.sandbox.base import SandboxBackend, SandboxError
from grading.sandbox.registry import choose_backend
from hub.images import image_reference
from hub.settings import Settings

NOTEBOOK_THREADS = 1
SANDBOX_OF_MODE = {"local": "local", "docker": "docker"}
"""Where a model notebook runs in each mode; Kubernetes grades whole notebooks in Jobs,
which a competition's notebooks do not use yet, so there only predictions are taken."""


class EntryScorer:
    """Scores entries; one per service process (built on first use)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.executor = ThreadPoolExecutor(NOTEBOOK_THREADS,
                                           thread_name_prefix="competition-notebook")
        self._backend: SandboxBackend | None = None

    @property
    def runs_notebooks(self) -> bool:
        return self.settings.hub.mode in SANDBOX_OF_MODE

    def backend(self) -> SandboxBackend:
        if self._backend is None:
            self._backend = choose_backend(
                SANDBOX_OF_MODE[self.settings.hub.mode],
                image=image_reference("student", self.settings.docker.registry_prefix))
        return self._backend

    async def score(self, kind: str, content: bytes, key: AnswerKey,
                    files: dict[str, bytes]) -> tuple[Score | None, tuple[str, str] | None]:
        """The entry's score, or why it has none (Chinese, English)."""
        try:
            if kind == "notebook":
                predictions = await asyncio.get_running_loop().run_in_executor(
                    self.executor, self._predictions, content, files)
            else:
                predictions = content
            return score(predictions, key), None
        except (PredictionsRefused, NotebookFailed) as problem:
            return None, (problem.message, problem.message_en)
        except SandboxError as problem:
            return None, ("沙箱出错，请稍后再试", f"the sandbox failed: {problem}"[:300])

    def _predictions(self, notebook: bytes, files: dict[str, bytes]) -> bytes:
        return run_for_predictions(notebook, files, self.backend())
