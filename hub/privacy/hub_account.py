"""One person's JupyterHub account: is their server running, and deleting the account.

A running hub keeps its users in memory, so while it runs the account goes through its
REST API (with the organisation mirror's token, which may delete users); rows deleted
under it would come back at its next write. When the hub is down, its database is all
there is, and the account goes through JupyterHub's own ORM, whose cascades take the
tokens, servers, group and role memberships with it. Whether a server runs is read
from the database in both cases: the mirror's token may delete users but not read
servers, and the database is what the hub itself trusts at start.
"""

from __future__ import annotations

from pathlib import Path

from jupyterhub import orm
from sqlalchemy import TextClause, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from hub.hub_api import HubAPI, HubUnreachable, hub_api_url
from hub.org.mirror import TOKEN_FILE_NAME, mirror_token
from hub.privacy.refusal import ErasureIncomplete
from hub.settings import Settings

RUNNING_SERVERS = text(
    "SELECT spawners.name FROM spawners JOIN users ON users.id = spawners.user_id "
    "WHERE users.name = :username AND spawners.server_id IS NOT NULL")
ACCOUNT = text("SELECT name FROM users WHERE name = :username")


def _hub_database_exists(url: str) -> bool:
    if url.startswith("sqlite"):
        database = make_url(url).database
        return bool(database) and Path(database).exists()
    return True


def _hub_query(settings: Settings, query: TextClause, username: str) -> list[str]:
    url = settings.hub_database_url
    if not _hub_database_exists(url):
        return []
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if not engine.dialect.has_table(connection, "spawners"):
                return []
            return list(connection.scalars(query, {"username": username}))
    finally:
        engine.dispose()


def running_servers(settings: Settings, username: str) -> list[str]:
    """The names of ``username``'s servers the hub has running ("" is the default one)."""
    return _hub_query(settings, RUNNING_SERVERS, username)


def has_account(settings: Settings, username: str) -> bool:
    """Whether the hub's database has an account ``username``."""
    return bool(_hub_query(settings, ACCOUNT, username))


def _delete_in_database(url: str, username: str) -> bool:
    if not _hub_database_exists(url):
        return False
    engine = create_engine(url)
    try:
        with Session(engine) as session, session.begin():
            user = session.query(orm.User).filter_by(name=username).one_or_none()
            if user is None:
                return False
            session.delete(user)
            return True
    finally:
        engine.dispose()


def delete_account(settings: Settings, username: str) -> bool:
    """Delete ``username``'s hub account (tokens, servers, memberships); False if none."""
    if (settings.data_dir / TOKEN_FILE_NAME).exists():
        api = HubAPI(hub_api_url(settings), mirror_token(settings.data_dir), timeout=60)
        try:
            response = api.request("DELETE", f"users/{username}")
        except HubUnreachable:
            return _delete_in_database(settings.hub_database_url, username)
        if response.status_code == 404:
            return False
        if response.status_code != 204:
            raise ErasureIncomplete(f"hub 拒绝删除账号 / the hub refused to delete the account "
                                    f"{username}: {response.status_code}")
        return True
    return _delete_in_database(settings.hub_database_url, username)
