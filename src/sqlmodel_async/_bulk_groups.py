"""Rows of one chunk grouped so that each group is one statement: the rows that insert
(or set) the same columns, after the in-batch duplicates are reduced to the last one.

The grouping runs column by column (list comprehensions over the rows), never a Python
loop per row in the usual case where every row gives the same columns.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from ._bulk_table import TableShape

#: (positions of the group's rows in the chunk, the columns they write)
Group = tuple[list[int], tuple[str, ...]]


class RowGroups(TableShape):
    """Grouping of a chunk's rows into statements (part of TablePlan)."""

    def insert_groups(
        self,
        rows: list[dict[str, Any]],
        *,
        last_wins: Sequence[str] = (),
        extra: Sequence[Hashable] | None = None,
    ) -> list[Group]:
        """(positions, columns) per group of rows that insert the same columns: rows split
        on which omittable columns they leave None (those are left to the database), and
        on `extra` (an upsert's given fields, which its UPDATE sets).

        With `last_wins`, rows sharing those columns' values are reduced to the last one.
        """
        positions = _last_of_each(rows, last_wins) if last_wins else list(range(len(rows)))
        if extra and extra.count(extra[0]) == len(extra):
            # The same extra for every row (an upsert whose rows all give the same
            # fields) splits nothing: no per-row signatures.
            extra = None
        omittable = self.omittable
        # Column by column (list comprehensions), not row by row: this runs per row.
        nones = [[rows[i][key] is None for i in positions] for key in omittable]
        if not extra and all(all(flags) or not any(flags) for flags in nones):
            # The usual case: every row leaves out (or gives) the same columns.
            left_out = {key for key, flags in zip(omittable, nones, strict=True)
                        if flags and flags[0]}
            return [(positions, self._inserted(left_out))]
        groups = _split(positions, _signatures(positions, nones, extra))
        return [
            (members, self._inserted(
                {key for key, none in zip(omittable, signature, strict=True) if none}
            ))
            for (signature, _), members in groups.items()
        ]

    def _inserted(self, left_out: set[str]) -> tuple[str, ...]:
        """The columns in table order, but those `left_out`."""
        return tuple(key for key in self.keys if key not in left_out)

    def key_groups(
        self, rows: list[dict[str, Any]], *, last_wins: Sequence[str]
    ) -> list[Group]:
        """(positions, columns) per group of update rows that set the same columns."""
        positions = _last_of_each(rows, last_wins)
        order = {key: n for n, key in enumerate(self.keys)}
        names = {frozenset(shape) for shape in set(map(tuple, rows))}
        if len(names) == 1:
            # Every row sets the same columns: one group, no frozenset per row.
            return [(positions, tuple(sorted(names.pop(), key=order.__getitem__)))]
        groups: dict[frozenset[str], list[int]] = {}
        for i in positions:
            groups.setdefault(frozenset(rows[i]), []).append(i)
        return [
            (members, tuple(sorted(names, key=order.__getitem__)))
            for names, members in groups.items()
        ]


#: A row's group: which omittable columns it leaves None, and its `extra` (or None).
_Signature = tuple[tuple[bool, ...], Hashable]


def _signatures(
    positions: list[int], nones: list[list[bool]], extra: Sequence[Hashable] | None
) -> list[_Signature]:
    """Each row's signature, from the per-column None flags (`nones`, one list per
    omittable column) and its `extra`."""
    flags: list[Any] = list(zip(*nones, strict=True)) if nones else [()] * len(positions)
    if extra:
        return list(zip(flags, [extra[i] for i in positions], strict=True))
    return [(signature, None) for signature in flags]


def _split(positions: list[int], signatures: list[_Signature]) -> dict[_Signature, list[int]]:
    """The positions by signature, in the order each signature first appears."""
    if len(set(signatures)) == 1:
        return {signatures[0]: positions}
    groups: dict[_Signature, list[int]] = {}
    for i, signature in zip(positions, signatures, strict=True):
        groups.setdefault(signature, []).append(i)
    return groups


def _last_of_each(rows: list[dict[str, Any]], key: Sequence[str]) -> list[int]:
    """Positions of the rows that survive when later rows replace earlier ones with the
    same values in `key` (rows with a None there never collide)."""
    if len(key) == 1:
        name = key[0]
        # Later rows win; dict(zip(...)) over a column built by a comprehension is
        # faster than a dict comprehension over enumerate.
        single = dict(zip([row.get(name) for row in rows], range(len(rows)), strict=True))
        if None not in single:
            if len(single) == len(rows):  # no duplicates: every position, in order
                return list(range(len(rows)))
            return sorted(single.values())
    latest: dict[Hashable, int] = {}
    for i, row in enumerate(rows):
        value = tuple(row.get(name) for name in key)
        latest[(i,) if None in value else value] = i
    return sorted(latest.values())
