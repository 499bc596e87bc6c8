"""The exchange store without a hub: versions, history, due dates, extensions, idempotency."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from grading.exchange.archive import MIB, ArchiveLimits, pack, unpack
from grading.exchange.content_store import ContentStore
from grading.exchange.deadlines import lateness
from grading.exchange.errors import ExchangeRefused
from grading.exchange.store import ExchangeStore, NewSubmission, SubmissionLimits, utcnow
from tests.exchange.service_steps import fetch, submit

NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                       "nbformat_minor": 5}).encode()
LIMITS = SubmissionLimits(ArchiveLimits(10 * MIB, 10 * MIB, 50), per_minute=6, kept=100)


def test_re_release_is_a_new_version_and_a_retry_is_not(store: ExchangeStore) -> None:
    (first,) = store.release(["c1"], "ps1", {"a.ipynb": NOTEBOOK}, "t", None)
    (retry,) = store.release(["c1"], "ps1", {"a.ipynb": NOTEBOOK}, "t", None)
    assert first.version == retry.version == 1
    fetch(store, "c1", "ps1", "s1")
    (second,) = store.release(["c1"], "ps1", {"a.ipynb": NOTEBOOK + b" "}, "t", None)
    assert second.version == 2
    assert store.fetched_versions("s1") == {("c1", "ps1"): 1}
    assert [r.version for r in store.current_releases(["c1"])] == [2]
    assert store.current_releases(["c2"]) == []


def test_lateness_follows_extensions_granted_before_or_after_the_due_date(
        store: ExchangeStore) -> None:
    past = utcnow() - timedelta(hours=2)
    store.release(["c1"], "ps1", {"a.ipynb": NOTEBOOK}, "t", past)
    assert store.due_for("c1", "ps1", "s1") == past
    submission, _ = submit(store, "c1", "ps1", "s1", {"a.ipynb": NOTEBOOK}, "key-00001",
                           LIMITS)
    assert lateness(submission.submitted_at, past) > timedelta(hours=1)
    later = utcnow() + timedelta(days=1)
    store.grant_extension("c1", "ps1", "s1", later, "t")
    assert store.due_for("c1", "ps1", "s1") == later
    assert lateness(submission.submitted_at, later) is None
    assert store.due_for("c1", "ps1", "s2") == past


def test_history_is_kept_and_the_teacher_may_choose(store: ExchangeStore) -> None:
    store.release(["c1"], "ps1", {"a.ipynb": NOTEBOOK}, "t", None)
    first, _ = submit(store, "c1", "ps1", "s1", {"a.ipynb": NOTEBOOK}, "key-00001",
                      LIMITS)
    second, _ = submit(store, "c1", "ps1", "s1", {"a.ipynb": NOTEBOOK + b"\n"}, "key-00002",
                       LIMITS)
    assert store.counted("c1", "ps1", "s1").id == second.id
    store.choose(first)
    assert store.counted("c1", "ps1", "s1").id == first.id
    rows = store.collect("c1", "ps1", ["s1", "s2"])
    assert [(name, s.id if s else None) for name, s, _ in rows] == [("s1", first.id),
                                                                   ("s2", None)]


def test_retry_returns_the_same_submission_and_limits_refuse(store: ExchangeStore) -> None:
    store.release(["c1"], "ps1", {"a.ipynb": NOTEBOOK}, "t", None)
    limits = replace(LIMITS, per_minute=2, kept=10)
    first, created = submit(store, "c1", "ps1", "s1", {"a.ipynb": NOTEBOOK}, "key-00001", limits)
    again, created_again = submit(store, "c1", "ps1", "s1", {}, "key-00001", limits)
    assert created and not created_again and again.id == first.id
    submit(store, "c1", "ps1", "s1", {"a.ipynb": NOTEBOOK}, "key-00002", limits)
    with pytest.raises(ExchangeRefused) as refusal:
        submit(store, "c1", "ps1", "s1", {"a.ipynb": NOTEBOOK}, "key-00003", limits)
    assert refusal.value.code == "too_many_requests"
    with pytest.raises(ExchangeRefused) as unreleased:
        submit(store, "c1", "ps2", "s1", {"a.ipynb": NOTEBOOK}, "key-00004", limits)
    assert unreleased.value.code == "not_released"


def test_a_batch_of_submissions_keeps_keys_and_limits(store: ExchangeStore) -> None:
    """The service's writer inserts many at once: the same answers as one at a time."""
    store.release(["c1"], "ps1", {"a.ipynb": NOTEBOOK}, "t", None)
    limits = replace(LIMITS, per_minute=2, kept=10)
    earlier, _ = submit(store, "c1", "ps1", "s1", {"a.ipynb": NOTEBOOK}, "key-00001", limits)
    manifest = [{"path": "a.ipynb", "sha256": store.content.put(NOTEBOOK),
                 "size": len(NOTEBOOK)}]

    def new(username: str, key: str) -> NewSubmission:
        return NewSubmission("c1", "ps1", username, 1, manifest, key)

    outcomes = store.add_submissions([new("s1", "key-00001"), new("s1", "key-00002"),
                                      new("s1", "key-00002"), new("s1", "key-00003"),
                                      new("s2", "key-00001")], limits)
    assert outcomes[0] == (earlier, False)
    second, created = outcomes[1]
    assert created and second.submitted_at >= earlier.submitted_at
    assert outcomes[2] == (second, False)  # the same key twice in one batch: stored once
    assert isinstance(outcomes[3], ExchangeRefused)
    assert outcomes[3].code == "too_many_requests"  # two in the last minute already
    other, other_created = outcomes[4]
    assert other_created and other.username == "s2" and other.id != second.id
    assert [s.idempotency_key for s in store.submissions_of("c1", "ps1", "s1")] == [
        "key-00001", "key-00002"]


def test_fetches_are_upserted(store: ExchangeStore) -> None:
    store.release(["c1"], "ps1", {"a.ipynb": NOTEBOOK}, "t", None)
    store.record_fetches([("c1", "ps1", "s1", 1), ("c1", "ps1", "s2", 1)])
    store.record_fetches([("c1", "ps1", "s1", 2)])
    assert store.fetched_versions("s1") == {("c1", "ps1"): 2}
    assert store.fetched_versions("s2") == {("c1", "ps1"): 1}


def test_content_store_writes_whole_blobs_only(tmp_path: Path) -> None:
    content = ContentStore(tmp_path / "blobs")
    sha = content.put(b"hello")
    assert content.put(b"hello") == sha
    assert content.read(sha) == b"hello"
    assert not list((tmp_path / "blobs").rglob(".incoming-*"))
    with pytest.raises(ValueError):
        content.path("../../etc/passwd")


def test_unflushed_blobs_are_named_until_flushed(tmp_path: Path) -> None:
    """A blob written and not yet flushed is handed to every writer of the same content,
    so no request's row can be committed naming a blob that only the page cache holds."""
    content = ContentStore(tmp_path / "blobs")
    sha, written = content.write(b"answer")
    assert written == content.path(sha) and written.read_bytes() == b"answer"
    assert content.write(b"answer") == (sha, written)  # another request, same content
    content.make_durable([written, written])
    assert content.write(b"answer") == (sha, None)
    assert content.put(b"other") != sha and content.write(b"other")[1] is None
    assert not list((tmp_path / "blobs").rglob(".incoming-*"))


def test_the_same_files_pack_to_the_same_bytes_at_any_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A release is known by its archive's hash: two seconds between a retry and the first
    request must not make it another release."""
    files = {"a.ipynb": NOTEBOOK, "data/b.csv": b"x,y\n1,2\n"}
    first = pack(files)
    monkeypatch.setattr("time.time", lambda: 2_000_000_000.0)
    assert pack(files) == first
    assert pack({**files, "data/b.csv": b"x,y\n1,3\n"}) != first
    assert unpack(first, LIMITS.archive) == files


def test_unpack_skips_checkpoints_and_refuses_zip_bombs() -> None:
    limits = ArchiveLimits(max_total_bytes=1_000_000, max_file_bytes=500_000, max_files=3)
    files = unpack(pack({"a.ipynb": NOTEBOOK, ".ipynb_checkpoints/a-checkpoint.ipynb": b"x"}),
                   limits)
    assert list(files) == ["a.ipynb"]
    bomb = pack({"a.ipynb": NOTEBOOK, "zeros.bin": bytes(5_000_000)})
    assert len(bomb) < 100_000
    with pytest.raises(ExchangeRefused) as refusal:
        unpack(bomb, limits)
    assert refusal.value.code == "file_too_large" and "zeros.bin" in refusal.value.zh
    with pytest.raises(ExchangeRefused) as many:
        unpack(pack({f"{i}.ipynb": NOTEBOOK for i in range(4)}), limits)
    assert many.value.code == "too_many_files"
    with pytest.raises(ExchangeRefused) as empty:
        unpack(pack({"notes.txt": b"hi"}), limits)
    assert empty.value.code == "no_notebooks"
