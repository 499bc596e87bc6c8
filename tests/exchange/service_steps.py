"""The exchange store's calls in the order the service's submit and fetch handlers make them.

The store has no single-submission or single-fetch shortcut: the service batches both
(``hub.service.classroom.GroupCommit``), so tests without a hub go through the same
batched methods, one item at a time.
"""

from __future__ import annotations

from grading.exchange.errors import ExchangeRefused
from grading.exchange.models import Submission
from grading.exchange.store import (
    ExchangeStore,
    NewSubmission,
    SubmissionLimits,
    check_idempotency_key,
)


def submit(store: ExchangeStore, class_id: str, assignment_id: str, username: str,
           files: dict[str, bytes], idempotency_key: str,
           limits: SubmissionLimits) -> tuple[Submission, bool]:
    """Store a submission as ``SubmissionsHandler.post`` does; it and whether it is new.

    Raises the refusal (not released, flood limits) the service would answer with.
    """
    check_idempotency_key(idempotency_key)
    existing = store.find_submission(username, idempotency_key)
    if existing is not None:
        return existing, False
    release = store.require_release_head(class_id, assignment_id)
    manifest = [{"path": path, "sha256": store.content.put(data), "size": len(data)}
                for path, data in sorted(files.items())]
    [outcome] = store.add_submissions([NewSubmission(
        class_id, assignment_id, username, release.version, manifest, idempotency_key)],
        limits)
    if isinstance(outcome, ExchangeRefused):
        raise outcome
    return outcome


def fetch(store: ExchangeStore, class_id: str, assignment_id: str, username: str) -> int:
    """Record a student's fetch of the current release as ``FetchHandler.get`` does; its
    version."""
    version = store.require_release_head(class_id, assignment_id).version
    store.record_fetches([(class_id, assignment_id, username, version)])
    return version
