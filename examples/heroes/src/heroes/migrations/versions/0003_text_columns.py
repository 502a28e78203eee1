"""Text columns: utf8mb4 everywhere, and hero names that compare exactly on MariaDB/MySQL.

Written by hand (autogenerate sees neither character sets nor collations). SQLite and
PostgreSQL store UTF-8 and compare text exactly already: nothing to do there. On
MariaDB/MySQL a database created with a utf8mb3 default holds no emoji, so every text
column becomes utf8mb4; hero names move from utf8mb4_bin, which pads trailing spaces
("Victim " equals "Victim"), to ExactText's binary NO PAD collation (MariaDB
utf8mb4_nopad_bin, MySQL utf8mb4_0900_bin). Column by column rather than CONVERT TO
CHARACTER SET: that would pass hero names through a case-insensitive collation, where
"batman" and "Batman" would break the unique key.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 19:55:00.000000
"""

from collections.abc import Sequence

from alembic import op

from sqlmodel_async.types import ExactText

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME_LENGTH = 255
#: Every text column of the schema but hero.name, by table (all VARCHAR(255) NOT NULL).
TEXT_COLUMNS = {"team": ("name", "headquarters"), "hero": ("secret_name",), "item": ("name",)}
TABLES = ("team", "hero", "item", "transferlog")


def _mysql() -> bool:
    return op.get_bind().dialect.name in ("mysql", "mariadb")


def upgrade() -> None:
    if not _mysql():
        return
    for table in TABLES:  # the default of columns added later
        op.execute(f"ALTER TABLE {table} DEFAULT CHARACTER SET utf8mb4")
    for table, columns in TEXT_COLUMNS.items():
        changes = ", ".join(
            f"MODIFY {column} VARCHAR({NAME_LENGTH}) CHARACTER SET utf8mb4 NOT NULL"
            for column in columns
        )
        op.execute(f"ALTER TABLE {table} {changes}")
    exact = ExactText(NAME_LENGTH).compile(dialect=op.get_bind().dialect)
    op.execute(f"ALTER TABLE hero MODIFY name {exact} NOT NULL")


def downgrade() -> None:
    # Back to padding hero names; the character sets stay utf8mb4 (a narrower one could
    # not hold every value already stored).
    if not _mysql():
        return
    op.execute(
        f"ALTER TABLE hero MODIFY name VARCHAR({NAME_LENGTH}) "
        "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL"
    )
