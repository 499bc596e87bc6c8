"""The audit trail's tables in the service database.

``audit_events`` is the chain itself: every field of a row but its own ``hash`` goes into
that hash, and each row carries the hash of the row before it, so editing, inserting or
deleting a row breaks a link that :func:`hub.audit.trail.verify` finds. People appear in
it only as a pseudonymous reference (an HMAC of the username), never by username or real
name, so that erasing a person (:func:`hub.audit.trail.forget_person`) deletes their row
in the unchained ``audit_people`` and leaves the chain whole: the rows stay, but no longer
say who. ``audit_chain`` is one row: the chain's head (the lock every writer takes, so
concurrent writers append one after another), where the chain starts after old rows were
pruned, and the key of the references, kept in the database rather than the data dir
because a kubernetes hub's data dir is an emptyDir and the references must not change
when the pod restarts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

HASH_LENGTH = 64
"""Hex digits of a SHA-256 hash."""
REF_LENGTH = 32
"""Hex digits kept of a person's HMAC-SHA256 reference (128 bits)."""
GENESIS_HASH = "0" * HASH_LENGTH
"""The ``prev_hash`` of the first row ever written."""


class AuditBase(DeclarativeBase):
    """Declarative base of the audit trail's tables."""


class AuditEvent(AuditBase):
    """One thing that happened: who (``actor_ref``) did ``action`` to whom (``subject_ref``).

    ``id`` is given by the chain's head, not by the database, so that ids have no gaps
    and a deleted row shows as one. ``detail`` is canonical JSON text (sorted keys), the
    exact text hashed; it never holds a name.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor_ref: Mapped[str] = mapped_column(String(REF_LENGTH), index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    subject_ref: Mapped[str] = mapped_column(String(REF_LENGTH), index=True)
    school: Mapped[str] = mapped_column(String(64), index=True)
    class_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH))


class AuditPerson(AuditBase):
    """Which username a reference stands for: display and search only, outside the chain."""

    __tablename__ = "audit_people"

    ref: Mapped[str] = mapped_column(String(REF_LENGTH), primary_key=True)
    username: Mapped[str] = mapped_column(String(32), index=True)


class AuditChain(AuditBase):
    """The single row (``id`` 1) holding the chain's head, its start and the reference key.

    ``pruned_through`` is the id of the last row deleted by retention (0 when none) and
    ``anchor_hash`` that row's hash: the oldest remaining row must follow them.
    """

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    pruned_through: Mapped[int] = mapped_column(Integer)
    anchor_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    ref_key: Mapped[str] = mapped_column(String(HASH_LENGTH))
