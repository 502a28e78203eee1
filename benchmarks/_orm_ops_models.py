"""The three tables of benchmarks/orm_ops.py as SQLModel models (the library, plain SQLModel
and raw asyncpg share them), with the schema the library's schema reads return.

Shapes of Tortoise ORM's orm-benchmarks suite: 1 = a journal row (id, timestamp, level,
text), 2 = the same with a nullable foreign key to its parent row, 3 = the same with 32 more
columns (float, smallint, int, bigint, varchar, text, decimal, JSON; four of each, half with
defaults, half nullable). Tortoise's shape 2 also has a many-to-many relation that none of
the eleven operations touches: left out here (Piccolo's version of the suite leaves it out too).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlmodel import Field, SQLModel

LEVELS = (10, 20, 30, 40, 50)
TEXT_DEFAULT = "Moo,Foo,Baa,Waa,Moo,Foo,Baa,Waa,Moo,Foo,Baa,Waa"
JSON_DEFAULT: dict[str, Any] = {"a": 1, "b": "b", "c": [2], "d": {"e": 3}, "f": True}

#: Table names, one set per side that defines its own (Tortoise and Piccolo create theirs).
TABLES = {1: "ormops_journal1", 2: "ormops_journal2", 3: "ormops_journal3"}


def _now() -> datetime:
    return datetime.now(UTC)


class Journal1(SQLModel, table=True):
    __tablename__ = TABLES[1]

    id: int | None = Field(default=None, primary_key=True)
    timestamp: datetime = Field(default_factory=_now)
    level: int = Field(sa_type=sa.SmallInteger, index=True)
    text: str = Field(max_length=255, index=True)


class Journal2(SQLModel, table=True):
    __tablename__ = TABLES[2]

    id: int | None = Field(default=None, primary_key=True)
    timestamp: datetime = Field(default_factory=_now)
    level: int = Field(sa_type=sa.SmallInteger, index=True)
    text: str = Field(max_length=255, index=True)
    parent_id: int | None = Field(default=None, foreign_key=f"{TABLES[2]}.id")


def _wide_columns() -> dict[str, Any]:
    """Shape 3's 32 extra columns as (annotation, Field) pairs."""
    fields: dict[str, Any] = {}
    for n in (1, 2, 3, 4):
        defaulted = n % 2 == 1

        def field(default: Any, sa_type: Any, defaulted: bool = defaulted) -> Any:
            if defaulted:
                return Field(default=default, sa_type=sa_type)
            return Field(default=None, sa_type=sa_type, nullable=True)

        opt = "" if defaulted else " | None"
        fields[f"col_float{n}"] = (f"float{opt}", field(2.2, sa.Float))
        fields[f"col_smallint{n}"] = (f"int{opt}", field(2, sa.SmallInteger))
        fields[f"col_int{n}"] = (f"int{opt}", field(2_000_000, sa.Integer))
        fields[f"col_bigint{n}"] = (f"int{opt}", field(99_999_999, sa.BigInteger))
        fields[f"col_char{n}"] = (f"str{opt}", field("value1", sa.String(255)))
        fields[f"col_text{n}"] = (f"str{opt}", field(TEXT_DEFAULT, sa.Text))
        fields[f"col_decimal{n}"] = (f"Decimal{opt}", field(Decimal("2.2"), sa.Numeric(12, 8)))
        if defaulted:
            fields[f"col_json{n}"] = (
                "dict[str, Any]",
                Field(default_factory=lambda: dict(JSON_DEFAULT), sa_type=sa.JSON),
            )
        else:
            fields[f"col_json{n}"] = ("dict[str, Any] | None", field(None, sa.JSON))
    return fields


def _journal3() -> type[SQLModel]:
    columns = _wide_columns()
    namespace: dict[str, Any] = {
        "__tablename__": TABLES[3],
        "__module__": __name__,
        "__annotations__": {
            "id": "int | None",
            "timestamp": "datetime",
            "level": "int",
            "text": "str",
            **{name: annotation for name, (annotation, _) in columns.items()},
        },
        "id": Field(default=None, primary_key=True),
        "timestamp": Field(default_factory=_now),
        "level": Field(sa_type=sa.SmallInteger, index=True),
        "text": Field(max_length=255, index=True),
        **{name: field for name, (_, field) in columns.items()},
    }
    metaclass: Any = type(SQLModel)
    made: type[SQLModel] = metaclass("Journal3", (SQLModel,), namespace, table=True)
    return made


Journal3 = _journal3()

MODELS: dict[int, type[SQLModel]] = {1: Journal1, 2: Journal2, 3: Journal3}
SHAPES = {1: "4 columns", 2: "foreign key", 3: "36 columns"}


def read_schema(model: type[SQLModel]) -> type[BaseModel]:
    """A read schema with every column of `model` (what a handler would return)."""
    annotations = {name: info.annotation for name, info in model.model_fields.items()}
    return type(
        f"{model.__name__}Read",
        (BaseModel,),
        {
            "__annotations__": annotations,
            "__module__": __name__,
            "model_config": ConfigDict(from_attributes=True),
        },
    )


READS = {shape: read_schema(model) for shape, model in MODELS.items()}
