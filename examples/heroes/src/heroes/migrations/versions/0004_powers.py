"""Powers, and the heroes' powers at a level (a many-to-many with data on the link).

Power names compare exactly on MariaDB/MySQL (ExactText: a binary NO PAD collation), as
hero names do since 0003. A link goes with
its hero (CASCADE); a power that heroes have cannot be deleted (RESTRICT). The link's
primary key (hero_id, power_id) serves lookups by hero; power_id has its own index for
a power's heroes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sqlmodel_async import ExactText

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "power",
        sa.Column(
            "name",
            ExactText(255),
            nullable=False,
        ),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "heropowerlink",
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("hero_id", sa.Integer(), nullable=False),
        sa.Column("power_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["hero_id"], ["hero.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["power_id"], ["power.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("hero_id", "power_id"),
    )
    with op.batch_alter_table("heropowerlink", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_heropowerlink_power_id"), ["power_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("heropowerlink")
    op.drop_table("power")
