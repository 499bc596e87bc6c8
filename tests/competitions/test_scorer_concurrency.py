"""The service's scorer runs notebook entries side by side, never more than the setting says.

The sandbox's run is replaced by a stand-in that waits at a barrier for a partner: with one
notebook at a time it would wait in vain (and fail the entry), with more at a time than
``service.competition_scorers`` the count of runs in progress would show it. The real
sandboxed runs are in ``test_competition_hub.py`` and ``test_docker_scoring.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading

from grading.sandbox.base import SandboxError
from hub.competitions.digits import digits_task
from hub.service.competition_scoring import EntryScorer
from hub.settings import Settings

SCORERS = 2


class PairedScorer(EntryScorer):
    """A scorer whose runs each wait for a second run in progress, then predict the key."""

    def __init__(self, settings: Settings, answer: bytes) -> None:
        super().__init__(settings, classroom=None)
        self.answer = answer
        self.barrier = threading.Barrier(SCORERS, timeout=30)
        self.lock = threading.Lock()
        self.running = self.most = 0

    def _predictions(self, notebook: bytes, files: dict[str, bytes]) -> bytes:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError as error:
            raise SandboxError("no second notebook ran alongside") from error
        finally:
            with self.lock:
                self.running -= 1
        return self.answer


def test_notebooks_run_side_by_side_up_to_the_setting() -> None:
    """Are notebook entries handed in together run together, as many as
    ``service.competition_scorers`` and no more?"""
    defaults = Settings()
    settings = dataclasses.replace(defaults, service=dataclasses.replace(
        defaults.service, competition_scorers=SCORERS))
    task = digits_task(seed=19)
    answer = ("id,label\n" + "".join(f"{row_id},{label}\n" for row_id, label
                                     in zip(task.key.ids, task.key.labels, strict=True))).encode()
    scorer = PairedScorer(settings, answer)

    async def handed_in_together() -> list:
        return await asyncio.gather(*(scorer.score_notebook(b"{}", task.key, task.files)
                                      for _ in range(3 * SCORERS)))

    try:
        results = asyncio.run(handed_in_together())
    finally:
        scorer.executor.shutdown()
    assert [error for _score, error in results] == [None] * (3 * SCORERS)
    assert all(score.public == 1.0 for score, _error in results)
    assert scorer.most == SCORERS
