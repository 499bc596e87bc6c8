"""Sign-in slips: a class's usernames and initial passwords, for the teacher to hand out.

Passwords are stored only as hashes, so an initial password can be shown exactly once,
when it is made. Printing a class's slips therefore issues fresh initial passwords to
the students who have not signed in yet (their old slip stops working) and prints,
for those who already chose their own password, that the teacher can reset it.
The files hold passwords: they are written readable by their owner only.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from grading.gradebook.export import spreadsheet_safe
from hub.audit.trail import AuditEntry, record_many
from hub.org.credentials import set_initial_password
from hub.org.models import Credential, Enrollment, Person, Role, School, SchoolClass

TEMPLATES = Path(__file__).parent / "templates"


class UnknownClassError(LookupError):
    """No class with that id."""


@dataclass(frozen=True)
class Slip:
    """One student's slip; ``password`` is ``None`` when they already set their own."""

    username: str
    display_name: str
    password: str | None


def issue_slips(session: Session, class_id: str, *, actor: str = "", source: str = ""
                ) -> tuple[SchoolClass, list[Slip]]:
    """Issue initial passwords to the class's students who have not signed in yet.

    Each new password is a reset on the audit trail, by ``actor`` ("" for the operator).
    """
    school_class = session.get(SchoolClass, class_id)
    if school_class is None:
        raise UnknownClassError(f"未知的班级 / unknown class: {class_id}")
    students = session.execute(
        select(Person, Credential)
        .join(Enrollment, Enrollment.username == Person.username)
        .outerjoin(Credential, Credential.username == Person.username)
        .where(Enrollment.class_id == class_id, Enrollment.role == Role.STUDENT)
        .order_by(Person.username)
    ).all()
    slips, resets = [], []
    for person, credential in students:
        password = None
        if credential is None or credential.must_change:
            password = set_initial_password(session, person.username)
            resets.append(AuditEntry(actor, "password.reset", person.username,
                                     school_class.school_id, class_id, source,
                                     {"slip": True}))
        slips.append(Slip(person.username, person.display_name, password))
    record_many(session, resets)
    return school_class, slips


def _private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)


def write_slips(out_dir: Path, school: School, school_class: SchoolClass, slips: list[Slip],
                hub_url: str) -> tuple[Path, Path]:
    """Write ``<class>-slips.csv`` (UTF-8 with BOM, for Excel; names that look like a
    formula made text) and a printable HTML page."""
    csv_path = out_dir / f"{school_class.id}-slips.csv"
    html_path = out_dir / f"{school_class.id}-slips.html"
    _private_file(csv_path)
    with csv_path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(["用户名", "姓名", "初始密码", "登录地址"])
        for slip in slips:
            writer.writerow([spreadsheet_safe(value) for value in (
                slip.username, slip.display_name, slip.password or "", hub_url)])
    environment = Environment(loader=FileSystemLoader(TEMPLATES),
                              autoescape=select_autoescape(["html"]))
    page = environment.get_template("slips.html").render(
        school=school, school_class=school_class, slips=slips, hub_url=hub_url)
    _private_file(html_path)
    html_path.write_text(page, encoding="utf-8")
    return csv_path, html_path
