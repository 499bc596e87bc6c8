"""Exchange, gradebook and report tables, which releases before this one made with ``create_all``.

A database of such a release already holds some or all of them, with its data: a table
that exists is kept as it is (its shape is the one written here, which those releases'
``create_all`` made), one that is missing (a release older than ``grading_lost_points``)
is created. A fresh database gets them all.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SUBMISSION = "exchange_submissions.id"


def _tables() -> list[sa.Table]:
    """Every table of this revision, its indexes attached, parents before children."""
    metadata = sa.MetaData()
    tables: list[sa.Table] = []

    def table(name: str, *parts: sa.Column | sa.Constraint,
              indexes: tuple[tuple[str, list[str]], ...] = ()) -> None:
        made = sa.Table(name, metadata, *parts)
        for index, columns in indexes:
            sa.Index(index, *[made.c[column] for column in columns])
        tables.append(made)

    def ids(*names: str, length: int = 64) -> list[sa.Column]:
        return [sa.Column(name, sa.String(length), nullable=False) for name in names]

    table("exchange_extensions",
          sa.Column("id", sa.Integer, primary_key=True),
          *ids("class_id", "assignment_id"), *ids("username", length=32),
          sa.Column("due_at", sa.DateTime, nullable=False),
          *ids("granted_by", length=32),
          sa.Column("granted_at", sa.DateTime, nullable=False),
          sa.UniqueConstraint("class_id", "assignment_id", "username"))
    table("exchange_fetches",
          sa.Column("id", sa.Integer, primary_key=True),
          *ids("class_id", "assignment_id"), *ids("username", length=32),
          sa.Column("version", sa.Integer, nullable=False),
          sa.Column("fetched_at", sa.DateTime, nullable=False),
          sa.UniqueConstraint("class_id", "assignment_id", "username"))
    table("exchange_releases",
          sa.Column("id", sa.Integer, primary_key=True),
          *ids("class_id", "assignment_id"),
          sa.Column("version", sa.Integer, nullable=False),
          *ids("released_by", length=32),
          sa.Column("released_at", sa.DateTime, nullable=False),
          sa.Column("due_at", sa.DateTime, nullable=True),
          sa.Column("manifest", sa.JSON, nullable=False),
          *ids("archive_sha256"),
          sa.UniqueConstraint("class_id", "assignment_id", "version"),
          indexes=(("ix_exchange_releases_class_id", ["class_id"]),))
    table("exchange_submissions",
          sa.Column("id", sa.Integer, primary_key=True),
          sa.Column("key", sa.String(32), nullable=False, unique=True),
          *ids("class_id", "assignment_id"), *ids("username", length=32),
          sa.Column("release_version", sa.Integer, nullable=False),
          sa.Column("submitted_at", sa.DateTime, nullable=False),
          *ids("idempotency_key"),
          sa.Column("manifest", sa.JSON, nullable=False),
          sa.Column("total_bytes", sa.Integer, nullable=False),
          sa.Column("chosen", sa.Boolean, nullable=False),
          sa.UniqueConstraint("username", "idempotency_key"),
          indexes=(("ix_exchange_submissions_student",
                    ["class_id", "assignment_id", "username"]),))
    table("grading_sources",
          sa.Column("id", sa.Integer, primary_key=True),
          *ids("class_id", "assignment_id"),
          sa.Column("release_version", sa.Integer, nullable=False),
          sa.Column("manifest", sa.JSON, nullable=False),
          sa.Column("grade_on", sa.String(8), nullable=False),
          sa.UniqueConstraint("class_id", "assignment_id", "release_version"))
    table("exchange_feedback",
          sa.Column("id", sa.Integer, primary_key=True),
          sa.Column("submission_id", sa.Integer, sa.ForeignKey(SUBMISSION), nullable=False,
                    unique=True),
          *ids("released_by", length=32),
          sa.Column("released_at", sa.DateTime, nullable=False),
          sa.Column("manifest", sa.JSON, nullable=False))
    table("grading_jobs",
          sa.Column("id", sa.Integer, primary_key=True),
          sa.Column("submission_id", sa.Integer, sa.ForeignKey(SUBMISSION), nullable=False),
          *ids("class_id", "assignment_id"),
          *ids("state", "reason", length=8), *ids("requested_by", length=32),
          sa.Column("enqueued_at", sa.DateTime, nullable=False),
          sa.Column("not_before", sa.DateTime, nullable=False),
          sa.Column("attempts", sa.Integer, nullable=False),
          sa.Column("lease_owner", sa.String(64), nullable=True),
          sa.Column("lease_expires_at", sa.DateTime, nullable=True),
          sa.Column("finished_at", sa.DateTime, nullable=True),
          sa.Column("error", sa.Text, nullable=True),
          indexes=(("ix_grading_jobs_claim", ["state", "not_before"]),
                   ("ix_grading_jobs_submission_id", ["submission_id"])))
    table("grading_cells",
          sa.Column("id", sa.Integer, primary_key=True),
          sa.Column("submission_id", sa.Integer, sa.ForeignKey(SUBMISSION), nullable=False),
          *ids("class_id", "assignment_id"), *ids("username", length=32),
          *ids("notebook", "grade_id", length=128),
          sa.Column("position", sa.Integer, nullable=False),
          *ids("kind", length=8),
          sa.Column("max_score", sa.Float, nullable=False),
          sa.Column("auto_score", sa.Float, nullable=True),
          sa.Column("manual_score", sa.Float, nullable=True),
          sa.Column("override_score", sa.Float, nullable=True),
          sa.Column("comment", sa.Text, nullable=False),
          sa.Column("job_id", sa.Integer, sa.ForeignKey("grading_jobs.id"), nullable=False),
          sa.UniqueConstraint("submission_id", "notebook", "grade_id"),
          indexes=(("ix_grading_cells_class", ["class_id", "assignment_id", "username"]),))
    table("grading_lost_points",
          sa.Column("id", sa.Integer, primary_key=True),
          sa.Column("submission_id", sa.Integer, sa.ForeignKey(SUBMISSION), nullable=False),
          *ids("notebook", "grade_id", length=128),
          sa.Column("reason", sa.JSON, nullable=False),
          sa.Column("job_id", sa.Integer, sa.ForeignKey("grading_jobs.id"), nullable=False),
          sa.UniqueConstraint("submission_id", "notebook", "grade_id"))
    table("grading_notebooks",
          sa.Column("id", sa.Integer, primary_key=True),
          sa.Column("submission_id", sa.Integer, sa.ForeignKey(SUBMISSION), nullable=False),
          *ids("notebook", length=128),
          sa.Column("job_id", sa.Integer, sa.ForeignKey("grading_jobs.id"), nullable=False),
          sa.Column("flags", sa.JSON, nullable=False),
          sa.Column("executed_sha256", sa.String(64), nullable=True),
          sa.Column("graded_at", sa.DateTime, nullable=False),
          sa.UniqueConstraint("submission_id", "notebook"))
    table("grading_changes",
          sa.Column("id", sa.Integer, primary_key=True),
          sa.Column("cell_id", sa.Integer, sa.ForeignKey("grading_cells.id"), nullable=False),
          *ids("field", length=16),
          sa.Column("old_value", sa.Text, nullable=True),
          sa.Column("new_value", sa.Text, nullable=True),
          *ids("changed_by", length=32),
          sa.Column("changed_at", sa.DateTime, nullable=False),
          sa.Column("reason", sa.Text, nullable=False),
          indexes=(("ix_grading_changes_cell_id", ["cell_id"]),))
    table("report_activity_days",
          sa.Column("id", sa.Integer, primary_key=True),
          *ids("username", length=32),
          sa.Column("day", sa.Date, nullable=False),
          sa.Column("active_minutes", sa.Integer, nullable=False),
          sa.Column("gpu_minutes", sa.Integer, nullable=False),
          sa.UniqueConstraint("username", "day"),
          indexes=(("ix_report_activity_days_day", ["day"]),))
    table("report_snapshots",
          sa.Column("name", sa.String(32), primary_key=True),
          sa.Column("computed_at", sa.DateTime, nullable=False),
          sa.Column("body", sa.JSON, nullable=False))
    return tables


def upgrade() -> None:
    connection = op.get_bind()
    existing = set(sa.inspect(connection).get_table_names())
    for table in _tables():
        if table.name not in existing:
            table.create(connection)  # and its indexes


def downgrade() -> None:
    connection = op.get_bind()
    for table in reversed(_tables()):
        table.drop(connection)
