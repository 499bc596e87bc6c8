"""Competitions against the real hub and service: a student enters (a model notebook, run in
the bubblewrap sandbox; a predictions file) and is ranked; what a curious student tries
against it is refused.

The attacks are those of a 15-year-old with a token and a notebook: read the hidden labels
through the API, the released files or a notebook that looks around inside the sandbox;
peek at the private board before the deadline; send a score of their own; enter for
another student or another school's team; enter after the deadline.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from aiclass_assignments.overview import assignment_rows
from aiclass_exchange.competition import COMPETITION_CLASS as LAB_COMPETITION_CLASS

from hub.competitions.digits import starter_notebook
from hub.competitions.in_exchange import COMPETITION_CLASS
from tests.exchange.openapi_check import check_response
from tests.hub.hubprocess import RunningHub, running_hub
from tests.org.orghub import aiclass, new_password
from tests.pages.pagesession import PAGES, PagePerson, sign_in

pytestmark = pytest.mark.integration

CONTEST = "digits-i19c"
NBGRADER = str(Path(sys.executable).parent / "nbgrader")
HEADER = ("school,school_name,locality,stage,class,class_name,school_year,grade,username,"
          "display_name,role,district,district_name\n")
DISTRICTS = ("demo-s1,,,,,,,,sadm-c1,周建国,学校管理员,dist-a,甲区\n"
             "demo-s2,,,,,,,,sadm-c2,李明,学校管理员,dist-b,乙县\n"
             ",,,,,,,,dadm-c2,孙县长,区县管理员,dist-b,\n")


@dataclass
class Contest:
    hub: RunningHub
    region_admin: PagePerson
    district_admin: PagePerson
    teacher: PagePerson
    """A teacher of demo-s1."""
    alice: PagePerson
    carol: PagePerson
    dave: PagePerson
    """Alice, Carol and Dave are students of demo-s1 (district 甲区), Bob of demo-s2 (乙县)."""
    bob: PagePerson
    tokens: dict[str, str]

    def api(self, person: PagePerson, method: str, path: str,
            body: object = None) -> requests.Response:
        if person.username not in self.tokens:
            self.tokens[person.username] = person.token()
        return requests.request(
            method, f"{self.hub.url}{PAGES}api/v1/competitions{path}", json=body, timeout=300,
            headers={"Authorization": f"token {self.tokens[person.username]}"})

    def scored(self, person: PagePerson, handed_in: requests.Response) -> dict:
        """The entry a notebook made once the scorer is done with it (202: queued)."""
        assert handed_in.status_code == 202, handed_in.text
        assert handed_in.json()["status"] == "queued"
        return self.once_scored(person, handed_in.json()["id"])

    def once_scored(self, person: PagePerson, entry_id: int) -> dict:
        """``person``'s entry ``entry_id`` once the scorer is done with it."""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            mine = self.api(person, "GET", f"/{CONTEST}/entries").json()["entries"]
            entry = next(e for e in mine if e["id"] == entry_id)
            if entry["status"] != "queued":
                return entry
            time.sleep(1)
        raise AssertionError(f"entry {entry_id} still queued")

    def exchange(self, person: PagePerson, path: str) -> requests.Response:
        """``GET`` of the exchange API (``/api/v1<path>``) as ``person``'s lab calls it."""
        if person.username not in self.tokens:
            self.tokens[person.username] = person.token()
        return requests.get(f"{self.hub.url}{PAGES}api/v1{path}", timeout=60,
                            headers={"Authorization": f"token {self.tokens[person.username]}"})

    def answer_key(self) -> dict:
        database = self.hub.data_dir / "aiclass.sqlite"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            (key,) = connection.execute("SELECT answer_key FROM competitions WHERE id = ?",
                                        (CONTEST,)).fetchone()
        return json.loads(key)

    def entry_count(self) -> int:
        database = self.hub.data_dir / "aiclass.sqlite"
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            return connection.execute("SELECT count(*) FROM competition_entries").fetchone()[0]


def csv_of(key: dict, label: str) -> str:
    return "id,label\n" + "".join(f"{row_id},{label}\n" for row_id in key["ids"])


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


@pytest.fixture(scope="module")
def contest() -> Iterator[Contest]:
    with running_hub("aiclass-i19c-", "[demo]\nstudents = 9\n") as hub:
        roster = hub.data_dir.parent / "districts.csv"
        roster.write_text(HEADER + DISTRICTS, encoding="utf-8")
        created = aiclass(hub, "roster", "import", roster)
        assert created.returncode == 0, created.stderr

        def student(school: str, index: int) -> PagePerson:
            return sign_in(hub, [a for a in hub.accounts
                                 if a["role"] == "student" and a["school"] == school][index])

        teacher = next(a for a in hub.accounts
                       if a["role"] == "teacher" and a["school"] == "demo-s1")
        district_admin = sign_in(hub, {"username": "dadm-c2",
                                       "password": new_password(hub, "dadm-c2")})
        contest = Contest(hub, sign_in(hub, hub.account("region_admin")), district_admin,
                          sign_in(hub, teacher), student("demo-s1", 0), student("demo-s1", 1),
                          student("demo-s1", 2), student("demo-s2", 0), {})
        made = contest.api(contest.region_admin, "POST", "", {
            "id": CONTEST, "title": "手写数字识别挑战赛", "sample": "digits",
            "deadline": in_an_hour(), "daily_limit": 3, "winners": 2})
        assert made.status_code == 201, made.text
        yield contest


def test_a_student_enters_and_is_ranked(contest: Contest) -> None:
    """Is a model notebook run in the sandbox and ranked on the public board, with the
    schools' and districts' rankings, on the API and on the page?"""
    listed = contest.api(contest.alice, "GET", "").json()["competitions"]
    assert [c["id"] for c in listed] == [CONTEST]
    starter = contest.api(contest.alice, "GET", f"/{CONTEST}/files/starter.ipynb")
    assert starter.status_code == 200 and "predictions.csv" in starter.text

    handed_in = contest.api(contest.alice, "POST", f"/{CONTEST}/entries",
                            {"notebook": json.loads(starter_notebook())})
    queued = handed_in.json()
    entry = contest.scored(contest.alice, handed_in)
    assert entry["status"] == "scored", entry
    assert entry["public_score"] > 0.9 and entry["private_score"] is None

    low = contest.api(contest.bob, "POST", f"/{CONTEST}/entries",
                      {"predictions": csv_of(contest.answer_key(), "0")})
    assert low.status_code == 201, low.text
    assert low.json()["public_score"] < 0.3

    board = contest.api(contest.bob, "GET", f"/{CONTEST}/leaderboard").json()
    check_response("/competitions/{competition_id}/leaderboard", "get", 200, board)
    check_response("/competitions/{competition_id}/entries", "post", 201, low.json())
    check_response("/competitions/{competition_id}/entries", "post", 202, queued)
    check_response("/competitions", "get", 200, {"competitions": listed})
    assert [(r["rank"], r["name"]) for r in board["rows"]] == [
        (1, contest.alice.username), (2, contest.bob.username)]
    assert [s["rank"] for s in board["schools"]] == [1, 2]
    assert [d["name"] for d in board["districts"]] == ["甲区", "乙县"]
    only_b = contest.api(contest.bob, "GET", f"/{CONTEST}/leaderboard?district=dist-b").json()
    assert [r["name"] for r in only_b["rows"]] == [contest.bob.username]

    listing = contest.bob.get("competitions")
    assert listing.status_code == 200 and f"competitions/{CONTEST}" in listing.text
    assert 'href="/services/classroom/competitions"' in listing.text  # the menu's link
    page = contest.bob.get(f"competitions/{CONTEST}")
    assert page.status_code == 200
    assert contest.alice.username in page.text and 'id="school-ranking"' in page.text
    assert 'id="private-hidden"' in page.text and 'id="private-board"' not in page.text
    district_page = contest.alice.get(f"competitions/{CONTEST}?district=dist-b")
    assert contest.bob.username in district_page.text
    assert contest.alice.username not in district_page.text.split('id="public-board"')[1]


def test_the_hidden_labels_stay_hidden(contest: Contest) -> None:
    """Can a student get at the labels through the API, the released files, or a notebook
    that looks for the scorer's files, the service or the hub from inside the sandbox?"""
    key = contest.answer_key()
    labels = ",".join(key["labels"])
    about = contest.api(contest.carol, "GET", f"/{CONTEST}")
    check_response("/competitions/{competition_id}", "get", 200, about.json())
    assert about.json()["files"] == ["starter.ipynb", "test.csv", "train.csv"]
    assert "answer" not in about.text
    for name in about.json()["files"]:
        released = contest.api(contest.carol, "GET", f"/{CONTEST}/files/{name}")
        assert released.status_code == 200 and labels not in released.text
    test_header = contest.api(contest.carol, "GET", f"/{CONTEST}/files/test.csv").text
    assert test_header.splitlines()[0].split(",")[:2] == ["id", "p0"]
    in_browser = contest.carol.get(f"competitions/{CONTEST}/files/test.csv")
    assert in_browser.status_code == 200 and in_browser.text == test_header
    for probe in ("answer_key", "..%2Faiclass.sqlite", "answers.json"):
        assert contest.api(contest.carol, "GET", f"/{CONTEST}/files/{probe}").status_code == 404

    snoop = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                        "execution_count": None, "source": f"""
import os, glob, urllib.request
found = []
for path in [{str(contest.hub.data_dir / 'aiclass.sqlite')!r}, {str(contest.hub.data_dir)!r}]:
    try:
        open(path, 'rb').read(64) if os.path.isfile(path) else os.listdir(path)
        found.append(path)
    except Exception:
        pass
found += [name for name in os.environ if 'TOKEN' in name or 'JUPYTERHUB' in name]
found += glob.glob('/tmp/**/*.sqlite', recursive=True) + glob.glob('/home/**/*.sqlite')
try:
    urllib.request.urlopen({contest.hub.url!r} + '/hub/login', timeout=3)
    found.append('network')
except Exception:
    pass
raise RuntimeError('FOUND:[' + ';'.join(found) + ']')
"""}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    tried = contest.scored(contest.carol, contest.api(contest.carol, "POST", f"/{CONTEST}/entries",
                                                      {"notebook": snoop}))
    assert tried["status"] == "failed"
    assert "FOUND:[]" in tried["error"], tried["error"]


def test_forged_foreign_and_peeking_requests_are_refused(contest: Contest) -> None:
    """Are a forged score, an entry for someone else or another school's team, a bad file,
    one entry too many, a peek at the private board and a student's admin call refused,
    each changing nothing?"""
    key = contest.answer_key()
    before = contest.entry_count()
    forged = contest.api(contest.dave, "POST", f"/{CONTEST}/entries",
                         {"predictions": csv_of(key, "0"), "public_score": 1.0})
    assert forged.status_code == 400 and "public_score" in forged.json()["message"]
    for_alice = contest.api(contest.dave, "POST", f"/{CONTEST}/entries",
                            {"predictions": csv_of(key, "0"), "username": contest.alice.username})
    assert for_alice.status_code == 400
    bad_row = csv_of(key, "1").replace(key["ids"][1], "t9999", 1)
    refused = contest.api(contest.dave, "POST", f"/{CONTEST}/entries", {"predictions": bad_row})
    assert refused.status_code == 400 and "第 3 行" in refused.json()["message"]
    huge = contest.api(contest.dave, "POST", f"/{CONTEST}/entries",
                       {"notebook": {"cells": [], "padding": "x" * (6 * 1024 * 1024)}})
    assert huge.status_code == 413
    check_response("/competitions/{competition_id}/entries", "post", 413, huge.json())
    assert contest.entry_count() == before

    foreign_team = contest.api(contest.teacher, "POST", f"/{CONTEST}/teams",
                               {"name": "越界队", "members": [contest.bob.username]})
    assert foreign_team.status_code == 403
    mixed = contest.api(contest.teacher, "POST", f"/{CONTEST}/teams",
                        {"name": "混合队",
                         "members": [contest.dave.username, contest.bob.username]})
    assert mixed.status_code == 400
    by_student = contest.api(contest.carol, "POST", f"/{CONTEST}/teams",
                             {"name": "自封队", "members": [contest.carol.username]})
    assert by_student.status_code == 403
    team = contest.api(contest.teacher, "POST", f"/{CONTEST}/teams",
                       {"name": "星火队", "members": [contest.carol.username,
                                                      contest.dave.username]})
    assert team.status_code == 201, team.text
    team_id = team.json()["id"]
    as_team = contest.api(contest.dave, "POST", f"/{CONTEST}/entries",
                          {"predictions": csv_of(key, "1"), "team": team_id})
    assert as_team.status_code == 201
    alone = contest.api(contest.dave, "POST", f"/{CONTEST}/entries",
                        {"predictions": csv_of(key, "1")})
    assert alone.status_code == 400
    stolen = contest.api(contest.bob, "POST", f"/{CONTEST}/entries",
                         {"predictions": csv_of(key, "1"), "team": team_id})
    assert stolen.status_code == 403
    names = [r["name"] for r in contest.api(contest.bob, "GET",
                                            f"/{CONTEST}/leaderboard").json()["rows"]]
    assert "星火队" in names and contest.dave.username not in names

    for label in ("2", "3"):
        assert contest.api(contest.bob, "POST", f"/{CONTEST}/entries",
                           {"predictions": csv_of(key, label)}).status_code == 201
    over = contest.api(contest.bob, "POST", f"/{CONTEST}/entries",
                       {"predictions": csv_of(key, "4")})
    assert over.status_code == 429 and "每天最多 3 次" in over.json()["message"]
    check_response("/competitions/{competition_id}/entries", "post", 429, over.json())
    assert len(contest.api(contest.bob, "GET", f"/{CONTEST}/entries").json()["entries"]) == 3

    assert contest.api(contest.bob, "GET",
                       f"/{CONTEST}/leaderboard?board=private").status_code == 403
    assert contest.api(contest.region_admin, "GET",
                       f"/{CONTEST}/leaderboard?board=private").status_code == 403
    assert contest.bob.get(f"competitions/{CONTEST}/certificates").status_code == 403
    assert all(e["private_score"] is None for e in contest.api(
        contest.bob, "GET", f"/{CONTEST}/entries").json()["entries"])

    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for person in (contest.bob, contest.teacher, contest.district_admin):
        moved = contest.api(person, "PATCH", f"/{CONTEST}", {"deadline": past})
        assert moved.status_code == 403, person.username
    made = contest.api(contest.bob, "POST", "", {"id": "mine", "title": "x", "sample": "digits",
                                                 "deadline": in_an_hour()})
    assert made.status_code == 403
    other = contest.api(contest.district_admin, "POST", "", {
        "id": "digits-dist-a", "title": "甲区赛", "deadline": in_an_hour(),
        "district": "dist-a"})
    assert other.status_code == 403
    own = contest.api(contest.district_admin, "POST", "", {
        "id": "digits-dist-b", "title": "乙县赛", "deadline": in_an_hour(),
        "district": "dist-b"})
    assert own.status_code == 201, own.text
    assert contest.api(contest.alice, "GET", "/digits-dist-b").status_code == 404
    assert contest.alice.get("competitions/digits-dist-b").status_code == 403
    outsider = contest.api(contest.alice, "POST", "/digits-dist-b/entries",
                           {"predictions": "id,label\n"})
    assert outsider.status_code == 404
    assert contest.api(contest.bob, "GET", "/digits-dist-b").status_code == 200


def nbgrader(contest: Contest, person: PagePerson, workdir: Path,
             *args: str) -> subprocess.CompletedProcess:
    """The ``nbgrader`` command line as ``person`` in their lab (its exchange plugin, their
    token), as the Assignments panels and the 我的作业 panel run it."""
    if person.username not in contest.tokens:
        contest.tokens[person.username] = person.token()
    env = {**os.environ,
           "JUPYTER_CONFIG_PATH": str(contest.hub.data_dir / "jupyter" / "student"),
           "JUPYTERHUB_API_TOKEN": contest.tokens[person.username],
           "AICLASS_EXCHANGE_URL": f"{contest.hub.url}{PAGES}"}
    return subprocess.run([NBGRADER, *args], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=300)


def assignments(contest: Contest, person: PagePerson) -> list[dict]:
    """The exchange's assignment list as ``person``'s lab reads it."""
    listed = contest.exchange(person, "/assignments")
    assert listed.status_code == 200, listed.text
    check_response("/assignments", "get", 200, listed.json())
    return listed.json()["assignments"]


def test_a_student_enters_from_the_lab(contest: Contest, tmp_path: Path) -> None:
    """Does a competition a student may enter appear in their lab's assignment list (with
    its deadline and daily limit), so that nbgrader's fetch brings the starter and its submit
    hands the notebook in as an entry scored in the sandbox, not as homework?"""
    assert COMPETITION_CLASS == LAB_COMPETITION_CLASS
    [row] = [r for r in assignments(contest, contest.alice) if r.get("kind") == "competition"]
    assert (row["class_id"], row["assignment_id"]) == (COMPETITION_CLASS, CONTEST)
    assert row["daily_limit"] == 3 and row["entries_today"] == 1 and row["team"] is None
    assert row["due_at"] == contest.api(contest.alice, "GET", f"/{CONTEST}").json()["deadline"]
    listed = nbgrader(contest, contest.alice, tmp_path, "list", "--course", COMPETITION_CLASS)
    assert CONTEST in listed.stdout + listed.stderr, listed.stderr

    fetched = nbgrader(contest, contest.alice, tmp_path, "fetch_assignment", CONTEST,
                       "--course", COMPETITION_CLASS)
    assert fetched.returncode == 0, fetched.stderr
    folder = tmp_path / CONTEST
    assert sorted(p.name for p in folder.iterdir()) == ["starter.ipynb", "test.csv",
                                                       "train.csv"]
    [card] = assignment_rows(assignments(contest, contest.alice), [], tmp_path)
    assert card["kind"] == "competition" and card["status"] == "in_progress"
    assert card["notebooks"] == [f"{CONTEST}/starter.ipynb"] and card["daily_limit"] == 3

    before = contest.entry_count()
    submitted = nbgrader(contest, contest.alice, tmp_path, "submit", CONTEST,
                         "--course", COMPETITION_CLASS)
    assert submitted.returncode == 0, submitted.stderr
    assert contest.entry_count() == before + 1
    mine = contest.api(contest.alice, "GET", f"/{CONTEST}/entries").json()["entries"]
    entry = contest.once_scored(contest.alice, mine[-1]["id"])
    assert entry["kind"] == "notebook" and entry["status"] == "scored", entry
    assert entry["public_score"] > 0.9
    homework = contest.exchange(contest.alice, "/submissions")
    assert homework.status_code == 200 and homework.json()["submissions"] == []

    [team_row] = [r for r in assignments(contest, contest.carol) if r.get("kind")]
    assert team_row["team"] is not None and team_row["entries_today"] == 1
    assert not [r for r in assignments(contest, contest.teacher) if r.get("kind")]


def test_the_lab_shows_and_enters_only_what_a_student_may(contest: Contest,
                                                          tmp_path: Path) -> None:
    """Does a student of a school not taking part (another district's competition) see it in
    their lab, or fetch or enter it through the exchange? Does one past the day's limit get
    an entry in through the lab? Each refusal changes nothing."""
    alices = {r["assignment_id"] for r in assignments(contest, contest.alice) if r.get("kind")}
    bobs = {r["assignment_id"] for r in assignments(contest, contest.bob) if r.get("kind")}
    assert alices == {CONTEST} and bobs == {CONTEST, "digits-dist-b"}
    before = contest.entry_count()
    peek = nbgrader(contest, contest.alice, tmp_path, "fetch_assignment", "digits-dist-b",
                    "--course", COMPETITION_CLASS)
    assert peek.returncode != 0
    assert "没有你可以参加的比赛 digits-dist-b" in peek.stdout + peek.stderr
    assert not (tmp_path / "digits-dist-b").exists()
    (tmp_path / "digits-dist-b").mkdir()
    (tmp_path / "digits-dist-b" / "starter.ipynb").write_text(starter_notebook().decode())
    sneaked = nbgrader(contest, contest.alice, tmp_path, "submit", "digits-dist-b",
                       "--course", COMPETITION_CLASS)
    assert sneaked.returncode != 0
    assert "没有你可以参加的比赛" in sneaked.stdout + sneaked.stderr

    [row] = [r for r in assignments(contest, contest.bob) if r["assignment_id"] == CONTEST]
    assert row["entries_today"] == row["daily_limit"] == 3
    assert nbgrader(contest, contest.bob, tmp_path, "fetch_assignment", CONTEST,
                    "--course", COMPETITION_CLASS).returncode == 0
    over = nbgrader(contest, contest.bob, tmp_path, "submit", CONTEST,
                    "--course", COMPETITION_CLASS)
    assert over.returncode != 0 and "每天最多 3 次" in over.stdout + over.stderr
    assert contest.entry_count() == before


def test_after_the_deadline(contest: Contest) -> None:
    """Once the deadline passes, is a late entry refused, the private board shown to all and
    a printable certificate there for each winner?"""
    key = contest.answer_key()
    past = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    moved = contest.api(contest.region_admin, "PATCH", f"/{CONTEST}", {"deadline": past})
    assert moved.status_code == 200 and moved.json()["closed"]
    assert CONTEST not in {r["assignment_id"] for r in assignments(contest, contest.alice)}
    before = contest.entry_count()
    late = contest.api(contest.alice, "POST", f"/{CONTEST}/entries",
                       {"predictions": csv_of(key, "5")})
    assert late.status_code == 400 and late.json()["error"] == "deadline_passed"
    assert contest.entry_count() == before

    private = contest.api(contest.bob, "GET", f"/{CONTEST}/leaderboard?board=private").json()
    assert private["rows"][0]["name"] == contest.alice.username
    assert private["rows"][0]["score"] > 0.9
    mine = contest.api(contest.alice, "GET", f"/{CONTEST}/entries").json()["entries"]
    assert mine[0]["private_score"] > 0.9

    page = contest.carol.get(f"competitions/{CONTEST}")
    assert 'id="private-board"' in page.text and 'id="certificates-link"' in page.text
    certificates = contest.region_admin.get(f"competitions/{CONTEST}/certificates")
    assert certificates.status_code == 200
    assert "@media print" in certificates.text
    assert 'id="certificate-1"' in certificates.text and 'id="certificate-2"' in certificates.text
    assert 'id="certificate-3"' not in certificates.text
    database = contest.hub.data_dir / "aiclass.sqlite"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        (real_name,) = connection.execute("SELECT display_name FROM people WHERE username = ?",
                                          (contest.alice.username,)).fetchone()
    own = contest.alice.get(f"competitions/{CONTEST}/certificates").text
    assert 'id="certificate-1"' in own and 'id="certificate-2"' not in own
    assert real_name in own
    from_other_school = contest.bob.get(f"competitions/{CONTEST}/certificates").text
    assert 'id="certificate-1"' not in from_other_school and real_name not in from_other_school

    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        actions = [row[0] for row in connection.execute(
            "SELECT action FROM audit_events WHERE action LIKE 'competition.%' ORDER BY id")]
    assert actions == ["competition.created", "competition.team", "competition.created",
                       "competition.deadline"]
