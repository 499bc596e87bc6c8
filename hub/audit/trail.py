"""Append to the audit trail, check its chain, prune it, and forget a person in it.

Every row's ``hash`` is SHA-256 over a canonical JSON array of its fields and the hash
of the row before it (:func:`row_hash`). Writers take the chain's head row with an
``UPDATE`` before reading it: PostgreSQL then holds that row's lock, and SQLite its
database write lock, until the caller's transaction ends, so two concurrent writers
append one after the other and never both chain to the same row. The price is that
audited transactions commit one at a time, which the classroom's rate of audited events
(sign-ins, grade edits, imports) easily bears.

People are written as :func:`person_ref` (an HMAC of the username under the database's
own key), so the chain never holds a username or a name; ``audit_people`` maps a
reference back to its username for the search page until :func:`forget_person` erases
that mapping.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from hub.audit.actions import ACTIONS, UnknownAction
from hub.audit.models import REF_LENGTH, AuditChain, AuditEvent, AuditPerson

HEAD_ID = 1
COMMAND_LINE = "console"
"""The ``source`` of events made at the server's command line (``aiclass ...``)."""
SOURCE_LENGTH = 64
VERIFY_BATCH = 10_000
_EVENTS = AuditEvent.__table__.c
CHAINED = (_EVENTS.id, _EVENTS.at, _EVENTS.actor_ref, _EVENTS.action, _EVENTS.subject_ref,
           _EVENTS.school, _EVENTS.class_id, _EVENTS.source, _EVENTS.detail,
           _EVENTS.prev_hash, _EVENTS.hash)
"""The columns :func:`verify` reads, in :func:`row_hash`'s order then the row's hash (the
table's, not the mapped class's: plain rows, without the ORM's per-row work)."""
HASHED = ("id", "at", "actor_ref", "action", "subject_ref", "school", "class_id", "source",
          "detail", "prev_hash")
"""The fields :func:`row_hash` takes, in its order."""


def utc_now() -> datetime:
    """Now in UTC, naive, as every DateTime column of the service database holds it."""
    return datetime.now(UTC).replace(tzinfo=None)


def canonical_detail(detail: Mapping[str, object] | None) -> str:
    """The JSON text stored and hashed for ``detail``: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"))


def canonical_row(event_id: int, at: datetime, actor_ref: str, action: str, subject_ref: str,
                  school: str, class_id: str, source: str, detail: str, prev_hash: str
                  ) -> bytes:
    """The bytes a row's hash covers: its fields and ``prev_hash``, each length-prefixed.

    Length prefixes (``5:sch-1,``) make the encoding unambiguous, so no field can lend
    characters to its neighbour, and cost less than JSON, which matters when a million
    rows are verified. The row's id is inside, so moving or renumbering a row breaks
    it as surely as editing one.
    """
    parts = (str(event_id), at.isoformat(timespec="microseconds"), actor_ref, action,
             subject_ref, school, class_id, source, detail, prev_hash)
    return "".join([f"{len(part)}:{part}," for part in parts]).encode("utf-8")


def row_hash(event_id: int, at: datetime, actor_ref: str, action: str, subject_ref: str,
             school: str, class_id: str, source: str, detail: str, prev_hash: str) -> str:
    """The hash of one row: SHA-256 over :func:`canonical_row`."""
    return hashlib.sha256(canonical_row(event_id, at, actor_ref, action, subject_ref, school,
                                        class_id, source, detail, prev_hash)).hexdigest()


def _ref_key(session: Session) -> bytes:
    return bytes.fromhex(session.execute(
        select(AuditChain.ref_key).where(AuditChain.id == HEAD_ID)).scalar_one())


def _ref(key: bytes, username: str) -> str:
    return hmac.new(key, username.encode("utf-8"), hashlib.sha256).hexdigest()[:REF_LENGTH]


def person_ref(session: Session, username: str) -> str:
    """The pseudonymous reference the trail writes for ``username`` ("" for nobody).

    It needs the session because the key lives in the database (see
    :mod:`hub.audit.models`); the same username always gives the same reference, so a
    person's rows can be found, and after :func:`forget_person` they can no longer be
    read back to a username from the database alone.
    """
    return _ref(_ref_key(session), username) if username else ""


def _remember(session: Session, refs: dict[str, str]) -> None:
    """Map each new reference to its username (the head lock rules out a racing writer)."""
    wanted = {ref: username for username, ref in refs.items()}
    for chunk in _chunks(list(wanted)):
        for known in session.scalars(select(AuditPerson.ref).where(AuditPerson.ref.in_(chunk))):
            del wanted[known]
    rows = [{"ref": ref, "username": username} for ref, username in wanted.items()]
    for chunk in _chunks(rows):
        session.execute(insert(AuditPerson), chunk)


def _chunks(items: list, size: int = 1000) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _take_head(session: Session) -> AuditChain:
    """Lock the head row, then read it: the lock comes first, so the read is the newest."""
    session.execute(update(AuditChain).where(AuditChain.id == HEAD_ID)
                    .values(last_id=AuditChain.last_id)
                    .execution_options(synchronize_session=False))
    return session.execute(select(AuditChain).where(AuditChain.id == HEAD_ID)
                           .execution_options(populate_existing=True)).scalar_one()


@dataclass(frozen=True)
class AuditEntry:
    """One event to append: who (a username, "" for the system) did what to whom, where.

    ``detail`` must not hold names: counts, ids, file names, the fields that changed.
    """

    actor: str
    action: str
    subject: str = ""
    school: str = ""
    class_id: str = ""
    source: str = ""
    detail: Mapping[str, object] | None = None


def record_many(session: Session, entries: Sequence[AuditEntry]) -> list[int]:
    """Append ``entries`` in order, in the caller's transaction; return their ids.

    The head is taken once, so a roster import of thousands of people costs a few bulk
    statements rather than a lock per person. The rows are written only if the caller's
    transaction commits, so an audited change and its rows stand or fall together.
    """
    for entry in entries:
        if entry.action not in ACTIONS:
            raise UnknownAction(entry.action)
    if not entries:
        return []
    head = _take_head(session)
    key = bytes.fromhex(head.ref_key)
    refs = {username: _ref(key, username) for entry in entries
            for username in (entry.actor, entry.subject) if username}
    _remember(session, refs)
    at, last_id, last_hash, rows = utc_now(), head.last_id, head.last_hash, []
    for entry in entries:
        last_id += 1
        event = {"id": last_id, "at": at, "actor_ref": refs.get(entry.actor, ""),
                 "action": entry.action, "subject_ref": refs.get(entry.subject, ""),
                 "school": entry.school or "", "class_id": entry.class_id or "",
                 "source": (entry.source or "")[:SOURCE_LENGTH],
                 "detail": canonical_detail(entry.detail), "prev_hash": last_hash}
        last_hash = event["hash"] = row_hash(*(event[name] for name in HASHED))
        rows.append(event)
    for chunk in _chunks(rows):
        session.execute(insert(AuditEvent), chunk)
    session.execute(update(AuditChain).where(AuditChain.id == HEAD_ID)
                    .values(last_id=last_id, last_hash=last_hash)
                    .execution_options(synchronize_session=False))
    return [row["id"] for row in rows]


def record(session: Session, *, actor: str, action: str, subject: str = "", school: str = "",
           class_id: str = "", source: str = "", detail: Mapping[str, object] | None = None
           ) -> int:
    """Append one event (see :class:`AuditEntry`) in the caller's transaction; return its id.

    ``actor`` and ``subject`` are usernames ("" for the system or for nobody); they are
    stored as references and remembered in ``audit_people``. To record an erasure,
    record it first and then :func:`forget_person`, so that the mapping goes too.
    """
    return record_many(session, [AuditEntry(actor, action, subject, school, class_id, source,
                                            detail)])[0]


def forget_person(session: Session, username: str) -> int:
    """Erase the mapping of ``username``'s reference; return how many mappings went (0 or 1).

    The chained rows keep the reference, so the chain still verifies, but nothing in
    the database says any more whose it was.
    """
    ref = person_ref(session, username)
    result = session.execute(delete(AuditPerson).where(
        (AuditPerson.ref == ref) | (AuditPerson.username == username)))
    return result.rowcount


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify` found: rows checked and the first row whose link is broken."""

    rows_checked: int
    first_broken_id: int | None
    reason: str = ""
    """Why that link is broken, in Chinese and in English; "" when the chain is whole."""

    @property
    def intact(self) -> bool:
        """Whether every link held."""
        return self.first_broken_id is None


def verify(session: Session) -> VerifyResult:
    """Walk the chain from where it starts (after pruning) to its head; stop at the first break.

    Each row must have the next id, carry the previous row's hash and hash to its own
    ``hash``; the last row must be the head. An edited row fails its own hash, a deleted
    one leaves a gap in the ids, a deleted tail leaves the head pointing past the end.
    Rows appended while it runs are past the head it read first, and left for next time.
    """
    head = session.execute(select(AuditChain).where(AuditChain.id == HEAD_ID)).scalar_one()
    expected_id, expected_prev = head.pruned_through + 1, head.anchor_hash
    checked = 0
    rows = session.execute(select(*CHAINED).where(_EVENTS.id <= head.last_id)
                           .order_by(_EVENTS.id),
                           execution_options={"stream_results": True,
                                              "max_row_buffer": VERIFY_BATCH})
    for (event_id, at, actor_ref, action, subject_ref, school, class_id, source, detail,
         prev_hash, stored_hash) in rows:
        if event_id != expected_id:
            return VerifyResult(checked, min(event_id, expected_id),
                                f"第 {expected_id} 行缺失 / row {expected_id} is missing")
        if prev_hash != expected_prev:
            return VerifyResult(checked, event_id, "与上一行的哈希不符 / does not carry "
                                "the previous row's hash")
        if row_hash(event_id, at, actor_ref, action, subject_ref, school, class_id, source,
                    detail, prev_hash) != stored_hash:
            return VerifyResult(checked, event_id,
                                "内容与哈希不符（被修改）/ content does not match its hash "
                                "(edited)")
        checked += 1
        expected_id, expected_prev = event_id + 1, stored_hash
    rows.close()
    if expected_id != head.last_id + 1 or expected_prev != head.last_hash:
        return VerifyResult(checked, expected_id,
                            f"链在第 {expected_id} 行之前结束（末尾被删除）/ the chain ends "
                            f"before row {expected_id} (its tail was deleted)")
    return VerifyResult(checked, None)


def prune(session: Session, before: datetime, *, actor: str = "", source: str = "") -> int:
    """Delete the oldest rows written before ``before``; return how many went.

    Only a prefix of the chain goes (up to the first row at or after ``before``), and
    the head row remembers the last deleted id and hash as the chain's new anchor, so
    :func:`verify` still checks every remaining link. The pruning is itself recorded.
    """
    head = _take_head(session)
    first_kept = session.execute(select(func.min(AuditEvent.id))
                                 .where(AuditEvent.at >= before)).scalar_one()
    through = head.last_id if first_kept is None else first_kept - 1
    if through <= head.pruned_through:
        return 0
    anchor = session.execute(select(AuditEvent.hash).where(AuditEvent.id == through)
                             ).scalar_one()
    deleted = session.execute(delete(AuditEvent).where(AuditEvent.id <= through)).rowcount
    session.execute(update(AuditChain).where(AuditChain.id == HEAD_ID)
                    .values(pruned_through=through, anchor_hash=anchor)
                    .execution_options(synchronize_session=False))
    record(session, actor=actor, action="audit.pruned", source=source,
           detail={"through_id": through, "rows": deleted})
    return deleted
