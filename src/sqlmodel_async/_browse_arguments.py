"""The checks of a page, cursor page or stream call's arguments, made before any
statement is built: one piece for `Repository` (model instances, _repository_browse.py)
and `Projected` (schemas, projected.py), so both refuse the same calls the same way.

A positional argument that is not a filter, or a filter given for a number option, is a
TypeError naming the keyword (`query.check_filters`, `query.check_option`); a number out
of range is an `InvalidPageError` (HTTP 422).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .pagination import check_page, check_size
from .query import check_filters, check_option


def check_page_call(
    method: str, filters: Sequence[Any], keywords: str, *, page: int, size: int,
    max_size: int,
) -> None:
    """The arguments of `paginate()` (and its JSON form); `keywords` lists the ones it
    takes by keyword only."""
    check_filters(method, filters, keywords)
    check_option(method, "page", page)
    check_option(method, "size", size)
    check_page(page, size, max_size)


def check_cursor_call(
    method: str, filters: Sequence[Any], keywords: str, *, limit: int, max_size: int
) -> None:
    """The arguments of `paginate_cursor()` (and its JSON form)."""
    check_filters(method, filters, keywords)
    check_option(method, "limit", limit)
    check_size("limit", limit, max_size)


def check_stream_call(
    method: str, filters: Sequence[Any], keywords: str, *, batch_size: int
) -> None:
    """The arguments of `stream()` and `stream_rows()` (the batch size's range is the
    stream's own check, when it starts)."""
    check_filters(method, filters, keywords)
    check_option(method, "batch_size", batch_size)
