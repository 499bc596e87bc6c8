"""Scoring competition entries in the service: a predictions file at once, a model
notebook in a sandbox, in the background.

A CSV of predictions runs no code of the student's, so it is scored in the request.
A notebook runs in the same sandbox as graded assignments (bubblewrap in ``local``
mode, a container in ``docker`` mode) with the competition's released files only; its
predictions come back and are scored here, where the answer key is. The request that
hands a notebook in is answered at once (``queued``), and the notebooks are run a few at a
time (``service.competition_scorers``, 2 by default), each on a thread that mostly waits
for its sandboxed kernel: a competition's last evening must not hold requests open for
minutes, nor run one notebook at a time while the others' kernels could be starting,
nor take all the CPUs that the grading workers and students' servers need
(``benchmarks/bench_competition.py`` times one at a time against the setting's count).
A notebook still queued when the service stopped is run when it starts again
(:meth:`EntryScorer.resume_queued`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from grading.competition.notebook_run import NotebookFailed, run_for_predictions
from grading.competition.scoring import AnswerKey, PredictionsRefused, Score, score
from grading.sandbox.base import SandboxBackend, SandboxError
from grading.sandbox.registry import choose_backend
from hub.competitions import entries
from hub.competitions.models import Competition, CompetitionFile, Entry
from hub.images import image_reference
from hub.service.classroom import Classroom
from hub.settings import Settings

log = logging.getLogger("aiclass.classroom")
SANDBOX_OF_MODE = {"local": "local", "docker": "docker"}
"""Where a model notebook runs in each mode; Kubernetes grades whole notebooks in Jobs,
which a competition's notebooks do not use yet, so there only predictions are taken."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class EntryScorer:
    """Scores notebook entries in the background; one per service process."""

    def __init__(self, settings: Settings, classroom: Classroom | None) -> None:
        """``classroom`` holds the entries; without one, only :meth:`score_notebook` works
        (the benchmark and tests score notebooks that no database holds)."""
        self.settings = settings
        self.classroom = classroom
        self.executor = ThreadPoolExecutor(settings.service.competition_scorers,
                                           thread_name_prefix="competition-notebook")
        self._backend: SandboxBackend | None = None
        self._backend_lock = threading.Lock()
        self._running: set[asyncio.Task] = set()

    @property
    def runs_notebooks(self) -> bool:
        return self.settings.hub.mode in SANDBOX_OF_MODE

    def backend(self) -> SandboxBackend:
        """The mode's sandbox backend, chosen once: the first choice removes what dead
        graders left, which two scorer threads starting together must not both do."""
        with self._backend_lock:
            if self._backend is None:
                self._backend = choose_backend(
                    SANDBOX_OF_MODE[self.settings.hub.mode],
                    image=image_reference("student", self.settings.docker.registry_prefix))
            return self._backend

    def start(self, entry_id: int) -> None:
        """Score the queued notebook entry ``entry_id`` in the background."""
        task = asyncio.get_running_loop().create_task(self._score(entry_id))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    def resume_queued(self) -> int:
        """Start every notebook entry left queued (by a service that stopped); how many."""
        with self.classroom.reader() as (session, _store):
            queued = session.scalars(select(Entry.id).where(
                Entry.status == "queued", Entry.kind == "notebook").order_by(Entry.id)).all()
        for entry_id in queued:
            self.start(entry_id)
        return len(queued)

    async def _score(self, entry_id: int) -> None:
        with self.classroom.reader() as (session, _store):
            entry = session.get(Entry, entry_id)
            competition = session.get(Competition, entry.competition_id)
            key = AnswerKey.from_json(competition.answer_key)
            notebook = entry.content
            files = {released.name: released.content for released in session.scalars(
                select(CompetitionFile).where(
                    CompetitionFile.competition_id == competition.id))}
        result, error = await self.score_notebook(notebook, key, files)
        with self.classroom.session() as session:
            entry = session.get(Entry, entry_id)
            participant = entries.participant_of(session, entry)
            entries.record_score(session, entry, participant, result, error, _now())
        log.info("competition entry %d scored: %s", entry_id, "failed" if error else "scored")

    async def score_notebook(self, notebook: bytes, key: AnswerKey, files: dict[str, bytes]
                             ) -> tuple[Score | None, tuple[str, str] | None]:
        """The notebook's score, or why it has none (Chinese, English)."""
        try:
            predictions = await asyncio.get_running_loop().run_in_executor(
                self.executor, self._predictions, notebook, files)
            return score(predictions, key), None
        except (PredictionsRefused, NotebookFailed) as problem:
            return None, (problem.message, problem.message_en)
        except SandboxError as problem:
            return None, ("沙箱出错，请稍后再试", f"the sandbox failed: {problem}"[:300])

    def _predictions(self, notebook: bytes, files: dict[str, bytes]) -> bytes:
        return run_for_predictions(notebook, files, self.backend())


def entry_scorer(app_settings: dict[str, Any]) -> EntryScorer:
    """The service's scorer, kept in the Tornado application's settings (made on first use)."""
    if "competition_scorer" not in app_settings:
        app_settings["competition_scorer"] = EntryScorer(app_settings["aiclass_settings"],
                                                         app_settings["classroom"])
    return app_settings["competition_scorer"]
