"""Competition notebooks scored as a docker-mode service scores them: each in a container of
the student image, two at once, with the released files only.

The attack is a notebook that searches the whole container (every readable file, its
environment) for the answer key, by the ids of the hidden rows it was given the features
of; it would fail the entry naming what it found. It must find nothing and score no better
than guessing one digit for every row: the labels are compared outside, in the service.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest

from grading.sandbox.docker import DockerSandbox
from hub.competitions.digits import digits_task, starter_notebook
from hub.images import image_reference
from hub.service.competition_scoring import EntryScorer
from hub.settings import Settings

STUDENT_IMAGE = image_reference("student")

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(not DockerSandbox(image=STUDENT_IMAGE).available(),
                       reason="Docker engine or student image missing: `make images` starts "
                              "the engine and builds it"),
]

SEARCH = """
import csv, os
with open('test.csv', encoding='utf-8') as f:
    ids = [row[0] for row in csv.reader(f)][1:]
marks = [row_id.encode() for row_id in ids[:3]]
here = os.path.realpath(os.getcwd())
found, searched = [], 0
for folder, subfolders, names in os.walk('/'):
    if folder in ('/proc', '/sys', '/dev') or os.path.realpath(folder).startswith(here):
        subfolders[:] = []
        continue
    for name in names:
        path = os.path.join(folder, name)
        try:
            if os.path.islink(path) or not os.path.isfile(path) \\
                    or os.path.getsize(path) > 8_000_000:
                continue
            with open(path, 'rb') as handle:
                data = handle.read()
        except OSError:
            continue
        searched += 1
        if all(mark in data for mark in marks):
            found.append(path)
found += [name for name, value in os.environ.items()
          if all(mark.decode() in value for mark in marks)]
if found or searched < 1000:
    raise RuntimeError(f'FOUND:{found} after {searched} files')
with open('predictions.csv', 'w', encoding='utf-8') as f:
    f.write('id,label\\n' + ''.join(f'{row_id},0\\n' for row_id in ids))
"""


def notebook(source: str) -> bytes:
    return json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                                  "execution_count": None, "source": source}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def test_notebooks_are_scored_in_containers_that_never_hold_the_key() -> None:
    """Does a docker-mode service score a model notebook in a container of the student
    image, and does a notebook searching its container for the answer key find nothing
    (and so score no better than one digit for every row)?"""
    defaults = Settings()
    settings = dataclasses.replace(defaults, hub=dataclasses.replace(defaults.hub,
                                                                     mode="docker"))
    scorer = EntryScorer(settings, classroom=None)
    assert isinstance(scorer.backend(), DockerSandbox)
    task = digits_task()

    async def both() -> list:
        return await asyncio.gather(
            scorer.score_notebook(starter_notebook(), task.key, task.files),
            scorer.score_notebook(notebook(SEARCH), task.key, task.files))

    try:
        (model, model_error), (search, search_error) = asyncio.run(both())
    finally:
        scorer.executor.shutdown()
    assert model_error is None and model.public > 0.9 and model.private > 0.9
    assert search_error is None, search_error
    assert search.public < 0.3 and search.private < 0.3
