"""Who may give whom which role and school: roles are granted downwards only.

A person's role and school decide what they may see and do, so every way they change —
a roster upload on the school or region page, ``aiclass roster import``, the claims an
SSO sends at sign-in — asks :func:`check_grant` first, and nothing else decides it:

- the region (a region admin, or the operator at the server's command line) may set
  anything;
- a school admin may create and change the students and teachers of their own school
  only: every row they send names a student or teacher of that school, before and after,
  never an admin and never themselves (so they cannot raise or lower their own role);
- the province's SSO, where the center names a district claim (``[oauth] district_claim``),
  may make someone the admin of an existing district, and move a district admin to another
  district: nobody else's role (a claim never turns a teacher, a school admin or a region
  admin into a district admin, nor a district admin into anything else);
- everyone else, and the other claims of a sign-in, may change no role and no school:
  what the roster says stands.

A school admin's rows are checked even when they change nothing about the person, because
a row also makes its class's list: an "unchanged" row for another school's teacher would
still let the uploader rewrite that school's class.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hub.org.models import Role

CLASSROOM_ROLES = (Role.STUDENT, Role.TEACHER)
"""The roles a school admin may give: everything below their own."""


class Authority(enum.Enum):
    """How far a grantor reaches."""

    REGION = "region"
    SCHOOL = "school"
    DISTRICT_CLAIMS = "district_claims"
    NONE = "none"


@dataclass(frozen=True)
class Grantor:
    """Who asks for a change of role or school, and how far their authority reaches."""

    authority: Authority
    school: str | None = None
    """The school of a :attr:`Authority.SCHOOL` grantor."""
    username: str | None = None
    """The person asking, when it is one (never their own row for a school admin)."""

    @classmethod
    def person(cls, username: str, role: str, school: str | None) -> Grantor:
        """A signed-in person's authority, from their role on the roster."""
        if role == Role.REGION_ADMIN:
            return cls(Authority.REGION, None, username)
        if role == Role.SCHOOL_ADMIN and school:
            return cls(Authority.SCHOOL, school, username)
        return cls(Authority.NONE, None, username)


REGION_OPERATOR = Grantor(Authority.REGION)
"""The operator at the server's command line: whoever runs ``aiclass`` there can already
write the databases, so a narrower scope there would guard nothing."""

SIGN_IN_CLAIMS = Grantor(Authority.NONE)
"""An SSO's claims at sign-in: they must agree with the roster and can change nothing."""

DISTRICT_CLAIMS = Grantor(Authority.DISTRICT_CLAIMS)
"""An SSO's district admin claims, where the center trusts its SSO to say who runs which
district (the education bureau keeps that list, not the schools' rosters)."""


@dataclass(frozen=True)
class Standing:
    """A person's role and school, as the roster holds them or as a change would set them."""

    role: str
    school: str | None
    district: str | None = None
    """The district a district admin oversees (``None`` for everyone else)."""


class GrantRefused(Exception):
    """A change the grantor may not make; ``column`` is the roster column at fault."""

    def __init__(self, column: str, zh: str, en: str) -> None:
        self.column = column
        self.zh = zh
        self.en = en
        super().__init__(f"{zh} / {en}")


def check_grant(grantor: Grantor, username: str, before: Standing | None,
                after: Standing) -> None:
    """Raise :class:`GrantRefused` unless ``grantor`` may take ``username`` from ``before``
    (``None``: not on the roster yet) to ``after``."""
    if grantor.authority is Authority.REGION:
        return
    if grantor.authority is Authority.SCHOOL:
        _check_school_grant(grantor, username, before, after)
        return
    if grantor.authority is Authority.DISTRICT_CLAIMS:
        _check_district_claims(before, after)
        return
    if before is None:
        raise GrantRefused("username", f"账号 {username} 不在本区域的花名册中",
                           f"account {username} is not on this region's roster")
    if after.role != before.role:
        raise GrantRefused("role", "角色与花名册不一致（角色只能由管理员在花名册中更改）",
                           "the role does not match the roster (only an admin can change it, "
                           "on the roster)")
    if after.school != before.school:
        raise GrantRefused("school", "学校与花名册不一致（学校只能由管理员在花名册中更改）",
                           "the school does not match the roster (only an admin can change "
                           "it, on the roster)")


def _check_district_claims(before: Standing | None, after: Standing) -> None:
    if after.role != Role.DISTRICT_ADMIN or after.school or not after.district:
        raise GrantRefused("role", "统一身份认证只能授予区县管理员角色（需有区县、不属于学校）",
                           "the SSO can make district admins only (with a district, of no "
                           "school)")
    if before is not None and before.role != Role.DISTRICT_ADMIN:
        raise GrantRefused("role", "角色与花名册不一致（角色只能由管理员在花名册中更改）",
                           "the role does not match the roster (only an admin can change it, "
                           "on the roster)")


def _check_school_grant(grantor: Grantor, username: str, before: Standing | None,
                        after: Standing) -> None:
    if username == grantor.username:
        raise GrantRefused("username", "不能更改你自己的账号（你的角色和学校由区域管理员设置）",
                           "you cannot change your own account (your role and school are set "
                           "by the region admin)")
    if before is not None and before.role not in CLASSROOM_ROLES:
        raise GrantRefused("username", f"“{username}”是管理员账号，只有区域管理员能更改",
                           f"“{username}” is an admin account; only a region admin can "
                           "change it")
    if before is not None and before.school != grantor.school:
        raise GrantRefused("username", f"用户名“{username}”属于另一所学校（换校由区域管理员办理）",
                           f"the username “{username}” belongs to another school (a region "
                           "admin moves people between schools)")
    if after.role not in CLASSROOM_ROLES:
        raise GrantRefused("role", "学校管理员只能设置学生和教师（管理员角色由区域管理员设置）",
                           "a school admin can make students and teachers only (admin roles "
                           "are set by the region admin)")
    if after.school != grantor.school:
        raise GrantRefused("school", f"只能导入本校（{grantor.school}）的行",
                           f"only rows of your own school ({grantor.school})")
