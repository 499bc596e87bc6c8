"""Publishing, reviewing, using and rating shared items: each step checked, then recorded.

Every function works in the caller's transaction and raises before it writes: a
:class:`~hub.shared_library.metadata.LibraryProblem` for bad input (shown on the form),
:class:`~hub.shared_library.visibility.NotVisible` for a caller who may not. Files are
blobs in a :class:`~grading.exchange.content_store.ContentStore` of the library's own
(the exchange's sweeps only know the exchange's rows, so the library keeps its blobs
apart), written before the row that names them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.audit.trail import record
from hub.org.models import Person, Role
from hub.shared_library.metadata import ItemDescription, LibraryProblem
from hub.shared_library.models import (
    Review,
    SharedItem,
    SharedRating,
    SharedUse,
    SharedVersion,
    Shelf,
)
from hub.shared_library.visibility import NotVisible, may_review, visible_item

PUBLISHERS = (Role.TEACHER, Role.SCHOOL_ADMIN)
"""Who publishes their own lessons: those who teach at a school."""


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _manifest(files: dict[str, bytes], put: Callable[[bytes], str]) -> list[dict]:
    return [{"path": path, "sha256": put(files[path]), "size": len(files[path])}
            for path in sorted(files)]


def publish(session: Session, person: Person, description: ItemDescription,
            files: dict[str, bytes], put: Callable[[bytes], str],
            item_id: int | None = None, *, imported: bool = False) -> SharedVersion:
    """A new item (version 1), or version n+1 of the caller's own item, waiting for review.

    ``imported``: a region admin bringing a package from another center onto the
    region's shelf (no school of this region wrote it).
    """
    if imported:
        if person.role != Role.REGION_ADMIN:
            raise NotVisible("import")
    elif person.role not in PUBLISHERS or not person.school_id:
        raise NotVisible("publish")
    if description.shelf == Shelf.SCHOOL and imported:
        raise LibraryProblem("shelf", "导入的资源只能放入区域资源库",
                             "an imported package goes to the region's library")
    if item_id is None:
        item = SharedItem(author=person.username, created_at=now(),
                          school_id=None if imported else person.school_id)
        session.add(item)
        version = 1
    else:
        item = session.get(SharedItem, item_id)
        if item is None or item.author != person.username:
            raise NotVisible(item_id)
        version = 1 + session.scalar(select(func.max(SharedVersion.version))
                                     .where(SharedVersion.item_id == item_id))
    item.shelf = description.shelf
    item.title, item.stage, item.topic = description.title, description.stage, description.topic
    item.grades = ",".join(str(grade) for grade in description.grades)
    item.periods, item.standard = description.periods, description.standard
    item.summary = description.summary
    session.flush()
    row = SharedVersion(item_id=item.id, version=version, files=_manifest(files, put),
                        review=Review.PENDING, reason="", published_at=now())
    session.add(row)
    session.flush()
    record(session, actor=person.username,
           action="library.imported" if imported else "library.published",
           school=item.school_id or "", source="library",
           detail={"item": item.id, "version": version, "shelf": item.shelf,
                   "files": len(files)})
    return row


def review(session: Session, person: Person, item_id: int, version: int, approve: bool,
           reason: str) -> SharedVersion:
    """A curator's verdict on a pending version; a rejection must say why."""
    item = visible_item(session, person, item_id)
    if not may_review(session, person, item):
        raise NotVisible(item_id)
    row = session.scalar(select(SharedVersion).where(SharedVersion.item_id == item_id,
                                                     SharedVersion.version == version))
    if row is None or row.review != Review.PENDING:
        raise LibraryProblem("version", "这个版本不在待审核状态",
                             "this version is not waiting for review")
    reason = reason.strip()[:2000]
    if not approve and not reason:
        raise LibraryProblem("reason", "退回时请写明原因", "a rejection needs a reason")
    row.review = Review.APPROVED if approve else Review.REJECTED
    row.reason, row.reviewed_by, row.reviewed_at = reason, person.username, now()
    if approve:
        item.approved_version = max(item.approved_version or 0, version)
    record(session, actor=person.username, action="library.reviewed",
           school=item.school_id or "", source="library",
           detail={"item": item_id, "version": version, "verdict": row.review})
    return row


def usable_version(session: Session, person: Person, item: SharedItem,
                   newest: bool = False) -> SharedVersion:
    """The version ``person`` gets when they use the item: the approved one; an author
    may also try their own newest version before it is approved, and a curator
    (``newest``, the caller has asked :func:`may_review`) reads what they review."""
    number = item.approved_version
    if newest or item.author == person.username:
        number = session.scalar(select(func.max(SharedVersion.version))
                                .where(SharedVersion.item_id == item.id))
    row = None if number is None else session.scalar(select(SharedVersion).where(
        SharedVersion.item_id == item.id, SharedVersion.version == number))
    if row is None:
        raise NotVisible(item.id)
    return row


def record_uses(session: Session, person: Person, item_id: int, version: int,
                class_ids: list[str], assignment_id: str) -> None:
    """Remember that these classes got this version (the caller has released it)."""
    for class_id in class_ids:
        session.add(SharedUse(item_id=item_id, version=version, username=person.username,
                              class_id=class_id, assignment_id=assignment_id, used_at=now()))


def rate(session: Session, person: Person, item_id: int, stars: str) -> None:
    """One rating per teacher, 1 to 5, only by a teacher who released the item to a class."""
    visible_item(session, person, item_id)
    if not stars.isdigit() or not 1 <= int(stars) <= 5:
        raise LibraryProblem("stars", "评分必须是 1 到 5", "a rating is from 1 to 5")
    used = session.scalar(select(SharedUse.id).where(SharedUse.item_id == item_id,
                                                     SharedUse.username == person.username))
    if used is None:
        raise LibraryProblem("stars", "只有在班级中使用过这个资源的教师才能评分",
                             "only a teacher who used this item with a class may rate it")
    rating = session.scalar(select(SharedRating).where(SharedRating.item_id == item_id,
                                                       SharedRating.username == person.username))
    if rating is None:
        session.add(SharedRating(item_id=item_id, username=person.username, stars=int(stars),
                                 rated_at=now()))
    else:
        rating.stars, rating.rated_at = int(stars), now()
