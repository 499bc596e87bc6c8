"""Finding shared items, and the figures shown beside each: uses, submissions, score, rating.

A search reads one page of items (newest first) and then the figures of just those
items in four grouped queries, so the page costs the same with 1,000 items as with 10
(``benchmarks/bench_shared_library.py``). Use counts follow the classes that released an
item: a submission counts for the item when its class and assignment id are a use's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from grading.exchange.models import Submission
from grading.gradebook.models import CellGrade
from hub.org.models import Person
from hub.shared_library.models import SharedItem, SharedRating, SharedUse
from hub.shared_library.visibility import visible_clause

PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    """A search's filters, as the page's query string gives them ("" for any)."""

    stage: str = ""
    grade: str = ""
    topic: str = ""
    standard: str = ""
    words: str = ""
    page: int = 0


@dataclass
class Figures:
    """How an item has been used and rated."""

    classes: int = 0
    submissions: int = 0
    average_percent: float | None = None
    rating: float | None = None
    ratings: int = 0


@dataclass
class Found:
    """One page of a search: the items, their figures, and whether more follow."""

    items: list[SharedItem]
    figures: dict[int, Figures] = field(default_factory=dict)
    more: bool = False


def search(session: Session, person: Person, filters: Filters) -> Found:
    """The items ``person`` may see that match ``filters``, newest first, one page."""
    query = select(SharedItem).where(visible_clause(person))
    if filters.stage:
        query = query.where(SharedItem.stage == filters.stage)
    if filters.grade.isdigit():
        query = query.where(("," + SharedItem.grades + ",").contains(f",{int(filters.grade)},"))
    if filters.topic:
        query = query.where(SharedItem.topic == filters.topic)
    if filters.standard:
        query = query.where(SharedItem.standard == filters.standard)
    if filters.words:
        query = query.where(SharedItem.title.contains(filters.words, autoescape=True))
    rows = list(session.scalars(query.order_by(SharedItem.id.desc())
                                .offset(filters.page * PAGE_SIZE).limit(PAGE_SIZE + 1)))
    found = Found(rows[:PAGE_SIZE], more=len(rows) > PAGE_SIZE)
    found.figures = figures(session, [item.id for item in found.items])
    return found


def choices(session: Session, person: Person) -> dict[str, list[str]]:
    """The topics and standards among the visible items, for the filter lists."""
    visible = visible_clause(person)
    return {name: list(session.scalars(select(column).where(visible).distinct()
                                       .order_by(column)))
            for name, column in (("topic", SharedItem.topic),
                                 ("standard", SharedItem.standard))}


def figures(session: Session, item_ids: list[int]) -> dict[int, Figures]:
    """Use counts, average score (percent of the points) and rating of each item."""
    result = {item_id: Figures() for item_id in item_ids}
    if not item_ids:
        return result
    uses = (select(SharedUse.item_id, SharedUse.class_id, SharedUse.assignment_id)
            .where(SharedUse.item_id.in_(item_ids)).distinct().subquery())
    for item_id, classes in session.execute(
            select(uses.c.item_id, func.count(distinct(uses.c.class_id)))
            .group_by(uses.c.item_id)):
        result[item_id].classes = classes
    for item_id, submissions in session.execute(
            select(uses.c.item_id, func.count(Submission.id))
            .join(Submission, (Submission.class_id == uses.c.class_id)
                  & (Submission.assignment_id == uses.c.assignment_id))
            .group_by(uses.c.item_id)):
        result[item_id].submissions = submissions
    scored = func.coalesce(CellGrade.override_score, CellGrade.manual_score,
                           CellGrade.auto_score)
    for item_id, points, maximum in session.execute(
            select(uses.c.item_id, func.sum(scored), func.sum(CellGrade.max_score))
            .join(CellGrade, (CellGrade.class_id == uses.c.class_id)
                  & (CellGrade.assignment_id == uses.c.assignment_id))
            .group_by(uses.c.item_id)):
        if maximum:
            result[item_id].average_percent = round(100 * (points or 0) / maximum, 1)
    for item_id, stars, count in session.execute(
            select(SharedRating.item_id, func.avg(SharedRating.stars), func.count())
            .where(SharedRating.item_id.in_(item_ids)).group_by(SharedRating.item_id)):
        result[item_id].rating, result[item_id].ratings = round(float(stars), 1), count
    return result
