"""A competition in the student's lab: listed, fetched and entered like homework.

The service lists the open competitions a student may enter among their assignments, each
row marked ``"kind": "competition"``. Fetching one downloads its released files (training
data, the test set's features, the starter notebook) into the assignment folder; submitting
one hands the starter notebook in as a competition entry, which the service scores against
the hidden labels in its sandbox. Nothing here decides who may enter: the service does, from
the caller's token, and its refusal (after the deadline, past the day's limit, not taking
part) reaches the student as it is worded.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from nbgrader.exchange.abc.exchange import ExchangeError

from aiclass_exchange.client import ServiceClient
from aiclass_exchange.folders import unzip_into

KIND = "competition"
COMPETITION_CLASS = "Competitions"
"""The class id of the service's competition rows (``hub.competitions.in_exchange``; a test
keeps the two equal). Homework never has it, so its fetches and submits ask nothing more."""


def competition_row(client: ServiceClient, course_id: str, assignment_id: str) -> dict | None:
    """The service's row for ``assignment_id`` if ``course_id`` is the competitions' (none
    for homework); a competition the caller may not enter now is refused by name."""
    if course_id != COMPETITION_CLASS:
        return None
    row = next((row for row in client.get_json("/assignments")["assignments"]
                if row.get("kind") == KIND and row["class_id"] == course_id
                and row["assignment_id"] == assignment_id), None)
    if row is None:
        raise ExchangeError(f"没有你可以参加的比赛 {assignment_id}：它不存在、已截止，或你的学校"
                            f"没有参加（no competition {assignment_id} is open to you）")
    return row


def fetch_files(client: ServiceClient, row: dict, destination: Path, *,
                only_missing: bool) -> list[str]:
    """Download the competition's released files into ``destination``; the names written.

    They are packed into one zip and unpacked with the exchange's own safe, atomic
    unpacking, so a fetch cut short leaves no half-filled folder.
    """
    base = f"/competitions/{row['assignment_id']}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in client.get_json(base)["files"]:
            archive.writestr(name, client.get_bytes(f"{base}/files/{name}"))
    return unzip_into(buffer.getvalue(), destination, only_missing=only_missing)


def enter(client: ServiceClient, row: dict, folder: Path) -> dict:
    """Hand in the folder's notebook as an entry (for the student's team, if they have one);
    the service's record of the entry, queued for scoring."""
    notebook = folder / f"{row['notebooks'][0]}.ipynb"
    try:
        content = json.loads(notebook.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ExchangeError(f"找不到比赛笔记本：{notebook.name}（the competition notebook is "
                            f"missing）") from error
    except (UnicodeDecodeError, ValueError) as error:
        raise ExchangeError(f"无法读取笔记本：{notebook.name}（the notebook is not valid "
                            f"JSON）") from error
    body = {"notebook": content}
    if row.get("team") is not None:
        body["team"] = row["team"]
    return client.post_json(f"/competitions/{row['assignment_id']}/entries", body)
