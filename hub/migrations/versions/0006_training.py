"""Teacher training: cohorts, tracks, hours, certificates (issue 19).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing yet: the tables arrive with the feature."""


def downgrade() -> None:
    """Nothing to undo."""
