"""Tortoise ORM's versions of benchmarks/orm_ops.py's three tables (Tortoise finds its models
by importing a module: this one holds nothing else)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tortoise import fields
from tortoise.models import Model

from ._orm_ops_models import JSON_DEFAULT, TEXT_DEFAULT

TORTOISE_TABLES = {1: "ormops_tortoise1", 2: "ormops_tortoise2", 3: "ormops_tortoise3"}


class TJournal1(Model):
    id = fields.IntField(primary_key=True)
    timestamp = fields.DatetimeField(auto_now_add=True)
    level = fields.SmallIntField(db_index=True)
    text = fields.CharField(max_length=255, db_index=True)

    class Meta:
        table = TORTOISE_TABLES[1]


class TJournal2(Model):
    id = fields.IntField(primary_key=True)
    timestamp = fields.DatetimeField(auto_now_add=True)
    level = fields.SmallIntField(db_index=True)
    text = fields.CharField(max_length=255, db_index=True)
    parent: Any = fields.ForeignKeyField("models.TJournal2", related_name="children", null=True)

    class Meta:
        table = TORTOISE_TABLES[2]


def _wide() -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for n in (1, 2, 3, 4):
        if n % 2:
            columns.update({
                f"col_float{n}": fields.FloatField(default=2.2),
                f"col_smallint{n}": fields.SmallIntField(default=2),
                f"col_int{n}": fields.IntField(default=2_000_000),
                f"col_bigint{n}": fields.BigIntField(default=99_999_999),
                f"col_char{n}": fields.CharField(max_length=255, default="value1"),
                f"col_text{n}": fields.TextField(default=TEXT_DEFAULT),
                f"col_decimal{n}": fields.DecimalField(12, 8, default=Decimal("2.2")),
                f"col_json{n}": fields.JSONField(default=dict(JSON_DEFAULT)),
            })
        else:
            columns.update({
                f"col_float{n}": fields.FloatField(null=True),
                f"col_smallint{n}": fields.SmallIntField(null=True),
                f"col_int{n}": fields.IntField(null=True),
                f"col_bigint{n}": fields.BigIntField(null=True),
                f"col_char{n}": fields.CharField(max_length=255, null=True),
                f"col_text{n}": fields.TextField(null=True),
                f"col_decimal{n}": fields.DecimalField(12, 8, null=True),
                f"col_json{n}": fields.JSONField(null=True),
            })
    return columns


class _Meta3:
    table = TORTOISE_TABLES[3]


_metaclass: Any = type(Model)
TJournal3: Any = _metaclass(
    "TJournal3",
    (Model,),
    {
        "__module__": __name__,
        "id": fields.IntField(primary_key=True),
        "timestamp": fields.DatetimeField(auto_now_add=True),
        "level": fields.SmallIntField(db_index=True),
        "text": fields.CharField(max_length=255, db_index=True),
        **_wide(),
        "Meta": _Meta3,
    },
)

TORTOISE_MODELS: dict[int, Any] = {1: TJournal1, 2: TJournal2, 3: TJournal3}
