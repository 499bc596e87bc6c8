"""Sign-in attacks against a real hub: telling accounts apart, racing the lock-out, guessing
from one address, and reading cookies off the wire.

Every request goes through the real login form and proxy. Loopback is all of 127.0.0.0/8,
so a test that needs many addresses (a guesser with thirty machines, a classroom behind
one NAT) binds its requests to addresses of its own there.
"""

from __future__ import annotations

import datetime
import ipaddress
import math
import re
import shutil
import sqlite3
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from requests.adapters import HTTPAdapter
from tornado import web

from hub.auth.roster import RosterAuthenticator
from hub.db import ServiceDatabase
from hub.messages import TEXT
from hub.org.credentials import begin_attempt, hash_password, verify_password
from hub.org.demo import seed_demo_region
from hub.service.registration import service_url
from hub.settings import AuthSettings, SettingsError, load_settings, parse_settings
from tests.hub.hubprocess import (
    Browser,
    LoginResult,
    RunningHub,
    free_port,
    running_hub,
    start_hub,
    stop_process_group,
    world_traversable_dir,
)
from tests.postgres import running_postgres

pytestmark = pytest.mark.integration

ZH = TEXT["zh_CN"]
MAX_FAILED = 40
NEW_PASSWORD = "bell-rings-2026"


@pytest.fixture(scope="module")
def hub() -> Iterator[RunningHub]:
    with running_hub("aiclass-signin-test-", f"[auth]\nmax_failed_logins = {MAX_FAILED}\n"
                     "[demo]\nstudents = 60\n") as running:
        yield running


class _FromAddress(HTTPAdapter):
    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def browser_at(hub: RunningHub, address: str) -> Browser:
    """A browser whose connections come from ``address`` (a loopback address)."""
    browser = Browser(hub)
    browser.session.mount("http://", _FromAddress(address))
    browser.session.mount("https://", _FromAddress(address))
    return browser


def credential_row(hub: RunningHub, username: str) -> tuple[int, str | None]:
    with sqlite3.connect(hub.data_dir / "aiclass.sqlite") as db:
        return db.execute("SELECT failed_attempts, locked_until FROM credentials "
                          "WHERE username = ?", (username,)).fetchone()


def timed_login(browser: Browser, username: str, password: str) -> tuple[float, LoginResult, str]:
    """One POST of the login form: its duration, its result and its page, username removed."""
    session, url = browser.session, browser.hub.url
    session.get(f"{url}/hub/login", timeout=30)
    form = {"username": username, "password": password, "_xsrf": browser.xsrf()}
    started = time.perf_counter()
    response = session.post(f"{url}/hub/login", data=form, timeout=60, allow_redirects=False)
    elapsed = time.perf_counter() - started
    page = response.content.decode("utf-8")
    match = re.search(r'id="login-error">([^<]*)<', page)
    result = LoginResult(response.status_code, match.group(1) if match else None, False, "")
    page = re.sub(r'name="_xsrf" value="[^"]*"', "", page).replace(username, "USERNAME")
    return elapsed, result, page


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL of the hub's own image on a loopback port, for as long as the module runs."""
    with running_postgres("aiclass-signin") as url:
        yield url


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_attempts_sent_together_get_a_number_each(
        dialect: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Does the count of attempts lose any when thirty arrive at once, on either database?"""
    url = (f"sqlite:///{tmp_path / 'service.sqlite'}" if dialect == "sqlite"
           else request.getfixturevalue("postgres_url"))
    database = ServiceDatabase(url)
    with database.session() as session:
        username = next(a.username for a in seed_demo_region(session, 2) if a.role == "student")
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    def attempt(_: int) -> int:
        with database.session() as session:
            return begin_attempt(session, username, now).number

    with ThreadPoolExecutor(30) as pool:
        numbers = sorted(pool.map(attempt, range(30)))
    assert numbers == list(range(1, 31))
    database.engine.dispose()


def test_wrong_password_unknown_user_and_locked_account_look_the_same(
        hub: RunningHub) -> None:
    """Can a guesser tell, from the page or its timing, which usernames exist or are locked?"""
    wrong, locked = hub.account("student", 0), hub.account("student", 1)
    attacker = browser_at(hub, "127.0.5.1")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: browser_at(hub, f"127.0.6.{i + 1}").login(
            locked["username"], "guess"), range(MAX_FAILED)))
    assert credential_row(hub, locked["username"])[1] is not None
    cases = {
        "wrong password": (wrong["username"], "not-the-password"),
        "unknown user": ("stu-nobody-here", "not-the-password"),
        "locked, right password": (locked["username"], locked["password"]),
    }
    times: dict[str, list[float]] = {case: [] for case in cases}
    answers: dict[str, set[tuple[int, str | None, str]]] = {case: set() for case in cases}
    for _ in range(20):  # interleaved, so that the machine's load falls on every case alike
        for case, (username, password) in cases.items():
            elapsed, result, page = timed_login(attacker, username, password)
            times[case].append(elapsed)
            answers[case].add((result.status, result.error, page))
    assert len(set.union(*answers.values())) == 1, "the three refusals differ"
    ((status, error, _),) = answers["unknown user"]
    assert status == 403 and error == ZH["bad_credentials"]
    medians = {case: statistics.median(values) for case, values in times.items()}
    print("median sign-in refusal (ms):",
          {case: round(1000 * value, 1) for case, value in medians.items()})
    # One Argon2 check (about 20 ms) in each case; without it a case would take half as long.
    assert max(medians.values()) < 1.5 * min(medians.values()), medians
    assert credential_row(hub, wrong["username"])[0] == 20


def test_every_refusal_costs_one_password_check(tmp_path: Path) -> None:
    """Is an unknown or locked account answered sooner than a wrong password?

    The same question as above without the network's noise: the authenticator's own
    check, timed in this process, where a skipped Argon2 check would show as a gap of a
    whole check.
    """
    authenticator = RosterAuthenticator(database_url=f"sqlite:///{tmp_path / 'service.sqlite'}",
                                        max_failed_logins=3)
    with authenticator.database.session() as session:
        students = [a for a in seed_demo_region(session, 2) if a.role == "student"]
    wrong, locked = students

    def refusal_seconds(username: str, password: str) -> float:
        started = time.perf_counter()
        with pytest.raises(web.HTTPError) as refusal:
            authenticator._check_password(username, password, None, None)
        assert (refusal.value.status_code, refusal.value.log_message) == (
            403, ZH["bad_credentials"])
        return time.perf_counter() - started

    for _ in range(3):
        refusal_seconds(locked.username, "guess")
    authenticator.max_failed_logins = 1000
    cases = {"wrong password": (wrong.username, "guess"),
             "unknown user": ("stu-nobody-here", "guess"),
             "locked, right password": (locked.username, locked.password)}
    times: dict[str, list[float]] = {case: [] for case in cases}
    checks = []
    password_hash = hash_password("guess-2026")
    for _ in range(30):
        for case, (username, password) in cases.items():
            times[case].append(refusal_seconds(username, password))
        started = time.perf_counter()
        verify_password(password_hash, "guess")
        checks.append(time.perf_counter() - started)
    medians = {case: statistics.median(values) for case, values in times.items()}
    one_check = statistics.median(checks)
    print("median refusal in the authenticator (ms):",
          {case: round(1000 * value, 1) for case, value in medians.items()},
          "one Argon2 check:", round(1000 * one_check, 1))
    assert max(medians.values()) - min(medians.values()) < one_check / 2, (medians, one_check)


def test_thirty_guesses_at_once_are_all_counted(hub: RunningHub) -> None:
    """Do guesses sent together from thirty machines slip past the lock-out's count?"""
    account = hub.account("student", 2)

    def guess(i: int) -> LoginResult:
        return browser_at(hub, f"127.0.7.{i + 1}").login(account["username"], f"guess-{i}")

    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(guess, range(30)))
    assert {(r.status, r.error) for r in results} == {(403, ZH["bad_credentials"])}
    assert credential_row(hub, account["username"]) == (30, None)
    with ThreadPoolExecutor(30) as pool:
        list(pool.map(guess, range(30, 30 + MAX_FAILED - 30)))
    failed, locked_until = credential_row(hub, account["username"])
    assert locked_until is not None and failed == 0
    right = browser_at(hub, "127.0.7.200").login(account["username"], account["password"])
    assert (right.status, right.error) == (403, ZH["bad_credentials"])


def test_a_guesser_behind_one_address_is_held_back(hub: RunningHub) -> None:
    """Can one machine try password after password across a class's accounts, even
    claiming a new address in its headers for every try?"""
    guesser = browser_at(hub, "127.0.8.1")
    targets = [hub.account("student", i)["username"] for i in range(10, 60)]
    burst, per_minute = AuthSettings.address_failure_burst, AuthSettings.address_failures_per_minute
    token_seconds = math.ceil(60 / per_minute)
    guesses = iter(range(10**6))

    def guess() -> LoginResult:
        """A wrong password, claiming in headers to come from a new address every time."""
        attempt = next(guesses)
        claimed = f"10.{attempt // 250}.{attempt % 250}.1"
        guesser.session.headers.update({"X-Real-Ip": claimed, "X-Forwarded-For": claimed})
        return guesser.login(targets[attempt % len(targets)], f"guess-{attempt}")

    started, failures = time.monotonic(), 0
    while (result := guess()).status == 403 and failures <= 2 * burst:
        failures += 1
    earned = (time.monotonic() - started) * per_minute / 60
    assert result.status == 429, f"{failures} failed sign-ins from one address, never held back"
    assert burst <= failures <= burst + earned + 1, (failures, earned)
    waits = [int(re.search(r"(\d+) 秒", result.error).group(1))]
    assert result.error == ZH["retry_later"].format(seconds=waits[0])
    let_through = 0  # guesses checked again once a token was earned: each ends a hold
    while waits[-1] < token_seconds:  # until the bucket is empty to the last fraction
        assert len(waits) < 20, waits
        time.sleep(0.5)
        result = guess()
        if result.status == 429:
            waits.append(int(re.search(r"(\d+) 秒", result.error).group(1)))
        else:
            let_through += 1
    victim = hub.account("student", 59)
    held = guesser.login(victim["username"], victim["password"])
    assert held.status == 429, "a held-back address still gets passwords checked"
    rows = held_back_rows(hub)
    refusals = len(waits) + 1
    assert 1 <= len(rows) <= 1 + let_through, (rows, let_through)  # a row per hold ...
    assert len(rows) < refusals, (rows, refusals)  # ... not per refusal
    assert set(rows) == {("127.0.8.1", "", "")}, "a hold's row names someone or another address"
    elsewhere = browser_at(hub, "127.0.8.2").login(victim["username"], victim["password"])
    assert elsewhere.asks_new_password, "the victim's account was locked by the guesser"


def held_back_rows(hub: RunningHub) -> list[tuple[str, str, str]]:
    """Source, actor and subject reference of every held-back row in the audit trail."""
    with sqlite3.connect(hub.data_dir / "aiclass.sqlite") as db:
        return db.execute("SELECT source, actor_ref, subject_ref FROM audit_events "
                          "WHERE action = 'sign_in.held_back'").fetchall()


def test_a_class_behind_one_address_signs_in_after_typos(hub: RunningHub) -> None:
    """Does a class of 40 behind one NAT address, some typing twice wrong, all get in?"""
    students = [hub.account("student", i) for i in range(10, 50)]

    def sign_in(index: int) -> tuple[int, int]:
        account = students[index]
        browser = browser_at(hub, "127.0.9.1")
        typos = 2 if index % 3 == 0 else 1
        for typo in range(typos):
            assert browser.login(account["username"], f"{account['password']}{typo}").status == 403
        return typos, browser.login(account["username"], account["password"],
                                    NEW_PASSWORD).status

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(sign_in, range(len(students))))
    assert sum(typos for typos, _ in outcomes) > len(students)
    assert [status for _, status in outcomes] == [302] * len(students)


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "aiclass test hub")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "hub.crt", directory / "hub.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def test_tls_hub_serves_only_https_with_secure_cookies() -> None:
    """Does a hub given a certificate leak its sign-in cookie over plain HTTP?"""
    base = world_traversable_dir("aiclass-tls-test-")
    cert, key = self_signed_certificate(base)
    service_port = free_port()
    running = start_hub(base / "data", f'[tls]\ncertificate = "{cert}"\nkey = "{key}"\n'
                        f"[service]\nport = {service_port}\n", ca_file=cert)
    try:
        teacher = Browser(running)
        teacher.sign_in(running.account("teacher"), NEW_PASSWORD)
        page = teacher.session.get(f"{running.url}/services/classroom/?lang=zh_CN",
                                   timeout=120)
        assert page.status_code == 200 and page.url.startswith("https://")
        names = {cookie.name for cookie in teacher.session.cookies}
        assert {"jupyterhub-hub-login", "jupyterhub-session-id", "_xsrf"} <= names
        assert {"service-classroom", "aiclass_lang"} <= names, names
        insecure = [cookie.name for cookie in teacher.session.cookies if not cookie.secure]
        assert not insecure, f"cookies without Secure: {insecure}"
        plain = running.url.replace("https://", "http://")
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{plain}/hub/login", timeout=10)
        # servers reach the exchange at the service's loopback port, not the TLS-only proxy
        exchange = service_url(load_settings(running.data_dir), service_port)
        assert requests.get(f"{exchange}api/v1/", timeout=30).status_code == 401  # no token
    finally:
        stop_process_group(running)
        shutil.rmtree(base, ignore_errors=True)


def test_tls_needs_both_a_certificate_and_its_key(tmp_path: Path) -> None:
    """Does a half-filled [tls] start a hub that silently serves plain HTTP?"""
    cert, _ = self_signed_certificate(tmp_path)
    with pytest.raises(SettingsError, match=r"\[tls\].*key"):
        parse_settings({"tls": {"certificate": str(cert)}}, "aiclass.toml", tmp_path)
    with pytest.raises(SettingsError, match=r"\[tls\] key"):
        parse_settings({"tls": {"certificate": str(cert), "key": str(tmp_path / "absent")}},
                       "aiclass.toml", tmp_path)
