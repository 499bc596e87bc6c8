"""The one rule of who may give whom which role and school (:func:`hub.org.grants.check_grant`)."""

from __future__ import annotations

import pytest

from hub.org.grants import (
    DISTRICT_CLAIMS,
    REGION_OPERATOR,
    SIGN_IN_CLAIMS,
    Authority,
    Grantor,
    GrantRefused,
    Standing,
    check_grant,
)

SCHOOL_ADMIN = Grantor(Authority.SCHOOL, "s1", "sadm-me")
STUDENT_S1 = Standing("student", "s1")
TEACHER_S1 = Standing("teacher", "s1")
TEACHER_S2 = Standing("teacher", "s2")
STUDENT_S2 = Standing("student", "s2")
SCHOOL_ADMIN_S1 = Standing("school_admin", "s1")
REGION_ADMIN = Standing("region_admin", None)


@pytest.mark.parametrize(("username", "before", "after"), [
    ("sadm-me", SCHOOL_ADMIN_S1, REGION_ADMIN),
    ("adm-boss", REGION_ADMIN, STUDENT_S1),
    ("tch-other", TEACHER_S2, TEACHER_S1),
    ("sadm-new", None, Standing("school_admin", "s2")),
])
def test_the_region_may_grant_anything(username: str, before: Standing | None,
                                       after: Standing) -> None:
    """Do the operator and a region admin pass every change, admin roles included?"""
    check_grant(REGION_OPERATOR, username, before, after)
    check_grant(Grantor.person("adm-boss", "region_admin", None), username, before, after)


@pytest.mark.parametrize(("username", "before", "after"), [
    ("stu-new", None, STUDENT_S1),
    ("tch-new", None, TEACHER_S1),
    ("stu-mine", STUDENT_S1, TEACHER_S1),
    ("tch-mine", TEACHER_S1, TEACHER_S1),
])
def test_a_school_admin_may_create_and_change_own_students_and_teachers(
        username: str, before: Standing | None, after: Standing) -> None:
    """Are a school's own students and teachers the school admin's to create and change?"""
    check_grant(SCHOOL_ADMIN, username, before, after)


@pytest.mark.parametrize(("username", "before", "after", "column", "english"), [
    ("sadm-me", SCHOOL_ADMIN_S1, REGION_ADMIN, "username", "your own account"),
    ("sadm-me", SCHOOL_ADMIN_S1, TEACHER_S1, "username", "your own account"),
    ("sadm-me", SCHOOL_ADMIN_S1, SCHOOL_ADMIN_S1, "username", "your own account"),
    ("adm-boss", REGION_ADMIN, STUDENT_S1, "username", "is an admin account"),
    ("sadm-co", SCHOOL_ADMIN_S1, TEACHER_S1, "username", "is an admin account"),
    ("tch-other", TEACHER_S2, TEACHER_S1, "username", "belongs to another school"),
    ("stu-other", STUDENT_S2, STUDENT_S2, "username", "belongs to another school"),
    ("sadm-new", None, SCHOOL_ADMIN_S1, "role", "students and teachers only"),
    ("adm-new", None, REGION_ADMIN, "role", "students and teachers only"),
    ("stu-mine", STUDENT_S1, REGION_ADMIN, "role", "students and teachers only"),
    ("stu-new", None, STUDENT_S2, "school", "only rows of your own school (s1)"),
    ("stu-mine", STUDENT_S1, STUDENT_S2, "school", "only rows of your own school (s1)"),
])
def test_a_school_admin_grants_nothing_above_or_outside_their_school(
        username: str, before: Standing | None, after: Standing, column: str,
        english: str) -> None:
    """Is every admin role, every other school and the admin's own row refused, naming why?"""
    with pytest.raises(GrantRefused) as refused:
        check_grant(SCHOOL_ADMIN, username, before, after)
    assert refused.value.column == column
    assert english in refused.value.en
    assert refused.value.zh and refused.value.zh != refused.value.en


@pytest.mark.parametrize("grantor", [SIGN_IN_CLAIMS, Grantor.person("tch-a", "teacher", "s1"),
                                     Grantor.person("stu-a", "student", "s1"),
                                     Grantor.person("sadm-x", "school_admin", None)])
def test_claims_and_everyone_else_change_no_role_and_no_school(grantor: Grantor) -> None:
    """Can sign-in claims, a teacher, a student or a school admin without a school change
    nothing, while a standing that agrees with the roster passes?"""
    check_grant(grantor, "stu-mine", STUDENT_S1, STUDENT_S1)
    for before, after, column in ((STUDENT_S1, REGION_ADMIN, "role"),
                                  (STUDENT_S1, Standing("teacher", "s1"), "role"),
                                  (STUDENT_S1, STUDENT_S2, "school"),
                                  (None, STUDENT_S1, "username")):
        with pytest.raises(GrantRefused) as refused:
            check_grant(grantor, "stu-mine", before, after)
        assert refused.value.column == column


DISTRICT_ADMIN_D1 = Standing("district_admin", None, "d1")


@pytest.mark.parametrize("before", [None, Standing("district_admin", None, "d2"),
                                    DISTRICT_ADMIN_D1])
def test_district_claims_make_and_move_district_admins(before: Standing | None) -> None:
    """May the SSO's district claim make a new district admin, or move one to another
    district?"""
    check_grant(DISTRICT_CLAIMS, "dadm-new", before, DISTRICT_ADMIN_D1)


@pytest.mark.parametrize(("before", "after"), [
    (TEACHER_S1, DISTRICT_ADMIN_D1),
    (SCHOOL_ADMIN_S1, DISTRICT_ADMIN_D1),
    (REGION_ADMIN, DISTRICT_ADMIN_D1),
    (STUDENT_S1, DISTRICT_ADMIN_D1),
    (None, REGION_ADMIN),
    (None, SCHOOL_ADMIN_S1),
    (DISTRICT_ADMIN_D1, REGION_ADMIN),
    (None, Standing("district_admin", "s1", "d1")),
    (None, Standing("district_admin", None, None)),
])
def test_district_claims_grant_nothing_else(before: Standing | None, after: Standing) -> None:
    """Can a district claim raise or move anyone the roster gives another role, or grant
    any role but a district's admin (with a district, of no school)?"""
    with pytest.raises(GrantRefused) as refused:
        check_grant(DISTRICT_CLAIMS, "someone", before, after)
    assert refused.value.column == "role"
    assert refused.value.zh and refused.value.zh != refused.value.en
