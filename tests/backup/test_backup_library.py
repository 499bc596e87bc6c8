"""The backup library on SQLite and PostgreSQL, damaged and forged backups, and upgrades."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hub.backup import MANIFEST, BackupError, backup, file_sha256, latest_set, restore
from hub.migrations import current_revision, head_revision
from hub.settings import load_settings
from hub.upgrade import BACKUPS_DIR, hub_database_behind, upgrade_databases
from tests.backup.library_class import HOME_FILE, STUDENT, database_rows, seed_class, tree
from tests.hub.hubprocess import AICLASS
from tests.org.test_migrations import FIRST_SCHEMA
from tests.postgres import running_postgres


def data_dir(path: Path, settings: str = "") -> Path:
    path.mkdir(mode=0o700)
    (path / "aiclass.toml").write_text(settings, encoding="utf-8")
    return path


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    """A data dir holding a small class, and a backup of it in ``tmp_path / "backups"``."""
    source = data_dir(tmp_path / "data")
    seed_class(load_settings(source))
    backup(load_settings(source), tmp_path / "backups")
    return source


def test_sqlite_class_is_restored_byte_for_byte(seeded: Path, tmp_path: Path) -> None:
    """Are both databases, the blobs, the home and the settings back as they were, and does a
    second backup copy no blob again?"""
    settings = load_settings(seeded)
    again = backup(settings, tmp_path / "backups")
    assert again.blobs == 2 and again.new_blobs == 0

    target = tmp_path / "restored"
    restore(tmp_path / "backups", target)
    restored = load_settings(target)
    assert database_rows(restored.database_url) == database_rows(settings.database_url)
    assert database_rows(restored.hub_database_url) == database_rows(settings.hub_database_url)
    for part in ("homes", "exchange/blobs"):
        assert tree(target / part) == tree(seeded / part)
    assert (target / "aiclass.toml").read_bytes() == (seeded / "aiclass.toml").read_bytes()
    assert (target / "homes" / STUDENT / HOME_FILE).read_text() == '{"cells": []}'


def test_postgresql_databases_are_restored_into_fresh_ones(tmp_path: Path) -> None:
    """Does a class on PostgreSQL (docker mode's databases) come back through pg_dump and
    pg_restore into fresh databases, every row of both?"""
    with running_postgres("aiclass-backup", databases=("jupyterhub",)) as url:
        password = tmp_path / "db-password"
        password.write_text(make_url(url).password or "", encoding="utf-8")
        plain = make_url(url).set(password=None).render_as_string(hide_password=False)
        hub_url = make_url(plain).set(database="jupyterhub").render_as_string()
        source = data_dir(tmp_path / "data", f'[database]\nurl = "{plain}"\n'
                          f'hub_url = "{hub_url}"\npassword_file = "{password}"\n')
        settings = load_settings(source)
        seed_class(settings)
        before = (database_rows(settings.database_url),
                  database_rows(settings.hub_database_url))
        made = backup(settings, tmp_path / "backups")
        assert {"service.pgdump", "hub.pgdump"} <= set(
            json.loads((made.set_dir / MANIFEST).read_text())["files"])

        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text("DROP DATABASE jupyterhub WITH (FORCE)"))
            connection.execute(text("CREATE DATABASE jupyterhub"))
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        admin.dispose()

        restore(tmp_path / "backups", tmp_path / "restored")
        assert (database_rows(settings.database_url),
                database_rows(settings.hub_database_url)) == before
        assert tree(tmp_path / "restored" / "homes") == tree(source / "homes")

        again = tmp_path / "again"
        with pytest.raises(BackupError, match="not empty"):
            restore(tmp_path / "backups", again)
        assert not again.exists()


def _forge_home(set_dir: Path) -> str:
    """Replace the student's home archive with one that writes through a link into /etc,
    and recompute its manifest line, as someone able to write the backup folder would."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        link = tarfile.TarInfo(f"{STUDENT}/etc")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc"
        tar.addfile(link)
        payload = b"evil::0:0::/:/bin/sh\n"
        member = tarfile.TarInfo(f"{STUDENT}/etc/passwd-aiclass-test")
        member.size = len(payload)
        tar.addfile(member, io.BytesIO(payload))
    archive = set_dir / "homes" / f"{STUDENT}.tar"
    archive.write_bytes(buffer.getvalue())
    manifest = json.loads((set_dir / MANIFEST).read_text())
    manifest["files"][f"homes/{STUDENT}.tar"] = file_sha256(archive)
    (set_dir / MANIFEST).write_text(json.dumps(manifest))
    return f"{STUDENT}/etc/passwd-aiclass-test"


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


TAMPERINGS = {
    "service database": lambda s: (_flip_byte(s / "service.sqlite"), "service.sqlite")[1],
    "home archive": lambda s: (_flip_byte(s / "homes" / f"{STUDENT}.tar"), f"{STUDENT}.tar")[1],
    "settings": lambda s: ((s / "aiclass.toml").write_text('[hub]\nmode = "docker"\n'),
                           "aiclass.toml")[1],
    "planted file": lambda s: ((s / "homes" / "intruder.tar").write_bytes(b"x"),
                               "intruder.tar")[1],
    "blob": lambda s: (_flip_byte(next((s.parent.parent / "blobs").rglob("*/*"))), "blobs")[1],
    "forged home": _forge_home,
}


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_a_damaged_or_forged_backup_is_refused_and_nothing_changes(
        tampering: str, seeded: Path, tmp_path: Path) -> None:
    """Is a backup with one file changed (or a home archive forged to write through a link
    into /etc, its checksum recomputed) refused, naming the file, with nothing written?"""
    set_dir = latest_set(tmp_path / "backups")
    named = TAMPERINGS[tampering](set_dir)
    target = tmp_path / "restored"
    done = subprocess.run(
        [AICLASS, "restore", str(tmp_path / "backups"), "--data", str(target)],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert named in done.stderr, done.stderr
    assert not target.exists()
    assert not Path("/etc/passwd-aiclass-test").exists()


def test_a_restore_onto_a_data_dir_in_use_is_refused(seeded: Path, tmp_path: Path) -> None:
    """Does a restore refuse a data dir that holds anything, leaving every file as it was?"""
    before = tree(seeded)
    with pytest.raises(BackupError, match="not empty"):
        restore(tmp_path / "backups", seeded)
    assert tree(seeded) == before


def test_up_backs_up_then_upgrades_a_first_schema_database(tmp_path: Path) -> None:
    """Does a data dir of the first schema get a backup, then the newest revision with its
    rows; and a data dir already current (or new) no backup at all?"""
    old = data_dir(tmp_path / "old")
    with sqlite3.connect(old / "aiclass.sqlite") as connection:
        connection.executescript(FIRST_SCHEMA.read_text(encoding="utf-8"))
        connection.execute("INSERT INTO regions VALUES ('r', '旧区域')")
    settings = load_settings(old)
    summary = upgrade_databases(settings)
    assert summary is not None and summary.set_dir.parent.parent == old / BACKUPS_DIR
    with sqlite3.connect(summary.set_dir / "service.sqlite") as snapshot:
        assert snapshot.execute("SELECT version_num FROM org_alembic_version").fetchall() == [
            ("0002",)]
    engine = create_engine(settings.database_url)
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM regions")).scalars().all() == ["旧区域"]
    engine.dispose()
    assert upgrade_databases(settings) is None

    fresh = load_settings(data_dir(tmp_path / "fresh"))
    assert upgrade_databases(fresh) is None and not (fresh.data_dir / BACKUPS_DIR).exists()


def test_a_jupyterhub_database_behind_its_release_is_seen(seeded: Path) -> None:
    """Is JupyterHub's database at an older revision found (so up backs up and upgrades)?"""
    settings = load_settings(seeded)
    assert not hub_database_behind(settings)
    with sqlite3.connect(seeded / "jupyterhub.sqlite") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '833da8570507'")
    assert hub_database_behind(settings)

