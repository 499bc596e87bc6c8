"""Blobs no row names are collected, after a grace period, and nothing a row names is.

The crash is simulated the way it happens: an upload's files are written (and made
durable), then the process dies before the transaction that would insert the row.
"""

from __future__ import annotations

import json
import os
import time

from grading.exchange.archive import MIB, ArchiveLimits
from grading.exchange.content_store import ContentStore
from grading.exchange.store import ExchangeStore, SubmissionLimits, referenced_blobs
from grading.gradebook.models import GradingSource  # noqa: F401 - its table names blobs too
from grading.gradebook.queue import store_sources
from tests.exchange.service_steps import submit

NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                       "nbformat_minor": 5}).encode()
LIMITS = SubmissionLimits(ArchiveLimits(10 * MIB, 10 * MIB, 50), per_minute=6, kept=100)
DAY = 24 * 3600


def age(content: ContentStore, sha256: str, seconds: float) -> None:
    path = content.path(sha256)
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_a_crash_between_the_file_and_the_row_leaves_an_orphan_the_sweep_removes(
        store: ExchangeStore) -> None:
    """Is the orphan of a crashed upload removed, and every blob a row names kept?"""
    releases = store.release(["c1"], "ps1", {"a.ipynb": NOTEBOOK}, "t", None)
    store_sources(store.session, releases, {"a.ipynb": NOTEBOOK + b"\n"}, store.content.put)
    submission, _ = submit(store, "c1", "ps1", "s1", {"a.ipynb": NOTEBOOK + b" "},
                           "key-00001", LIMITS)
    store.session.commit()
    orphan, written = store.content.write(b"a submission whose row was never committed")
    store.content.make_durable([written])
    incoming = store.content.root / orphan[:2] / ".incoming-crashed"
    incoming.write_bytes(b"half a blob")
    named = referenced_blobs(store.session)
    assert {e["sha256"] for e in submission.manifest} <= named
    assert releases[0].archive_sha256 in named and orphan not in named
    every = [p.name for p in store.content.root.glob("??/*") if not p.name.startswith(".")]
    for sha256 in every:
        age(store.content, sha256, 2 * DAY)
    os.utime(incoming, (time.time() - 2 * DAY,) * 2)

    assert store.content.sweep(named, older_than=DAY) == [orphan]
    assert not store.content.path(orphan).exists() and not incoming.exists()
    assert sorted(p.name for p in store.content.root.glob("??/*")) == sorted(
        set(every) - {orphan})
    assert store.files_of(submission.manifest) == {"a.ipynb": NOTEBOOK + b" "}


def test_a_young_orphan_or_content_written_again_survives(store: ExchangeStore) -> None:
    """Is an upload still in flight (its blob younger than the grace period) left alone,
    also when its content is an old orphan that it is about to name again?"""
    young, _ = store.content.write(b"an upload whose row is being committed")
    reused = store.content.put(b"an old orphan, submitted again")
    age(store.content, reused, 2 * DAY)
    store.content.write(b"an old orphan, submitted again")
    assert store.content.sweep(set(), older_than=DAY) == []
    assert store.content.path(young).exists() and store.content.path(reused).exists()
