"""Competitions: hidden answer keys, released files, teams, entries, standings (issue 19).

New tables only (see :mod:`hub.competitions.models`); nothing existing changes, so a
database of an earlier release gains no competitions and loses nothing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _competition_tables() -> list[sa.Table]:
    metadata = sa.MetaData()
    sa.Table("schools", metadata, sa.Column("id", sa.String(64), primary_key=True))
    sa.Table("districts", metadata, sa.Column("id", sa.String(64), primary_key=True))
    """Only named, so that the foreign keys resolve: they exist, they are not made."""

    def text(name: str, length: int, nullable: bool = False) -> sa.Column:
        return sa.Column(name, sa.String(length), nullable=nullable)

    def competition(primary_key: bool = False) -> sa.Column:
        return sa.Column("competition_id", sa.String(64), sa.ForeignKey("competitions.id"),
                         primary_key=primary_key, nullable=False)

    competitions = sa.Table(
        "competitions", metadata,
        sa.Column("id", sa.String(64), primary_key=True),
        text("title", 120), text("sample", 32),
        sa.Column("district_id", sa.String(64), sa.ForeignKey("districts.id"), nullable=True),
        sa.Column("deadline", sa.DateTime, nullable=False),
        sa.Column("daily_limit", sa.Integer, nullable=False),
        sa.Column("winners", sa.Integer, nullable=False),
        sa.Column("answer_key", sa.JSON, nullable=False),
        text("created_by", 32), sa.Column("created_at", sa.DateTime, nullable=False))
    files = sa.Table(
        "competition_files", metadata, competition(primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("content", sa.LargeBinary, nullable=False))
    teams = sa.Table(
        "competition_teams", metadata,
        sa.Column("id", sa.Integer, primary_key=True), competition(), text("name", 64),
        sa.Column("school_id", sa.String(64), sa.ForeignKey("schools.id"), nullable=False),
        sa.UniqueConstraint("competition_id", "name"))
    members = sa.Table(
        "competition_team_members", metadata,
        sa.Column("id", sa.Integer, primary_key=True), competition(),
        sa.Column("team_id", sa.Integer, sa.ForeignKey("competition_teams.id"),
                  nullable=False, index=True),
        text("username", 32), sa.UniqueConstraint("competition_id", "username"))
    entries = sa.Table(
        "competition_entries", metadata,
        sa.Column("id", sa.Integer, primary_key=True), competition(),
        text("participant", 48), text("submitted_by", 32), text("kind", 16),
        sa.Column("content", sa.LargeBinary, nullable=False), text("status", 16),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("public_score", sa.Float, nullable=True),
        sa.Column("private_score", sa.Float, nullable=True),
        sa.Column("submitted_at", sa.DateTime, nullable=False),
        sa.Column("scored_at", sa.DateTime, nullable=True))
    sa.Index("ix_competition_entries_participant", entries.c.competition_id,
             entries.c.participant, entries.c.submitted_at)
    standings = sa.Table(
        "competition_standings", metadata, competition(primary_key=True),
        sa.Column("participant", sa.String(48), primary_key=True), text("label", 64),
        sa.Column("school_id", sa.String(64), sa.ForeignKey("schools.id"), nullable=False),
        text("district_id", 64, True),
        sa.Column("best_entry_id", sa.Integer, nullable=False),
        sa.Column("public_score", sa.Float, nullable=False),
        sa.Column("private_score", sa.Float, nullable=False),
        sa.Column("entries", sa.Integer, nullable=False),
        sa.Column("best_at", sa.DateTime, nullable=False))
    sa.Index("ix_competition_standings_public", standings.c.competition_id,
             standings.c.public_score)
    return [competitions, files, teams, members, entries, standings]


def upgrade() -> None:
    connection = op.get_bind()
    tables = set(sa.inspect(connection).get_table_names())
    for table in _competition_tables():
        if table.name not in tables:
            table.create(connection)


def downgrade() -> None:
    connection = op.get_bind()
    for table in reversed(_competition_tables()):
        table.drop(connection)
