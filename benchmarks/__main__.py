"""`make bench`: run every benchmark module (or the ones named on the command line)."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import sys
from pathlib import Path


def main(names: list[str]) -> None:
    here = Path(__file__).parent
    available = sorted(
        info.name
        for info in pkgutil.iter_modules([str(here)])
        # chart draws the others' results: `make bench` runs it after them
        if not info.name.startswith("_") and info.name != "chart"
    )
    for name in names or available:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"\n=== benchmarks/{name}.py ===", flush=True)
        result = module.main()
        if asyncio.iscoroutine(result):
            asyncio.run(result)


if __name__ == "__main__":
    main(sys.argv[1:])
