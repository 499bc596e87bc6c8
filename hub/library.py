"""The assignment library: every ``assignments/<band>/<id>/assignment.toml`` as a typed record.

Teachers pick lessons from this catalogue (``aiclass assignments list``, the teacher pages),
so a broken description must stop loudly, naming the file and the key, instead of hiding a
lesson or showing a half-filled row. The notebooks themselves are proven by the tests in
``tests/assignments/``; this module only reads and checks the descriptions.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

#: Grade bands in teaching order, with the grades each may name and their Chinese names.
#: A teacher-training lesson may name the grades its teachers teach, or none.
BANDS: dict[str, tuple[range, str, str]] = {
    "primary": (range(4, 7), "小学", "primary school"),
    "junior": (range(7, 10), "初中", "junior secondary"),
    "senior": (range(10, 13), "高中", "senior secondary"),
    "teacher": (range(4, 13), "教师研修", "teacher training"),
}

#: Where the library lives in a checkout: ``assignments/`` beside ``hub/``.
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "assignments"

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

_STRINGS = ("id", "title_zh", "title_en", "grade_band", "module_zh", "module_en")
_STRING_LISTS = ("objectives", "datasets", "explainers")

#: Topics a lesson may be marked with. ``ethics``: a pupils' lesson of AI ethics, whose
#: releases count towards the supervision indicator of ethics lessons taught
#: (:mod:`hub.programme.ethics`).
TOPICS = ("ethics",)


class LibraryError(ValueError):
    """An ``assignment.toml`` is missing, unreadable or has a bad key (named in the message)."""


@dataclass(frozen=True)
class Assignment:
    """One lesson of the library, as its ``assignment.toml`` describes it."""

    id: str
    title_zh: str
    title_en: str
    grade_band: str
    grades: tuple[int, ...]
    module_zh: str
    module_en: str
    periods: int
    objectives: tuple[str, ...]
    datasets: tuple[str, ...]
    explainers: tuple[str, ...]
    gpu: bool
    time_budget_s: int
    folder: Path
    hours: float = 0.0
    """Training hours (学时) a teacher earns by completing a teacher-track course; 0 for the
    pupils' lessons, which count class periods instead."""
    topics: tuple[str, ...] = ()
    """Topics of :data:`TOPICS` the lesson teaches; optional, none by default."""

    @property
    def notebooks(self) -> list[Path]:
        """The nbgrader source notebooks of the lesson, sorted by name."""
        return sorted(self.folder.glob("*.ipynb"))

    @property
    def band_zh(self) -> str:
        return BANDS[self.grade_band][1]

    def as_dict(self) -> dict:
        """JSON-ready form for the command line and the teacher pages."""
        return {
            "id": self.id, "title_zh": self.title_zh, "title_en": self.title_en,
            "grade_band": self.grade_band, "grades": list(self.grades),
            "module_zh": self.module_zh, "module_en": self.module_en,
            "periods": self.periods, "objectives": list(self.objectives),
            "datasets": list(self.datasets), "explainers": list(self.explainers),
            "gpu": self.gpu, "time_budget_s": self.time_budget_s, "hours": self.hours,
            "topics": list(self.topics), "notebooks": [path.name for path in self.notebooks],
        }


def _fail(path: Path, key: str, problem_zh: str, problem_en: str) -> LibraryError:
    return LibraryError(f"{path}: 键 {key} {problem_zh} / key {key} {problem_en}")


def _string(data: dict, key: str, path: Path) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, key, "必须是非空字符串", "must be a non-empty string")
    return value


def _string_list(data: dict, key: str, path: Path) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(path, key, "必须是字符串列表", "must be a list of strings")
    return tuple(value)


def _hours(data: dict, band: str, path: Path) -> float:
    """A teacher-track course declares the training hours it is worth (continuing-education
    credit is counted from them, so a missing or odd figure must stop the library); a
    pupils' lesson declares none."""
    hours = data.get("hours")
    if band != "teacher":
        if hours is not None:
            raise _fail(path, "hours", "只用于教师研修课程", "is for teacher-training courses only")
        return 0.0
    if type(hours) not in (int, float) or not 0.5 <= hours <= 40 or (hours * 2) % 1:
        raise _fail(path, "hours", "必须是 0.5 到 40 之间、以 0.5 为单位的学时数",
                    "must be training hours from 0.5 to 40 in steps of 0.5")
    return float(hours)


def _topics(data: dict, path: Path) -> tuple[str, ...]:
    """Optional: a lesson without the key teaches no marked topic. An unknown topic stops the
    library, since a misspelt ``ethics`` would silently drop the lesson from the indicator."""
    topics = data.get("topics", [])
    if not isinstance(topics, list) or not all(t in TOPICS for t in topics):
        raise _fail(path, "topics", f"必须是 {' | '.join(TOPICS)} 中的主题列表",
                    f"must be a list of topics among {' | '.join(TOPICS)}")
    return tuple(dict.fromkeys(topics))


def parse_assignment(path: Path, known_explainers: Iterable[str] | None = None) -> Assignment:
    """Read and check one ``assignment.toml``; the folder must be ``<band>/<id>/``.

    ``known_explainers``, when given, is the set of explainer ids the lesson may name.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise LibraryError(f"{path}: 文件不存在 / file not found") from error
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise LibraryError(f"{path}: 不是有效的 UTF-8 TOML / not valid UTF-8 TOML: {error}") \
            from error
    fields = {key: _string(data, key, path) for key in _STRINGS}
    lists = {key: _string_list(data, key, path) for key in _STRING_LISTS}
    if not _ID.match(fields["id"]):
        raise _fail(path, "id", "只能用小写字母、数字和连字符", "must be lowercase [a-z0-9-]")
    if fields["id"] != path.parent.name:
        raise _fail(path, "id", f"必须与文件夹名 {path.parent.name} 相同",
                    f"must equal the folder name {path.parent.name}")
    band = fields["grade_band"]
    if band not in BANDS:
        raise _fail(path, "grade_band", f"必须是 {' | '.join(BANDS)} 之一",
                    f"must be one of {' | '.join(BANDS)}")
    if band != path.parent.parent.name:
        raise _fail(path, "grade_band", f"与所在文件夹 {path.parent.parent.name} 不符",
                    f"does not match the folder {path.parent.parent.name}")
    grades = data.get("grades")
    allowed = BANDS[band][0]
    if (not isinstance(grades, list) or not all(type(g) is int and g in allowed for g in grades)
            or (band != "teacher" and not grades)):
        raise _fail(path, "grades", f"必须是 {band} 学段的年级列表", f"must list grades of {band}")
    periods = data.get("periods")
    if type(periods) is not int or periods not in (1, 2):
        raise _fail(path, "periods", "必须是 1 或 2", "must be 1 or 2")
    gpu = data.get("gpu")
    if not isinstance(gpu, bool):
        raise _fail(path, "gpu", "必须是 true 或 false", "must be true or false")
    budget = data.get("time_budget_s")
    if type(budget) is not int or not 1 <= budget <= 120:
        raise _fail(path, "time_budget_s", "必须是 1 到 120 之间的整数（秒）",
                    "must be an integer from 1 to 120 (seconds)")
    hours = _hours(data, band, path)
    topics = _topics(data, path)
    if not lists["objectives"]:
        raise _fail(path, "objectives", "至少要有一条学习目标", "needs at least one objective")
    if known_explainers is not None:
        unknown = sorted(set(lists["explainers"]) - set(known_explainers))
        if unknown:
            raise _fail(path, "explainers", f"含有未知的解释器 {', '.join(unknown)}",
                        f"names unknown explainers {', '.join(unknown)}")
    if not list(path.parent.glob("*.ipynb")):
        raise LibraryError(f"{path.parent}: 没有笔记本 / no notebooks beside assignment.toml")
    return Assignment(grades=tuple(grades), periods=periods, gpu=gpu, time_budget_s=budget,
                      folder=path.parent, hours=hours, topics=topics, **fields, **lists)


def load_library(root: Path | str = DEFAULT_ROOT,
                 known_explainers: Iterable[str] | None = None) -> list[Assignment]:
    """Every lesson under ``root``, in teaching order (band, then lowest grade, then id)."""
    root = Path(root)
    if not root.is_dir():
        raise LibraryError(f"{root}: 作业库目录不存在 / library folder not found")
    known = None if known_explainers is None else set(known_explainers)
    lessons = [parse_assignment(path, known) for path in root.glob("*/*/assignment.toml")]
    order = list(BANDS)
    return sorted(lessons,
                  key=lambda a: (order.index(a.grade_band), min(a.grades, default=0), a.id))
