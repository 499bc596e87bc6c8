"""Index enrollments by username: a student's classes are looked up at every sign-in and sync.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_enrollments_username", "enrollments", ["username"])


def downgrade() -> None:
    op.drop_index("ix_enrollments_username", table_name="enrollments")
