"""Sign-in through a real OpenID Connect provider (npm ``oidc-provider``) on loopback.

The provider runs as its own Node process with static clients and accounts
(``tests/oidc/provider.js``); the hub is configured for it from ``[oauth]`` settings.
Set-up: ``npm ci --prefix tests/oidc``.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

from tests.hub.hubprocess import (
    RunningHub,
    free_port,
    start_hub,
    stop_process_group,
    world_traversable_dir,
)
from tests.org.orghub import aiclass, mirror_api
from tests.org.rosterfiles import TEMPLATE_CSV

pytestmark = pytest.mark.integration

OIDC_DIR = Path(__file__).resolve().parents[1] / "oidc"
CLIENT_ID = "aiclass-hub"
CLIENT_SECRET = "test-only-client-secret-0123456789"
VERIFIED = {"email_verified": True}
ACCOUNTS = {
    "stu-f4y7m": {"preferred_username": "stu-f4y7m", "email": "f4y7m@example.edu.cn",
                  **VERIFIED, "school": "sample-s2", "classes": ["s2-2026-g8c1"],
                  "role": "学生"},
    "tch-r6v3x": {"preferred_username": "tch-r6v3x", "email": "r6v3x@example.edu.cn",
                  **VERIFIED, "school": "sample-s2", "classes": ["s2-2026-g8c1"],
                  "role": "teacher"},
    "stu-nobody": {"preferred_username": "stu-nobody", "email": "nobody@example.edu.cn",
                   **VERIFIED, "school": "sample-s2", "classes": [], "role": "student"},
    "stu-g8z2n": {"preferred_username": "stu-g8z2n", "email": "g8z2n@example.edu.cn",
                  "email_verified": False, "school": "sample-s2",
                  "classes": ["s2-2026-g8c1"], "role": "student"},
    "stu-a3k9d": {"preferred_username": "stu-a3k9d", "email": "a3k9d@example.edu.cn",
                  **VERIFIED, "school": "sample-s1", "classes": ["s1-2026-g10c2"],
                  "role": "student"},
    "claims-region-admin": {"preferred_username": "sadm-x7k2m", **VERIFIED,
                            "school": "sample-s1", "classes": [], "role": "region_admin"},
    "claims-other-school": {"preferred_username": "stu-b7n2f", **VERIFIED,
                            "school": "sample-s2", "classes": ["s1-2026-g10c1"],
                            "role": "student"},
    "bureau-district-admin": {"preferred_username": "dadm-q5w8e", **VERIFIED,
                              "classes": [], "role": "区县管理员", "district": "sample-d2"},
    "claims-unknown-district": {"preferred_username": "dadm-z9x1c", **VERIFIED,
                                "classes": [], "role": "district_admin",
                                "district": "sample-d9"},
    "claims-teacher-district": {"preferred_username": "tch-r6v3x", **VERIFIED,
                                "school": "sample-s2", "classes": ["s2-2026-g8c1"],
                                "role": "district_admin", "district": "sample-d2"},
}
"""Keyed by the provider's subject; ``claims-*`` claim more than the roster gives them (or
than the district claim may grant); the bureau's district admin is on no roster."""


@dataclass
class Provider:
    port: int
    fixture: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, clock_skew_seconds: int = 0) -> None:
        log = (self.fixture.parent / "oidc-provider.log").open("ab")
        self.process = subprocess.Popen(
            ["node", str(OIDC_DIR / "provider.js")], cwd=OIDC_DIR, stdout=log,
            stderr=subprocess.STDOUT,
            env={"PATH": "/usr/bin:/bin", "PORT": str(self.port),
                 "OIDC_FIXTURE": str(self.fixture),
                 "CLOCK_SKEW_SECONDS": str(clock_skew_seconds)})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "oidc-provider exited; see oidc-provider.log"
            try:
                discovery = requests.get(f"{self.url}/.well-known/openid-configuration",
                                         timeout=5)
                if discovery.status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise TimeoutError("oidc-provider did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def sso() -> Iterator[tuple[RunningHub, Provider]]:
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("oidc-provider is not installed: run `npm ci --prefix tests/oidc`")
    base = world_traversable_dir("aiclass-oauth-")
    data = base / "data"
    data.mkdir()
    (data / "oauth-client-secret").write_text(CLIENT_SECRET, encoding="utf-8")
    provider = Provider(free_port(), base / "oidc-fixture.json")
    settings = (
        f'[auth]\nmethod = "oauth"\n[oauth]\nissuer = "{provider.url}"\n'
        f'authorize_url = "{provider.url}/auth"\ntoken_url = "{provider.url}/token"\n'
        f'userdata_url = "{provider.url}/me"\nclient_id = "{CLIENT_ID}"\n'
        'client_secret_file = "oauth-client-secret"\ndistrict_claim = "district"\n'
    )
    hub = start_hub(data, settings)
    provider.fixture.write_text(json.dumps({
        "clients": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                     "redirect_uris": [f"{hub.url}/hub/oauth_callback"],
                     "grant_types": ["authorization_code"], "response_types": ["code"]}],
        "accounts": ACCOUNTS,
    }), encoding="utf-8")
    provider.start()
    imported = aiclass(hub, "roster", "import", TEMPLATE_CSV)
    assert imported.returncode == 0, imported.stderr
    yield hub, provider
    provider.stop()
    stop_process_group(hub)
    shutil.rmtree(base, ignore_errors=True)


@dataclass
class SignIn:
    status: int
    page: str
    session: requests.Session


def sign_in(hub: RunningHub, account: str) -> SignIn:
    """Go through the hub's SSO button, the provider's login form, back to the hub."""
    session = requests.Session()
    response = session.get(f"{hub.url}/hub/oauth_login", timeout=60)
    form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
    assert form, response.text[:2000]
    response = session.post(urljoin(response.url, form.group(1)),
                            data={"prompt": "login", "login": account, "password": "any"},
                            allow_redirects=False, timeout=60)
    for _ in range(10):
        location = response.headers.get("Location", "")
        assert response.status_code in (302, 303), response.text[:2000]
        target = urljoin(response.url, location)
        response = session.get(target, allow_redirects=False, timeout=120)
        if target.startswith(f"{hub.url}/hub/oauth_callback"):
            return SignIn(response.status_code, response.content.decode("utf-8"), session)
    raise AssertionError("never came back to the hub's callback")


def test_a_roster_student_signs_in_with_groups_from_the_claims(sso) -> None:
    hub, _ = sso
    result = sign_in(hub, "stu-f4y7m")
    assert result.status == 302, result.page[:2000]
    me = result.session.get(f"{hub.url}/hub/api/user", timeout=60).json()
    assert me["name"] == "stu-f4y7m"
    assert sorted(me["groups"]) == ["class-s2-2026-g8c1", "district-sample-d2",
                                    "school-sample-s2"], "the mirror's groups, district too"
    assert mirror_api(hub).groups()["class-s2-2026-g8c1"] == ["stu-f4y7m", "stu-g8z2n"]


def test_a_teacher_signs_in_and_keeps_the_mirrored_role(sso) -> None:
    hub, _ = sso
    result = sign_in(hub, "tch-r6v3x")
    assert result.status == 302, result.page[:2000]
    me = result.session.get(f"{hub.url}/hub/api/user", timeout=60).json()
    assert "aiclass-teacher-tch-r6v3x" in me["roles"]
    assert me["groups"] == []


@pytest.mark.parametrize(("account", "english"), [
    ("stu-nobody", "account stu-nobody is not on this region&#39;s roster"),
    ("stu-g8z2n", "the email address is not verified"),
    ("stu-a3k9d", "the classes given by the SSO do not match the roster"),
    ("claims-region-admin", "the role does not match the roster"),
    ("claims-other-school", "the school does not match the roster"),
])
def test_refused_sign_ins_get_a_clear_page(sso, account: str, english: str) -> None:
    hub, _ = sso
    result = sign_in(hub, account)
    assert result.status == 403
    assert english in result.page, result.page[:3000]
    assert "请联系学校管理员" in result.page
    assert result.session.get(f"{hub.url}/hub/api/user", timeout=60).status_code == 403


def test_an_expired_token_is_refused(sso) -> None:
    hub, provider = sso
    provider.stop()
    provider.start(clock_skew_seconds=-1800)
    try:
        result = sign_in(hub, "stu-f4y7m")
    finally:
        provider.stop()
        provider.start()
    assert result.status == 403
    assert "the sign-in token has expired" in result.page, result.page[:3000]


def test_claims_never_change_a_role_or_a_school(sso) -> None:
    """Do claims of region admin and of another school leave the roster, and the hub's
    admins and groups, as they were (the one grant rule gives sign-in claims nothing)?"""
    hub, _ = sso
    for account in ("claims-region-admin", "claims-other-school"):
        assert sign_in(hub, account).status == 403
    database = hub.data_dir / "aiclass.sqlite"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        people = dict((name, (role, school)) for name, role, school in connection.execute(
            "SELECT username, role, school_id FROM people"))
    assert people["sadm-x7k2m"] == ("school_admin", "sample-s1")
    assert people["stu-b7n2f"] == ("student", "sample-s1")
    users = {u["name"]: u for u in mirror_api(hub).request("GET", "users?limit=200").json()}
    assert not users.get("sadm-x7k2m", {}).get("admin")
    assert "school-sample-s2" not in users.get("stu-b7n2f", {}).get("groups", [])


def test_a_district_claim_makes_a_district_admin_of_a_known_district_only(sso) -> None:
    """Does the bureau's district claim make a district admin (who then reaches that
    district's pages and no other's), while an unknown district, or a teacher claiming
    a district, is refused with a clear page and changes nothing?"""
    hub, _ = sso
    database = hub.data_dir / "aiclass.sqlite"

    def people() -> dict[str, tuple]:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            return {name: (role, school, district) for name, role, school, district in
                    connection.execute("SELECT username, role, school_id, district_id "
                                       "FROM people")}

    unknown = sign_in(hub, "claims-unknown-district")
    assert unknown.status == 403
    assert "the district “sample-d9” given by the SSO does not exist in this region" \
        in unknown.page, unknown.page[:3000]
    assert "区县“sample-d9”在本区域不存在" in unknown.page
    teacher = sign_in(hub, "claims-teacher-district")
    assert teacher.status == 403 and "the role does not match the roster" in teacher.page
    before = people()
    assert "dadm-z9x1c" not in before and before["tch-r6v3x"] == ("teacher", "sample-s2", None)
    hub_roles = mirror_api(hub).roles()
    assert "aiclass-district-admin-tch-r6v3x" not in hub_roles, "a refused claim grants nothing"
    assert "aiclass-district-admin-dadm-z9x1c" not in hub_roles

    role = "aiclass-district-admin-dadm-q5w8e"
    assert role not in mirror_api(hub).roles()
    granted = sign_in(hub, "bureau-district-admin")
    assert granted.status == 302, granted.page[:2000]
    assert people()["dadm-q5w8e"] == ("district_admin", None, "sample-d2")
    me = granted.session.get(f"{hub.url}/hub/api/user", timeout=60).json()
    assert role in me["roles"], "the hub role comes with the sign-in, not the mirror's next run"
    scopes = mirror_api(hub).roles()[role]["scopes"]
    assert scopes and all(s.endswith("!group=district-sample-d2") for s in scopes)
    pages = f"{hub.url}/services/classroom/programme/districts"
    own = granted.session.get(f"{pages}/sample-d2", timeout=60)
    assert own.status_code == 200 and "sample-s2" in own.text, own.text[:2000]
    assert granted.session.get(f"{pages}/sample-d1", timeout=60).status_code == 403
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        granted_rows = connection.execute(
            "SELECT e.source FROM audit_events e JOIN audit_people p ON p.ref = e.subject_ref "
            "WHERE e.action = 'role.changed' AND p.username = 'dadm-q5w8e'").fetchall()
    assert granted_rows == [("oauth",)]
