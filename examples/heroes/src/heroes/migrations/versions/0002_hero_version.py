"""Heroes get a version column (optimistic concurrency: the ORM's UPDATE/DELETE check it).

Generated with `heroes db revision --autogenerate`, then reviewed: the server default 1
gives existing heroes a version (and rows written outside the ORM one); SQLite adds the
column in place, its batch mode rebuilds the table only to drop it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 03:08:46.104180
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hero", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("hero", schema=None) as batch_op:
        batch_op.drop_column("version")
