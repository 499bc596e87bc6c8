"""The demo region: two schools, three classes, two teachers, forty students.

Seeded on first run (or with ``aiclass up --demo``) so that a teacher trying
aiclass on a laptop can sign in at once. Usernames are pseudonymous and stable
(a fixed seed); names are invented Chinese display names; passwords are random
initial passwords written to ``demo-accounts.csv`` in the data dir.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from hub.org.credentials import set_initial_password
from hub.org.models import Enrollment, Person, Region, Role, School, SchoolClass

DEMO_REGION_ID = "demo"
ACCOUNTS_FILE_NAME = "demo-accounts.csv"
SCHOOL_YEAR = "2026-2027"

_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢"
             "宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程")
_GIVEN = ["子涵", "欣怡", "梓萱", "思彤", "浩宇", "宇轩", "俊杰", "雨桐", "一诺", "明轩", "诗涵",
          "嘉怡", "子墨", "博文", "佳琪", "晨曦", "天佑", "若曦", "文昊", "思远", "可馨", "泽宇",
          "梦瑶", "皓然", "语嫣", "昊天", "紫涵", "家豪", "雅琪", "伟宸"]

_SCHOOLS = [("demo-s1", "示范区第一中学", "urban", "senior"),
            ("demo-s2", "示范区实验学校", "rural", "junior")]
_CLASSES = [("demo-s1-g10c1", "demo-s1", "高一（1）班", 10),
            ("demo-s1-g10c2", "demo-s1", "高一（2）班", 10),
            ("demo-s2-g8c1", "demo-s2", "初二（1）班", 8)]
_TEACHERS = [("demo-s1", ["demo-s1-g10c1", "demo-s1-g10c2"]), ("demo-s2", ["demo-s2-g8c1"])]


@dataclass(frozen=True)
class DemoAccount:
    """One line of ``demo-accounts.csv``."""

    username: str
    password: str
    role: str
    school: str
    class_id: str


def _pseudonym(rng: random.Random, prefix: str, taken: set[str]) -> str:
    while True:
        name = prefix + "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(5))
        if name not in taken:
            taken.add(name)
            return name


def _chinese_name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def seed_demo_region(session: Session, students: int = 40) -> list[DemoAccount] | None:
    """Create the demo region; return its accounts, or ``None`` when it already exists."""
    if session.get(Region, DEMO_REGION_ID) is not None:
        return None
    rng = random.Random(20260901)
    taken: set[str] = set()
    session.add(Region(id=DEMO_REGION_ID, name="示范区"))
    for school_id, name, locality, stage in _SCHOOLS:
        session.add(School(id=school_id, region_id=DEMO_REGION_ID, name=name,
                           locality=locality, stage=stage))
    for class_id, school_id, name, grade in _CLASSES:
        session.add(SchoolClass(id=class_id, school_id=school_id, name=name,
                                school_year=SCHOOL_YEAR, grade=grade))
    session.flush()
    people = DemoPeople(session, rng, taken)
    people.add("adm-", Role.REGION_ADMIN, None, [])
    for school_id, class_ids in _TEACHERS:
        people.add("tch-", Role.TEACHER, school_id, class_ids)
    for index in range(students):
        class_id, school_id, _name, _grade = _CLASSES[index % len(_CLASSES)]
        people.add("stu-", Role.STUDENT, school_id, [class_id])
    return people.accounts


@dataclass
class DemoPeople:
    """Adds demo people with pseudonymous usernames, invented display names and initial
    passwords, remembering their accounts for ``demo-accounts.csv``."""

    session: Session
    rng: random.Random
    taken: set[str]
    accounts: list[DemoAccount] = field(default_factory=list)

    def add(self, prefix: str, role: Role, school_id: str | None,
            class_ids: list[str]) -> DemoAccount:
        """One person, enrolled in ``class_ids`` (as a teacher if they are one)."""
        username = _pseudonym(self.rng, prefix, self.taken)
        self.session.add(Person(username=username, display_name=_chinese_name(self.rng),
                                role=role, school_id=school_id))
        for class_id in class_ids:
            enrolled_as = Role.TEACHER if role == Role.TEACHER else Role.STUDENT
            self.session.add(Enrollment(class_id=class_id, username=username,
                                        role=enrolled_as))
        self.session.flush()
        password = set_initial_password(self.session, username)
        account = DemoAccount(username, password, role, school_id or "", ";".join(class_ids))
        self.accounts.append(account)
        return account


def write_accounts_file(path: Path, accounts: list[DemoAccount]) -> None:
    """Write ``username,password,role,school,class`` (readable only by the owner)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["username", "password", "role", "school", "class"])
        for account in accounts:
            writer.writerow([account.username, account.password, account.role,
                             account.school, account.class_id])
    path.chmod(0o600)
