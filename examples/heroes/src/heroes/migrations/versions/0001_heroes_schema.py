"""The Heroes schema: teams, heroes, items, transfer log.

Generated with `heroes db revision --autogenerate`, then reviewed: hero names compare
exactly on MariaDB (utf8mb4_bin), AutoString is VARCHAR(255) there, transfer times are
UTCDateTime (DATETIME(6) on MariaDB, timestamptz on PostgreSQL).

Revision ID: 0001
Revises:
Create Date: 2026-11-22 02:24:52.853048
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import mysql

import sqlmodel_async.types

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "team",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("headquarters", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_name"), ["name"], unique=False)

    op.create_table(
        "hero",
        sa.Column(
            "name",
            sa.String(length=255)
            .with_variant(mysql.VARCHAR(collation="utf8mb4_bin", length=255), "mariadb")
            .with_variant(mysql.VARCHAR(collation="utf8mb4_bin", length=255), "mysql"),
            nullable=False,
        ),
        sa.Column("secret_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("power_level", sa.Double(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("hero", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hero_age"), ["age"], unique=False)
        batch_op.create_index(batch_op.f("ix_hero_team_id"), ["team_id"], unique=False)

    op.create_table(
        "item",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hero_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["hero_id"], ["hero.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_hero_id"), ["hero_id"], unique=False)

    op.create_table(
        "transferlog",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hero_id", sa.Integer(), nullable=False),
        sa.Column("from_team_id", sa.Integer(), nullable=True),
        sa.Column("to_team_id", sa.Integer(), nullable=True),
        sa.Column("transferred_at", sqlmodel_async.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["from_team_id"], ["team.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["hero_id"], ["hero.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["to_team_id"], ["team.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("transferlog", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transferlog_hero_id"), ["hero_id"], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes; dropping them first fails on MariaDB, which
    # refuses to drop an index a foreign key needs.
    op.drop_table("transferlog")
    op.drop_table("item")
    op.drop_table("hero")
    op.drop_table("team")
