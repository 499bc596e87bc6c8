"""``aiclass grade`` as a teacher runs it: the installed command, in a process of its own.

The library underneath is tested on its own elsewhere; here the question is what the command
line promises. Does a folder grade to a JSON file and an ``autograded/`` folder beside it?
Does ``--sandbox auto`` take Docker where the engine answers, and leave no container, cgroup or
temporary folder behind? Does a broken *student* notebook stay a flag (status 0) while a broken
*source* or a missing folder stops the run with status 1 and says which file, Chinese first?
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from grading.sandbox.base import scratch_parent
from grading.sandbox.docker import OWNER_LABEL
from tests.docker.docker_classroom import docker, docker_available, ensure_image
from tests.grading.conftest import CORRECT, PS1_SOURCE, write_submission

AICLASS = Path(sys.executable).parent / "aiclass"


def aiclass_grade(*args: str | Path, tmpdir: Path) -> subprocess.CompletedProcess:
    """Run ``aiclass grade ARGS`` with its own temporary folder, so leftovers are visible."""
    tmpdir.mkdir(exist_ok=True)
    return subprocess.run([str(AICLASS), "grade", *map(str, args)], capture_output=True,
                          text=True, timeout=900, env={**os.environ, "TMPDIR": str(tmpdir)})


def grading_containers(since: str, until: str) -> set[str]:
    """Ids of the grading sandboxes Docker created between the two times (its own record)."""
    events = docker("events", "--since", since, "--until", until, "--filter", "type=container",
                    "--filter", "event=create", "--filter", f"label={OWNER_LABEL}",
                    "--format", "{{.Actor.ID}}")
    return set(events.split())


def container_cgroups(ids: set[str]) -> list[Path]:
    """cgroup folders (v1 or v2) still named after any of the containers."""
    roots = [root for root in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/memory"))
             if root.is_dir()]
    assert roots, "no cgroup hierarchy found"
    found = []
    for root in roots:
        for pattern in ("docker-*.scope", "docker/*", "system.slice/docker-*.scope"):
            found += [path for path in root.glob(pattern)
                      if any(container in path.name for container in ids)]
    return found


@pytest.fixture(scope="module")
def submissions(released_ps1: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two students: one right everywhere, one whose second notebook is not a notebook."""
    submitted = tmp_path_factory.mktemp("submitted")
    release = released_ps1 / "release" / "ps1"
    write_submission(release, submitted, "good", edits=CORRECT)
    broken = write_submission(release, submitted, "broken", edits=CORRECT)
    (broken / "problem2.ipynb").write_text("{这不是笔记本 / not a notebook", encoding="utf-8")
    return submitted


def test_auto_sandbox_grades_to_the_out_file_and_cleans_up(submissions: Path,
                                                          tmp_path: Path) -> None:
    """Docker answers here (CI starts it), so ``auto`` takes it; nothing outlives the run.

    Its temporary folder is short, under ``/tmp``: a sandbox under a longer one (pytest's
    own, on an xdist worker) keeps its sockets in ``/tmp`` instead
    (:func:`grading.sandbox.base.scratch_parent`), where this test could not see leftovers.
    """
    scratch = Path(tempfile.mkdtemp(prefix="aiclass-gc-", dir="/tmp"))
    try:
        _grade_in_docker_and_check(submissions, tmp_path, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _grade_in_docker_and_check(submissions: Path, tmp_path: Path, scratch: Path) -> None:
    if not docker_available():
        pytest.skip("Docker engine not running (.ci/run starts dockerd --bridge=none)")
    ensure_image("student")
    out = tmp_path / "results" / "ps1.json"
    out.parent.mkdir()
    since = datetime.now(UTC).isoformat()
    done = aiclass_grade(PS1_SOURCE, submissions, "--out", out, "--jobs", "2",
                         tmpdir=scratch)
    time.sleep(1)  # events are stamped to the second
    until = datetime.now(UTC).isoformat()
    assert done.returncode == 0, done.stderr
    assert done.stdout == "", "with --out the result goes to the file only"

    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["assignment"] == "ps1"
    students = {s["student"]: s for s in result["students"]}
    assert set(students) == {"good", "broken"}
    good, broken = students["good"], students["broken"]
    assert good["flags"] == []
    tested = [cell for notebook in good["notebooks"] for cell in notebook["cells"]
              if cell["kind"] == "auto"]
    assert tested and all(cell["score"] == cell["max_score"] for cell in tested), tested
    notebooks = {n["notebook"]: n for n in broken["notebooks"]}
    assert notebooks["problem2"]["flags"] == ["unreadable"]
    assert notebooks["problem2"]["score"] == 0
    good_problem1 = next(n for n in good["notebooks"] if n["notebook"] == "problem1")
    assert notebooks["problem1"]["score"] == good_problem1["score"] > 0

    autograded = out.parent / "autograded"
    graded = json.loads((autograded / "good" / "ps1" / "problem1.ipynb").read_text())
    assert any(c["outputs"] for c in graded["cells"] if c["cell_type"] == "code"), \
        "the kept notebook is the one the grader ran"
    assert not (autograded / "broken" / "ps1" / "problem2.ipynb").exists()

    sandboxes = grading_containers(since, until)
    assert sandboxes, "auto did not grade in Docker although the engine answers"
    left = docker("ps", "-aq", "--no-trunc", "--filter", f"label={OWNER_LABEL}").split()
    assert not sandboxes.intersection(left), "grading containers left behind"
    assert container_cgroups(sandboxes) == [], "cgroups of grading containers left behind"
    assert list(scratch.iterdir()) == [], "temporary folders left behind"


def test_a_missing_source_is_status_1_naming_it(submissions: Path, tmp_path: Path) -> None:
    out = tmp_path / "ps1.json"
    missing = tmp_path / "source" / "ps9"
    done = aiclass_grade(missing, submissions, "--out", out, "--sandbox", "local",
                         tmpdir=tmp_path / "tmp")
    assert done.returncode == 1
    assert "找不到源作业目录" in done.stderr and "source assignment not found" in done.stderr
    assert done.stderr.index("找不到") < done.stderr.index("not found"), "Chinese first"
    assert str(missing) in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()


def test_a_missing_submissions_folder_is_status_1(tmp_path: Path) -> None:
    missing = tmp_path / "submitted"
    done = aiclass_grade(PS1_SOURCE, missing, "--sandbox", "local", tmpdir=tmp_path / "tmp")
    assert done.returncode == 1
    assert "找不到提交目录" in done.stderr and str(missing) in done.stderr
    assert done.stdout == ""


def test_a_corrupt_source_notebook_is_status_1_naming_the_file(submissions: Path,
                                                              tmp_path: Path) -> None:
    """A teacher's broken source is the run's failure, not every student's zero."""
    source = tmp_path / "source" / "ps1"
    shutil.copytree(PS1_SOURCE, source)
    (source / "problem2.ipynb").write_text('{"cells": [', encoding="utf-8")
    out = tmp_path / "ps1.json"
    done = aiclass_grade(source, submissions, "--out", out, "--sandbox", "local",
                         tmpdir=tmp_path / "tmp")
    assert done.returncode == 1, done.stdout
    assert "批改失败 / grading failed" in done.stderr
    assert "源作业笔记本无法读取 / source notebook cannot be read: problem2.ipynb" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert not out.exists()


def test_jobs_below_one_is_a_usage_error(submissions: Path, tmp_path: Path) -> None:
    done = aiclass_grade(PS1_SOURCE, submissions, "--jobs", "0", tmpdir=tmp_path / "tmp")
    assert done.returncode == 2
    assert "--jobs 至少为 1 / --jobs must be at least 1" in done.stderr


def test_a_deep_temporary_folder_keeps_sandbox_sockets_short(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    """Under a ``TMPDIR`` too deep for a Unix socket's 107 bytes, a sandbox's scratch (and the
    kernel's sockets in it) goes to ``/tmp``; under a short one it stays there."""
    deep = tmp_path / ("d" * 70)
    deep.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(deep))
    assert scratch_parent() == "/tmp"
    short = Path(tempfile.mkdtemp(prefix="s-", dir="/tmp"))
    try:
        monkeypatch.setattr(tempfile, "tempdir", str(short))
        assert scratch_parent() == str(short)
    finally:
        short.rmdir()
