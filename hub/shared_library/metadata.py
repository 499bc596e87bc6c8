"""What a shared item says about itself, checked: the form's fields and its files.

The same checks serve the publish form and an imported package's manifest, so a package
from another center can hold nothing a teacher could not have typed. A problem names the
field (or file) in Chinese first, then English, and nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from grading.exchange.archive import check_notebook, check_relative_path
from grading.exchange.errors import ExchangeRefused
from hub.library import BANDS
from hub.messages import FieldProblem
from hub.shared_library.models import Shelf

MAX_PERIODS = 20
FIELD_LENGTHS = {"title": 120, "topic": 64, "standard": 64, "summary": 2000}


class LibraryProblem(FieldProblem):
    """One field of a library form or package is wrong; nothing was changed."""


@dataclass(frozen=True)
class ItemDescription:
    """An item's searchable description, checked (see :func:`describe`)."""

    title: str
    shelf: str
    stage: str
    grades: tuple[int, ...]
    topic: str
    periods: int
    standard: str
    summary: str

    def as_manifest(self) -> dict:
        """The description as a package's manifest carries it (the shelf is the importer's)."""
        return {"title": self.title, "stage": self.stage, "grades": list(self.grades),
                "topic": self.topic, "periods": self.periods, "standard": self.standard,
                "summary": self.summary}


def _text(fields: dict, name: str, required: bool = True) -> str:
    value = fields.get(name, "")
    if not isinstance(value, str):
        raise LibraryProblem(name, f"{name} 必须是文字", f"{name} must be text")
    value = value.strip()
    if required and not value:
        raise LibraryProblem(name, f"请填写 {name}", f"{name} is required")
    if len(value) > FIELD_LENGTHS[name]:
        raise LibraryProblem(name, f"{name} 最多 {FIELD_LENGTHS[name]} 个字",
                             f"{name} is at most {FIELD_LENGTHS[name]} characters")
    return value


def _grades(value: object, stage: str) -> tuple[int, ...]:
    allowed = BANDS[stage][0]
    if isinstance(value, str):
        parts = [part.strip() for part in value.replace("，", ",").split(",") if part.strip()]
        value = [int(part) if part.isdigit() else part for part in parts]
    if (not isinstance(value, list) or not value
            or not all(type(grade) is int and grade in allowed for grade in value)):
        raise LibraryProblem("grades", f"年级必须是 {stage} 学段的年级（{allowed.start}–"
                             f"{allowed.stop - 1}），用逗号分隔",
                             f"grades must be grades of {stage} ({allowed.start}–"
                             f"{allowed.stop - 1}), separated by commas")
    return tuple(sorted(set(value)))


def describe(fields: dict) -> ItemDescription:
    """Check a form's or a manifest's fields (text or JSON values) into a description."""
    stage = fields.get("stage", "")
    if stage not in BANDS:
        raise LibraryProblem("stage", f"学段必须是 {' | '.join(BANDS)} 之一",
                             f"stage must be one of {' | '.join(BANDS)}")
    shelf = fields.get("shelf", Shelf.REGION)
    if shelf not in set(Shelf):
        raise LibraryProblem("shelf", "资源库必须是 school 或 region",
                             "the library must be school or region")
    periods = fields.get("periods", "")
    if isinstance(periods, str) and periods.strip().isdigit():
        periods = int(periods.strip())
    if type(periods) is not int or not 1 <= periods <= MAX_PERIODS:
        raise LibraryProblem("periods", f"课时必须是 1 到 {MAX_PERIODS} 的整数",
                             f"periods must be a whole number from 1 to {MAX_PERIODS}")
    return ItemDescription(
        title=_text(fields, "title"), shelf=shelf, stage=stage,
        grades=_grades(fields.get("grades", ""), stage), topic=_text(fields, "topic"),
        periods=periods, standard=_text(fields, "standard"),
        summary=_text(fields, "summary", required=False))


def check_files(files: dict[str, bytes], max_total_bytes: int) -> dict[str, bytes]:
    """The files of a version by checked relative path: at least one valid notebook,
    no path leaving the folder, no more than ``max_total_bytes`` together."""
    checked: dict[str, bytes] = {}
    try:
        for path, data in files.items():
            name = check_relative_path(path)
            if name.endswith(".ipynb"):
                check_notebook(name, data)
            checked[name] = data
    except ExchangeRefused as refused:
        raise LibraryProblem("files", refused.zh, refused.en) from None
    if not any(name.endswith(".ipynb") for name in checked):
        raise LibraryProblem("files", "至少要有一个 nbgrader 源笔记本（.ipynb）",
                             "at least one nbgrader source notebook (.ipynb) is needed")
    if sum(len(data) for data in checked.values()) > max_total_bytes:
        limit = max_total_bytes // (1024 * 1024)
        raise LibraryProblem("files", f"文件合计超过 {limit} MB", f"the files exceed {limit} MB")
    return checked
