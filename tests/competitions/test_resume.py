"""A notebook entry still queued when the service stopped is scored when it starts again.

No hub: the service's :class:`Classroom` on a fresh SQLite database, the organisation
rows a competition needs, and the scorer the service makes at start-up, with a real
bubblewrap sandbox (the notebook is a few lines, so the sandbox is most of the time).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hub.competitions import entries
from hub.competitions.models import Entry, Standing
from hub.org.models import Person, Region, Role, School
from hub.service.classroom import Classroom
from hub.service.competition_scoring import EntryScorer
from hub.settings import load_settings

NOW = datetime(2026, 12, 6, 8, 0)
WRITES_ZEROS = """
import csv
with open('test.csv', encoding='utf-8') as f:
    ids = [row[0] for row in list(csv.reader(f))[1:]]
with open('predictions.csv', 'w', encoding='utf-8') as f:
    f.write('id,label\\n' + ''.join(f'{i},0\\n' for i in ids))
"""


@pytest.mark.skipif(shutil.which("bwrap") is None,
                    reason="bubblewrap is not installed: `make system-run` installs it")
def test_a_queued_notebook_is_scored_after_a_restart(tmp_path: Path) -> None:
    """Does the scorer a starting service makes run the notebook left queued, record its
    score and move the standing, once?"""
    settings = load_settings(tmp_path, {})
    classroom = Classroom(database_url=f"sqlite:///{tmp_path / 'aiclass.sqlite'}",
                          data_dir=str(tmp_path))
    notebook = {"cells": [{"cell_type": "code", "id": "zeros", "metadata": {}, "outputs": [],
                           "execution_count": None, "source": WRITES_ZEROS}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    with classroom.session() as session:
        session.add(Region(id="r", name="区"))
        session.add(School(id="s1", region_id="r", name="一中"))
        session.flush()
        session.add_all([Person(username="adm", display_name="管理员", role=Role.REGION_ADMIN),
                         Person(username="stu-1", display_name="学生", role=Role.STUDENT,
                                school_id="s1")])
        session.flush()
        competition = entries.create(
            session, session.get(Person, "adm"), competition_id="resume-test", title="重启",
            sample="digits", deadline=NOW + timedelta(days=1), daily_limit=5, winners=1,
            district_id=None, now=NOW)
        participant = entries.participant_for(session, competition, "stu-1", None)
        entries.add_entry(session, competition, participant, "stu-1", "notebook",
                          json.dumps(notebook).encode(), NOW)

    async def restart() -> int:
        scorer = EntryScorer(settings, classroom)
        resumed = scorer.resume_queued()
        await asyncio.gather(*scorer._running)
        return resumed

    assert asyncio.run(restart()) == 1
    with classroom.reader() as (session, _store):
        entry = session.query(Entry).one()
        assert entry.status == "scored", entry.error
        assert 0.0 < entry.public_score < 0.3
        standing = session.get(Standing, ("resume-test", "user:stu-1"))
        assert standing.best_entry_id == entry.id and standing.entries == 1
    assert asyncio.run(restart()) == 0
