"""The shared library's pages: search, publish, an item's page (review, use, rate), packages.

Who may see and do what is :mod:`hub.shared_library.visibility`; a refusal there is a 403
here that reads the same for an item that does not exist, so ids cannot be probed. Using
an item releases its version through the same :meth:`Classroom.release` as the built-in
library, and records which version each class got.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from tornado import web

from grading.exchange.archive import MIB, pack, unpack
from grading.exchange.content_store import ContentStore
from grading.exchange.errors import ExchangeRefused
from grading.exchange.store import check_assignment_id
from hub.auth.throttle import client_address
from hub.library import BANDS
from hub.org.directory import classes_taught
from hub.org.models import Role
from hub.service.pages.base import Forbidden, PageHandler
from hub.service.pages.shared_library_texts import LIBRARY_TEXTS
from hub.service.pages.teacher import ReleaseFormHandler
from hub.service.pages.timefmt import parse_local
from hub.service.pages.uploads import FormUploadHandler
from hub.shared_library.metadata import ItemDescription, LibraryProblem, check_files, describe
from hub.shared_library.models import SharedItem, SharedRating, SharedUse, SharedVersion
from hub.shared_library.package import export_package, import_package
from hub.shared_library.search import Filters, choices, figures, search
from hub.shared_library.visibility import NotVisible, may_review, visible_item
from hub.shared_library.workflow import (
    PUBLISHERS,
    publish,
    rate,
    record_uses,
    review,
    usable_version,
)

BLOBS_DIR = "shared-library"
ITEM = r"([0-9]{1,12})"
FIELDS = ("title", "shelf", "stage", "grades", "topic", "periods", "standard", "summary")


def library_store(handler: PageHandler) -> ContentStore:
    """The library's blobs, one store per application (it keeps flushing threads)."""
    settings = handler.application.settings
    if "shared_library_store" not in settings:
        settings["shared_library_store"] = ContentStore(
            Path(handler.classroom.data_dir) / BLOBS_DIR)
    return settings["shared_library_store"]


def description_of(item: SharedItem) -> ItemDescription:
    return ItemDescription(item.title, item.shelf, item.stage,
                           tuple(int(g) for g in item.grades.split(",")), item.topic,
                           item.periods, item.standard, item.summary)


class LibraryPage(PageHandler):
    """What the shared library's pages share: texts, the item check, problems on forms."""

    def render_library(self, template: str, **context: Any) -> None:
        zh = self.locale_name == "zh_CN"
        self.render_page(template, lt=LIBRARY_TEXTS[self.locale_name],
                         bands=[(key, value[1] if zh else value[2])
                                for key, value in BANDS.items()], **context)

    def item(self, session: Any, item_id: str) -> SharedItem:
        try:
            return visible_item(session, self.person, int(item_id))
        except NotVisible:
            raise Forbidden("forbidden") from None

    def files_of(self, version: SharedVersion) -> dict[str, bytes]:
        store = library_store(self)
        return {entry["path"]: store.read(entry["sha256"]) for entry in version.files}

    def log_exception(self, kind: Any, value: Any, traceback: Any) -> None:
        """A refusal or a bad form is the caller's mistake, answered, not a server fault."""
        if not isinstance(value, LibraryProblem | ExchangeRefused | NotVisible):
            super().log_exception(kind, value, traceback)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, LibraryProblem | ExchangeRefused):
            self.set_status(422 if isinstance(error, LibraryProblem) else 400)
            self.render_library("shared_problem.html", problem=error,
                                back=self.request.headers.get("Referer", ""))
            return
        if isinstance(error, NotVisible):
            error = Forbidden("forbidden")
            self.set_status(403)
            kwargs = {"exc_info": (Forbidden, error, None)}
        super().write_error(self.get_status(), **kwargs)


class SearchHandler(LibraryPage):
    """The library's items the caller may see, filtered; the import form for the region."""

    @web.authenticated
    def get(self) -> None:
        self.require_staff()
        page = self.get_query_argument("page", "0")
        filters = Filters(*(self.get_query_argument(name, "").strip()[:64] for name in (
            "stage", "grade", "topic", "standard", "words")),
            page=int(page) if page.isdigit() and len(page) < 6 else 0)
        with self.classroom.database.session() as session:
            found = search(session, self.person, filters)
            options = choices(session, self.person)
            for item in found.items:
                session.expunge(item)
        self.render_library("shared_library.html", found=found, filters=filters,
                            options=options, may_publish=self.person.role in PUBLISHERS,
                            may_import=self.person.role == Role.REGION_ADMIN)


class PublishHandler(FormUploadHandler, LibraryPage):
    """The publish form (a new item, or a new version of the caller's own) and its POST."""

    def max_upload_bytes(self) -> int:
        return self.classroom.max_submission_bytes + MIB

    def authorise_upload(self) -> None:
        if self.person.role not in PUBLISHERS or not self.person.school_id:
            raise Forbidden("teachers_only")

    @web.authenticated
    def get(self) -> None:
        self.authorise_upload()
        item_id = self.get_query_argument("item", "")
        values: dict[str, Any] = {"shelf": "school"}
        if item_id.isdigit():
            with self.classroom.database.session() as session:
                item = self.item(session, item_id)
                if item.author != self.person.username:
                    raise Forbidden("forbidden")
                values = {name: getattr(item, name) for name in FIELDS}
        self.render_library("shared_publish.html", values=values, item_id=item_id)

    @web.authenticated
    def post(self) -> None:
        self.parse_form()
        fields = {name: self.get_body_argument(name, "") for name in FIELDS}
        item_id = self.get_body_argument("item", "")
        description = describe(fields)
        files: dict[str, bytes] = {}
        for upload in self.request.files.get("files", []):
            if upload.filename.lower().endswith(".zip"):
                files.update(unpack(upload.body, self.classroom.archive_limits))
            else:
                files[Path(upload.filename.replace("\\", "/")).name] = upload.body
        for upload in self.request.files.get("folder", []):
            # a browser's folder upload names each file "<folder>/<path inside it>"
            files[upload.filename.replace("\\", "/").split("/", 1)[-1]] = upload.body
        files = check_files(files, self.classroom.max_submission_bytes)
        with self.classroom.database.session() as session:
            version = publish(session, self.person, description, files,
                              library_store(self).put,
                              int(item_id) if item_id.isdigit() else None)
            target = version.item_id
        self.redirect(f"{self.prefix}shared/{target}", status=303)


class ImportHandler(FormUploadHandler, LibraryPage):
    """A package from another center, onto the region's shelf, waiting for review."""

    def max_upload_bytes(self) -> int:
        return self.classroom.max_submission_bytes + MIB

    def authorise_upload(self) -> None:
        if self.person.role != Role.REGION_ADMIN:
            raise Forbidden("admins_only")

    @web.authenticated
    def post(self) -> None:
        self.parse_form()
        uploads = self.request.files.get("package", [])
        if not uploads:
            raise LibraryProblem("package", "请选择资源包", "choose a package")
        description, files = import_package(uploads[0].body, self.classroom.archive_limits)
        with self.classroom.database.session() as session:
            version = publish(session, self.person, description, files,
                              library_store(self).put, imported=True)
            target = version.item_id
        self.redirect(f"{self.prefix}shared/{target}", status=303)


class ItemHandler(LibraryPage):
    """One item: its description, versions, figures, and the forms the caller may use."""

    @web.authenticated
    def get(self, item_id: str) -> None:
        self.require_staff()
        with self.classroom.database.session() as session:
            item = self.item(session, item_id)
            curator = may_review(session, self.person, item)
            own = item.author == self.person.username
            versions = list(session.scalars(select(SharedVersion).where(
                SharedVersion.item_id == item.id).order_by(SharedVersion.version.desc())))
            if not (own or curator):
                versions = [v for v in versions if v.review == "approved"]
            used = session.scalar(select(SharedUse.id).where(
                SharedUse.item_id == item.id,
                SharedUse.username == self.person.username)) is not None
            my_rating = session.scalar(select(SharedRating.stars).where(
                SharedRating.item_id == item.id, SharedRating.username == self.person.username))
            classes = [{"id": c.id, "name": c.name}
                       for c in classes_taught(session, self.person.username)]
            item_figures = figures(session, [item.id])[item.id]
            for row in (item, *versions):
                session.expunge(row)
        self.render_library("shared_item.html", item=item, versions=versions, curator=curator,
                            own=own, used=used, my_rating=my_rating, classes=classes,
                            figures=item_figures)


class ReviewHandler(LibraryPage):
    @web.authenticated
    def post(self, item_id: str) -> None:
        version = self.get_body_argument("version", "")
        if not version.isdigit():
            raise LibraryProblem("version", "版本号有误", "bad version number")
        with self.classroom.database.session() as session:
            review(session, self.person, int(item_id), int(version),
                   self.get_body_argument("verdict", "") == "approve",
                   self.get_body_argument("reason", ""))
        self.redirect(f"{self.prefix}shared/{item_id}", status=303)


class UseHandler(ReleaseFormHandler, LibraryPage):
    """Release the item's usable version to the caller's classes, through the exchange."""

    @web.authenticated
    async def post(self, item_id: str) -> None:
        self.require_staff()
        assignment_id = check_assignment_id(self.get_body_argument("assignment", ""))
        class_ids = self.chosen_classes()
        try:
            due_at = parse_local(self.get_body_argument("due", ""))
        except ValueError as exc:
            raise web.HTTPError(400, "due") from exc
        with self.classroom.database.session() as session:
            item = self.item(session, item_id)
            version = usable_version(session, self.person, item)
            files, number = self.files_of(version), version.version
        await self.classroom.release(class_ids, assignment_id, files, self.person.username,
                                     due_at, self.get_body_argument("grade_on", ""),
                                     address=client_address(self.request))
        with self.classroom.database.session() as session:
            record_uses(session, self.person, int(item_id), number, class_ids, assignment_id)
        self.redirect(f"{self.prefix}shared/{item_id}", status=303)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        LibraryPage.write_error(self, status_code, **kwargs)


class RatingHandler(LibraryPage):
    @web.authenticated
    def post(self, item_id: str) -> None:
        try:
            with self.classroom.database.session() as session:
                rate(session, self.person, int(item_id), self.get_body_argument("stars", ""))
        except NotVisible:
            raise Forbidden("forbidden") from None
        self.redirect(f"{self.prefix}shared/{item_id}", status=303)


class DownloadHandler(LibraryPage):
    """The usable version as a package (``package.zip``) or as a plain folder zip to adapt
    and release through the upload form (``files.zip``)."""

    @web.authenticated
    def get(self, item_id: str, kind: str) -> None:
        self.require_staff()
        with self.classroom.database.session() as session:
            item = self.item(session, item_id)
            version = usable_version(session, self.person, item,
                                     newest=may_review(session, self.person, item))
            files, number = self.files_of(version), version.version
            description = description_of(item)
        body = export_package(description, number, files) if kind == "package" \
            else pack(files)
        self.send_file(body, f"shared-{item_id}-v{number}-{kind}.zip", "application/zip")


def shared_library_routes(prefix: str) -> list[tuple[str, type]]:
    base = f"{prefix}shared"
    return [
        (base, SearchHandler),
        (f"{base}/publish", PublishHandler),
        (f"{base}/import", ImportHandler),
        (f"{base}/{ITEM}", ItemHandler),
        (f"{base}/{ITEM}/review", ReviewHandler),
        (f"{base}/{ITEM}/release", UseHandler),
        (f"{base}/{ITEM}/rating", RatingHandler),
        (f"{base}/{ITEM}/(package|files)\\.zip", DownloadHandler),
    ]
