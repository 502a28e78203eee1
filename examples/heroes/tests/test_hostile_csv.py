"""CSV formula injection: text a spreadsheet would run as a formula is exported with a
leading `'`; NDJSON carries the exact values."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sqlmodel_async.streaming import encode_csv

FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]
PLAIN = ["Deadpond", "a=b", "Rusty-Man", "'quoted"]


async def test_export_csv_neutralises_formulas(
    client: httpx.AsyncClient, make_hero: Any
) -> None:
    for index, name in enumerate(FORMULAS + PLAIN):
        await make_hero(name, secret_name=f"={index}", age=-index)
    response = await client.get("/heroes/export", params={"format": "csv"})
    records = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert [record["name"] for record in records] == (
        ["'" + name for name in FORMULAS] + PLAIN
    )
    assert all(record["secret_name"].startswith("'=") for record in records)
    assert [record["age"] for record in records] == [str(-i) for i in range(len(records))]
    lines = (await client.get("/heroes/export")).text.splitlines()
    assert [json.loads(line)["name"] for line in lines[:-1]] == FORMULAS + PLAIN


async def _rows(*rows: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    for row in rows:
        yield row


@pytest.mark.parametrize("neutralise", [True, False])
async def test_encode_csv_option(neutralise: bool) -> None:
    rows = _rows({"a": "=1+1", "b": -3, "c": "-x"})
    chunks = [c async for c in encode_csv(rows, neutralise_formulas=neutralise)]
    record = list(csv.reader(io.StringIO(b"".join(chunks).decode(), newline="")))[1]
    assert record == (["'=1+1", "-3", "'-x"] if neutralise else ["=1+1", "-3", "-x"])
