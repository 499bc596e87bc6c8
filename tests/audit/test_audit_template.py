"""The audit page renders in both languages with every text defined, and escapes what rows hold.

A row's detail and source come from requests (a file name, an address header): a
``<script>`` in them must reach the admin's browser as text.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from jinja2 import StrictUndefined

from hub.audit.actions import ACTIONS
from hub.audit.search import PAGE_ROWS, AuditRow
from hub.service.pages.audit_texts import AUDIT_TEXTS
from hub.service.pages.base import page_environment
from hub.service.pages.texts import LOCALES, TEXTS
from hub.service.pages.timefmt import localtime

EVIL = "<script>alert(1)</script>"


class Admin:
    username = "adm-x"
    role = "region_admin"
    school_id = None
    district_id = None


@pytest.mark.parametrize("lang", LOCALES)
@pytest.mark.parametrize("region", [True, False])
def test_the_page_renders_and_escapes(lang: str, region: bool) -> None:
    environment = page_environment()
    environment.undefined = StrictUndefined
    rows = [AuditRow(7, datetime(2026, 9, 10, 12, 0), "tch-a", "export.made", "", "s1", "c1",
                     EVIL, {"file": EVIL}),
            AuditRow(8, datetime(2026, 9, 10, 12, 1), "#0a1b2c3d", "no.longer.listed",
                     "stu-b", "s1", "", "10.0.0.1", {})]
    filters = {"action": "export.made", "person": EVIL, "since": "", "until": "",
               "class": "", "school": ""}
    html = environment.get_template("audit.html").render(
        t=TEXTS[lang], au=AUDIT_TEXTS[lang], lang=lang, prefix="/services/classroom/",
        person=Admin(), xsrf="tok", path="/services/classroom/audit", rows=rows,
        filters=filters, error="", actions=ACTIONS, region=region, page_rows=PAGE_ROWS,
        when=localtime)
    assert EVIL not in html and "&lt;script&gt;" in html
    assert "2026-09-10 20:00" in html  # school time
    assert ('name="school"' in html) == region
    label = ACTIONS["export.made"][0 if lang == "zh_CN" else 1]
    assert f"<td>{label}</td>" in html and "no.longer.listed" in html


def test_every_locale_has_every_text() -> None:
    assert set(AUDIT_TEXTS["zh_CN"]) == set(AUDIT_TEXTS["en"])
    assert all(value.strip() for texts in AUDIT_TEXTS.values() for value in texts.values())
    assert all(zh.strip() and en.strip() for zh, en in ACTIONS.values())
