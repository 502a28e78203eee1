"""422 answers that can always be encoded, and stay small.

FastAPI echoes the offending input in a validation error. Left as it is, that echo can:

- fail to encode: Python's JSON parser accepts `NaN` and `Infinity`, which the JSON
  encoder then refuses, and lone surrogates (`"\\ud800"`), which UTF-8 cannot carry; either
  turned a 422 into a 500;
- be as large as the request: a 40 MiB body came back as a 40 MiB 422, and encoding the echo
  of millions of values held the event loop for seconds.

So each error's `input` is cut to a short summary before anything encodes it, strings lose
their unencodable characters (U+FFFD instead), and at most `MAX_ERRORS` errors are listed.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

#: Errors one 422 lists (a bulk body of 10,000 bad rows would list 20,000).
MAX_ERRORS = 100
#: Characters of an echoed string, and items of an echoed list or object, kept.
MAX_ECHO = 100


def _clean_text(value: str) -> str:
    """`value` encodable as UTF-8: lone surrogates become U+FFFD."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


def _short(value: Any, depth: int = 0) -> Any:
    """`value` cut to at most MAX_ECHO characters / items per level, 3 levels deep, with
    every float finite and every string encodable."""
    if isinstance(value, str):
        text = _clean_text(value[:MAX_ECHO])
        return text + "..." if len(value) > MAX_ECHO else text
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return _short(value.decode("utf-8", "replace"), depth)
    if isinstance(value, dict):
        if depth >= 3:
            return "{...}"
        items = itertools.islice(value.items(), MAX_ECHO)
        return {_short(str(key)): _short(item, depth + 1) for key, item in items}
    if isinstance(value, list | tuple):
        if depth >= 3:
            return "[...]"
        return [_short(item, depth + 1) for item in value[:MAX_ECHO]]
    if value is None or isinstance(value, bool | int | float):
        return value
    return _short(str(value), depth)


def _error(error: dict[str, Any]) -> dict[str, Any]:
    if "input" in error:
        error["input"] = _short(error["input"])
    return error


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [_error(dict(item)) for item in error.errors()[:MAX_ERRORS]]
    detail = _short_all(jsonable_encoder(errors))
    return JSONResponse({"detail": detail}, status_code=422)


def _short_all(value: Any) -> Any:
    """Strings anywhere in the encoded errors (`msg`, `loc`) made encodable too."""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        return {_clean_text(str(key)): _short_all(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_short_all(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def add_validation_handler(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
