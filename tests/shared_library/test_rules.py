"""The shared library's rules against a real SQLite service database, and its packages.

Who sees an item before and after review, who may review (never the author), versions
and what a use records, ratings only after a use, and packages: a round trip keeps every
byte, and a forged package (path traversal, zip bomb, wrong checksum, stray file, bad
description) is refused whole with a message in Chinese and English.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, event, func, inspect, select, text

from grading.exchange.archive import ArchiveLimits
from grading.exchange.models import Submission
from grading.gradebook.models import CellGrade, GradingJob
from hub.audit.models import AuditEvent
from hub.db import ServiceDatabase, _enable_sqlite_foreign_keys
from hub.migrations import alembic_config
from hub.org.models import District, Person, Region, School
from hub.service.pages.shared_library_texts import LIBRARY_TEXTS
from hub.shared_library.metadata import LibraryProblem, check_files, describe
from hub.shared_library.models import SharedItem, SharedRating, SharedUse
from hub.shared_library.package import export_package, import_package
from hub.shared_library.search import Filters, figures, search
from hub.shared_library.visibility import NotVisible, visible_item
from hub.shared_library.workflow import publish, rate, record_uses, review, usable_version
from tests.org.test_migrations import schema_differences

LESSON = Path(__file__).resolve().parents[2] / "assignments" / "junior" / "rules-vs-learning"
FORM = {"title": "规则与学习", "shelf": "region", "stage": "junior", "grades": "7，8",
        "topic": "机器学习", "periods": "2", "standard": "义务教育信息科技 7-9", "summary": ""}
LIMITS = ArchiveLimits(max_total_bytes=8 * 1024 * 1024, max_file_bytes=4 * 1024 * 1024,
                       max_files=50)


def lesson_files() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in LESSON.iterdir() if path.is_file()
            and path.name != "assignment.toml"}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[ServiceDatabase]:
    database = ServiceDatabase(f"sqlite:///{tmp_path / 'aiclass.sqlite'}")
    with database.session() as session:
        session.add(Region(id="r", name="省"))
        session.flush()
        session.add_all([District(id="d1", region_id="r", name="甲区"),
                         District(id="d2", region_id="r", name="乙县")])
        session.flush()
        session.add_all([School(id="s1", region_id="r", name="一中", district_id="d1"),
                         School(id="s2", region_id="r", name="二中", district_id="d2")])
        session.flush()
        session.add_all([
            Person(username="tch-1", display_name="甲", role="teacher", school_id="s1"),
            Person(username="tch-2", display_name="乙", role="teacher", school_id="s2"),
            Person(username="sadm-1", display_name="丙", role="school_admin", school_id="s1"),
            Person(username="sadm-2", display_name="丁", role="school_admin", school_id="s2"),
            Person(username="dadm-1", display_name="戊", role="district_admin",
                   district_id="d1"),
            Person(username="dadm-2", display_name="己", role="district_admin",
                   district_id="d2"),
            Person(username="adm", display_name="庚", role="region_admin"),
            Person(username="stu-1", display_name="辛", role="student", school_id="s1")])
    yield database
    database.engine.dispose()


def who(database: ServiceDatabase, username: str) -> Person:
    with database.session() as session:
        found = session.get(Person, username)
        session.expunge(found)
        return found


def sees(database: ServiceDatabase, username: str, item_id: int) -> bool:
    with database.session() as session:
        try:
            visible_item(session, who(database, username), item_id)
        except NotVisible:
            return False
        listed = {i.id for i in search(session, who(database, username), Filters()).items}
        assert item_id in listed, "the search and the item page disagree"
        return True


def put(blobs: dict[str, bytes]):  # noqa: ANN201 - a blob store's put
    def store(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return digest
    return store


def test_review_decides_who_sees_and_versions_keep_their_review(
        database: ServiceDatabase) -> None:
    """Does only an approved item reach others, on its shelf, and never by its author's
    own approval? Does version 2 wait while version 1 stays in use?"""
    blobs: dict[str, bytes] = {}
    files = check_files(lesson_files(), LIMITS.max_total_bytes)
    with database.session() as session:
        first = publish(session, who(database, "tch-1"), describe(FORM), files, put(blobs))
        school_item = publish(session, who(database, "tch-1"),
                              describe({**FORM, "shelf": "school"}), files, put(blobs))
        item_id, school_id = first.item_id, school_item.item_id
    assert sees(database, "tch-1", item_id)
    for outsider in ("tch-2", "sadm-1", "sadm-2", "dadm-2", "stu-1"):
        assert not sees(database, outsider, item_id), outsider
    assert sees(database, "dadm-1", item_id) and sees(database, "adm", item_id)

    with database.session() as session, pytest.raises(NotVisible):
        review(session, who(database, "dadm-2"), item_id, 1, True, "")
    with database.session() as session, pytest.raises(LibraryProblem, match="原因"):
        review(session, who(database, "dadm-1"), item_id, 1, False, "  ")
    with database.session() as session:
        review(session, who(database, "dadm-1"), item_id, 1, True, "")
    assert sees(database, "tch-2", item_id) and sees(database, "sadm-2", item_id)
    assert not sees(database, "stu-1", item_id)

    # the school shelf: its admin curates, the region's admin does not; others never see it
    with database.session() as session, pytest.raises(NotVisible):
        review(session, who(database, "adm"), school_id, 1, True, "")
    with database.session() as session:
        review(session, who(database, "sadm-1"), school_id, 1, True, "")
    with database.session() as session:
        own = publish(session, who(database, "sadm-1"), describe({**FORM, "shelf": "school"}),
                      files, put(blobs))
        with pytest.raises(NotVisible):
            review(session, who(database, "sadm-1"), own.item_id, 1, True, "")
    assert not sees(database, "tch-2", school_id) and sees(database, "dadm-1", school_id)

    with database.session() as session:
        second = publish(session, who(database, "tch-1"), describe(FORM), files, put(blobs),
                         item_id)
        assert second.version == 2
        with pytest.raises(NotVisible):
            publish(session, who(database, "tch-2"), describe(FORM), files, put(blobs),
                    item_id)
        other = who(database, "tch-2")
        item = visible_item(session, other, item_id)
        assert usable_version(session, other, item).version == 1
        assert usable_version(session, who(database, "tch-1"), item).version == 2
        record_uses(session, other, item_id, 1, ["class-x"], "rules")
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions.count("library.published") == 4 and actions.count("library.reviewed") == 2
    with database.session() as session:
        assert session.scalar(select(SharedUse.version)) == 1


def test_a_rating_needs_a_use_and_is_one_per_teacher(database: ServiceDatabase) -> None:
    """Is a rating for an item never used refused, and does rating again change the one?"""
    with database.session() as session:
        version = publish(session, who(database, "tch-1"), describe(FORM),
                          check_files(lesson_files(), LIMITS.max_total_bytes), put({}))
        review(session, who(database, "adm"), version.item_id, 1, True, "")
    item_id = version.item_id
    with database.session() as session, pytest.raises(LibraryProblem, match="使用过"):
        rate(session, who(database, "tch-2"), item_id, "5")
    with database.session() as session:
        record_uses(session, who(database, "tch-2"), item_id, 1, ["c"], "a")
    for stars in ("5", "2"):
        with database.session() as session:
            rate(session, who(database, "tch-2"), item_id, stars)
    with database.session() as session, pytest.raises(LibraryProblem):
        rate(session, who(database, "tch-2"), item_id, "9")
    with database.session() as session:
        assert session.execute(select(func.count(), func.max(SharedRating.stars))).one() \
            == (1, 2)


def test_figures_count_classes_submissions_scores_and_ratings(
        database: ServiceDatabase) -> None:
    """Do the figures follow the classes that released the item (and only those), count a
    class released twice once, and average the graded points of their submissions?"""
    moment = datetime(2026, 11, 20, 8, 0)
    with database.session() as session:
        version = publish(session, who(database, "tch-1"), describe(FORM),
                          check_files(lesson_files(), LIMITS.max_total_bytes), put({}))
        review(session, who(database, "adm"), version.item_id, 1, True, "")
        item_id = version.item_id
        teacher = who(database, "tch-2")
        record_uses(session, teacher, item_id, 1, ["c1", "c2"], "rules")
        record_uses(session, teacher, item_id, 1, ["c1"], "rules")
        for number, (class_id, assignment_id, points) in enumerate(
                (("c1", "rules", 2.0), ("c1", "rules", 1.0), ("c2", "rules", 0.0),
                 ("c1", "other", 2.0), ("c3", "rules", 2.0)), start=1):
            session.add(Submission(id=number, key=f"{number:032x}", class_id=class_id,
                                   assignment_id=assignment_id, username=f"s{number}",
                                   release_version=1, submitted_at=moment,
                                   idempotency_key=str(number), manifest=[], total_bytes=1))
            session.flush()
            session.add(GradingJob(id=number, submission_id=number, class_id=class_id,
                                   assignment_id=assignment_id, state="done", reason="submit",
                                   requested_by="t", enqueued_at=moment, not_before=moment))
            session.flush()
            session.add(CellGrade(submission_id=number, class_id=class_id,
                                  assignment_id=assignment_id, username=f"s{number}",
                                  notebook="n.ipynb", grade_id="q1", position=0, kind="auto",
                                  max_score=2.0, auto_score=points, job_id=number))
        rate(session, teacher, item_id, "4")
    with database.session() as session:
        shown = figures(session, [item_id])[item_id]
    assert (shown.classes, shown.submissions, shown.average_percent) == (2, 3, 50.0)
    assert (shown.rating, shown.ratings) == (4.0, 1)


def test_a_package_round_trips_and_forged_ones_are_refused() -> None:
    """Does an exported package import to the same description and bytes, and is every
    forged package refused whole, naming the problem in both languages?"""
    description = describe(FORM)
    files = check_files(lesson_files(), LIMITS.max_total_bytes)
    package = export_package(description, 3, files)
    assert import_package(package, LIMITS) == (description, files)

    def forged(mutate) -> bytes:  # noqa: ANN001 - a function of the members
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist()}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in mutate(members).items():
                archive.writestr(name, data)
        return buffer.getvalue()

    manifest = json.loads(zipfile.ZipFile(io.BytesIO(package)).read("manifest.json"))
    bomb_entry = {"path": "big.csv", "sha256": hashlib.sha256(b"0" * 200_000_000).hexdigest(),
                  "size": 200_000_000}
    cases = {
        "离开": lambda m: {**m, "files/../../etc/cron.d/x": b"x"},
        "校验和": lambda m: {**m, "files/messages.csv": b"label,text\n1,forged\n"},
        "清单外": lambda m: {**m, "run.sh": b"rm -rf /"},
        "清单与文件不符": lambda m: {k: v for k, v in m.items() if k != "files/messages.csv"},
        "学段": lambda m: {**m, "manifest.json": json.dumps(
            {**manifest, "item": {**manifest["item"], "stage": "college"}}).encode()},
        "manifest": lambda m: {k: v for k, v in m.items() if k != "manifest.json"},
        "上限": lambda m: {**m, "files/big.csv": b"0" * 200_000_000, "manifest.json": json.dumps(
            {**manifest, "files": [*manifest["files"], bomb_entry]}).encode()},
    }
    for expected, mutate in cases.items():
        with pytest.raises(LibraryProblem) as refused:
            import_package(forged(mutate), LIMITS)
        assert expected in refused.value.zh and refused.value.en, (expected, refused.value)
    with pytest.raises(LibraryProblem, match="zip"):
        import_package(b"not a zip", LIMITS)


def test_texts_have_the_same_keys_in_both_languages() -> None:
    assert set(LIBRARY_TEXTS["zh_CN"]) == set(LIBRARY_TEXTS["en"])


def test_revision_0007_adds_the_library_to_a_database_with_data(tmp_path: Path) -> None:
    """Does a database of revision 0006 keep its data and gain exactly the models' tables,
    and does going back to 0006 take them away again?"""
    url = f"sqlite:///{tmp_path / 'aiclass.sqlite'}"
    engine = create_engine(url)
    event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    command.upgrade(alembic_config(engine), "0006")
    assert "shared_items" not in inspect(engine).get_table_names()
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO regions VALUES ('r', '旧区域')"))
    engine.dispose()
    database = ServiceDatabase(url)
    assert schema_differences(database.engine) == []
    with database.session() as session:
        assert session.get(Region, "r").name == "旧区域"
        assert session.scalar(select(func.count()).select_from(SharedItem)) == 0
    command.downgrade(alembic_config(database.engine), "0006")
    assert not {"shared_items", "shared_versions", "shared_uses", "shared_ratings"} \
        & set(inspect(database.engine).get_table_names())
    database.engine.dispose()
