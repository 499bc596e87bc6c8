"""Start a real aiclass hub (``aiclass up``: JupyterHub, configurable-http-proxy, servers).

Shared by the integration tests: a hub in a temporary data dir on free loopback
ports, and a browser-like session that signs in through the login form. The suite's one
``free_port`` and one sign-in (:func:`post_login`, which docker mode's tests use too).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

AICLASS = str(Path(sys.executable).parent / "aiclass")


def free_port() -> int:
    """A TCP port free on loopback now (the kernel's pick, so two xdist workers differ)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningHub:
    """A hub started by ``aiclass up`` and what a test needs to talk to it."""

    data_dir: Path
    url: str
    process: subprocess.Popen
    log_path: Path
    accounts: list[dict[str, str]] = field(default_factory=list)
    ca_file: Path | None = None
    """The certificate to trust when the hub serves HTTPS (``[tls]``)."""
    owned: dict[str, dict[str, str]] = field(default_factory=dict)
    """Accounts handed out by :meth:`own_account`, by owner."""

    def account(self, role: str, index: int = 0) -> dict[str, str]:
        return [a for a in self.accounts if a["role"] == role][index]

    def own_account(self, owner: str, role: str = "student") -> dict[str, str]:
        """The demo account of ``role`` that ``owner`` (a test, a fixture) alone uses.

        The first call for an owner hands out an account no other owner has; later calls
        return the same one. Tests sharing a hub thus never sign in with a password another
        test changed, nor lock each other's accounts, whatever order they run in.
        """
        if owner not in self.owned:
            taken = {account["username"] for account in self.owned.values()}
            self.owned[owner] = next(
                a for a in self.accounts if a["role"] == role and a["username"] not in taken)
        account = self.owned[owner]
        assert account["role"] == role, (owner, account["role"], role)
        return account

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def start_again(self, *extra_args: str, timeout: float = 180) -> int:
        """``aiclass up`` once more on the same data dir (the hub must be stopped or killed
        first), appending to the same log; returns the log's length before this start, so
        that a test reads what the second start wrote."""
        assert self.process.poll() is not None, "the hub is still running"
        before = len(self.log())
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [AICLASS, "up", "--data", str(self.data_dir), *extra_args],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while "JupyterHub is now running" not in self.log()[before:]:
            assert self.process.poll() is None, self.log()[before:]
            assert time.monotonic() < deadline, f"no second start:\n{self.log()[before:]}"
            time.sleep(1)
        return before

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def world_traversable_dir(prefix: str) -> Path:
    """A temporary dir that servers dropped to an unprivileged uid can enter."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o711)
    return path


def without_demo_activity(settings_toml: str) -> str:
    """The settings with the demo's weeks of activity off, unless they name ``activity``.

    Most tests count what they themselves release and submit on the demo's empty classes;
    the living demo's releases, grades and its primary school would change their figures.
    """
    if re.search(r"^activity\s*=", settings_toml, re.MULTILINE):
        return settings_toml
    if "[demo]\n" in settings_toml:
        return settings_toml.replace("[demo]\n", "[demo]\nactivity = false\n", 1)
    return settings_toml + "\n[demo]\nactivity = false\n"


def start_hub(data_dir: Path, settings_toml: str = "", extra_args: tuple[str, ...] = (),
              timeout: float = 180, ca_file: Path | None = None) -> RunningHub:
    """Write the settings, run ``aiclass up --demo`` and wait for the login page.

    With ``ca_file`` the hub is expected to serve HTTPS (the settings name its ``[tls]``)
    with a certificate that file vouches for.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (data_dir / "aiclass.toml").write_text(
        f"[hub]\nport = {port}\nhub_port = {free_port()}\nproxy_api_port = {free_port()}\n"
        + without_demo_activity(settings_toml),
        encoding="utf-8",
    )
    log_path = data_dir.parent / f"{data_dir.name}-hub.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [AICLASS, "up", "--data", str(data_dir), "--demo", *extra_args],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    scheme = "https" if ca_file else "http"
    hub = RunningHub(data_dir, f"{scheme}://127.0.0.1:{port}", process, log_path,
                     ca_file=ca_file)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"aiclass up exited with {process.returncode}:\n{hub.log()}")
        try:
            if requests.get(f"{hub.url}/hub/login", timeout=5,
                            verify=str(ca_file) if ca_file else True).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.5)
    else:
        hub.stop()
        raise RuntimeError(f"hub did not answer within {timeout} s:\n{hub.log()}")
    with (data_dir / "demo-accounts.csv").open(encoding="utf-8") as handle:
        hub.accounts = list(csv.DictReader(handle))
    return hub


def stop_process_group(hub: RunningHub) -> None:
    """Stop the hub and anything it left behind in its session."""
    hub.stop()
    try:
        os.killpg(hub.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@contextmanager
def running_hub(prefix: str, settings_toml: str = "", world_traversable: bool = True,
                **options: object) -> Iterator[RunningHub]:
    """A local-mode hub (:func:`start_hub`, ``options`` passed on) in a fresh dir named by
    ``prefix``, stopped with everything it started and removed afterwards: the one way the
    tests' local-mode hub fixtures make theirs.

    The dir is world-traversable unless ``world_traversable`` is false: then it is mode 700,
    like a checkout under ``/root``, which the sandboxed servers must not need to enter.
    """
    base = (world_traversable_dir(prefix) if world_traversable
            else Path(tempfile.mkdtemp(prefix=prefix)))
    try:
        hub = start_hub(base / "data", settings_toml, **options)  # type: ignore[arg-type]
        try:
            yield hub
        finally:
            stop_process_group(hub)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class LoginResult:
    status: int
    error: str | None
    asks_new_password: bool
    url: str


def post_login(session: requests.Session, hub_url: str, username: str, password: str,
               new_password: str | None = None, confirm: str | None = None) -> LoginResult:
    """Sign in on the hub's login form at ``hub_url`` (no trailing slash) as a browser does:
    load the form for its ``_xsrf`` cookie, then post it, with a new password when one is
    given (the roster login demands one in place of the initial password)."""
    session.get(f"{hub_url}/hub/login", timeout=30)
    xsrf = next(c.value for c in session.cookies if c.name == "_xsrf" and c.path == "/hub/")
    form = {"username": username, "password": password, "_xsrf": xsrf}
    if new_password is not None:
        form["new_password"] = new_password
        form["new_password_confirm"] = new_password if confirm is None else confirm
    response = session.post(f"{hub_url}/hub/login", data=form, timeout=60,
                            allow_redirects=False)
    html = response.content.decode("utf-8")
    match = re.search(r'id="login-error">([^<]*)<', html)
    return LoginResult(response.status_code, match.group(1) if match else None,
                       'name="new_password"' in html, response.headers.get("Location", ""))


class Browser:
    """A requests session that behaves like a browser on the hub's pages."""

    def __init__(self, hub: RunningHub) -> None:
        self.hub = hub
        self.session = requests.Session()
        if hub.ca_file:  # REQUESTS_CA_BUNDLE in the environment would override it
            self.session.trust_env = False
            self.session.verify = str(hub.ca_file)

    def xsrf(self, path_prefix: str = "/hub/") -> str:
        for cookie in self.session.cookies:
            if cookie.name == "_xsrf" and cookie.path == path_prefix:
                return cookie.value
        raise LookupError(f"no _xsrf cookie for {path_prefix}")

    def login(self, username: str, password: str, new_password: str | None = None,
              confirm: str | None = None) -> LoginResult:
        return post_login(self.session, self.hub.url, username, password, new_password,
                          confirm)

    def sign_in(self, account: dict[str, str], new_password: str) -> None:
        """Sign in with the initial password, replacing it as the hub demands."""
        result = self.login(account["username"], account["password"], new_password)
        assert result.status == 302, result

    def open_lab(self, username: str, timeout: float = 180) -> dict:
        """Start the server through the hub's spawn page and return the lab's page config."""
        deadline = time.monotonic() + timeout
        self.session.get(f"{self.hub.url}/hub/spawn", timeout=60)
        while time.monotonic() < deadline:
            response = self.session.get(f"{self.hub.url}/user/{username}/lab", timeout=60)
            match = re.search(
                r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                response.content.decode("utf-8"), re.S,
            )
            if response.status_code == 200 and match:
                return json.loads(match.group(1))
            time.sleep(1)
        raise TimeoutError(f"{username}'s lab did not open:\n{self.hub.log()[-3000:]}")

    def lab_api(self, username: str, path: str) -> requests.Response:
        """GET an API of ``username``'s server with this session's cookies."""
        return self.session.get(
            f"{self.hub.url}/user/{username}/{path}",
            headers={"X-XSRFToken": self.xsrf(f"/user/{username}/")},
            timeout=60, allow_redirects=False,
        )

    def hub_api(self, path: str) -> requests.Response:
        return self.session.get(f"{self.hub.url}/hub/api/{path}",
                                headers={"X-XSRFToken": self.xsrf()}, timeout=30,
                                allow_redirects=False)
