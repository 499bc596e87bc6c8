"""Run the benchmarks: ``python -m benchmarks [NAME ...]`` (all of them by default).

NAME is a module name without the ``bench_`` prefix, e.g. ``grading``.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def available() -> list[str]:
    """The benchmark names, from the ``bench_*.py`` files beside this one."""
    return sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"未知的基准 / unknown benchmarks: {', '.join(unknown)}; "
              f"可用 / available: {', '.join(available())}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"benchmarks.bench_{name}")
        try:
            module.main()
        except Exception as exc:  # noqa: BLE001 - report and go on with the next benchmark
            print(f"{name} failed: {exc!r}", file=sys.stderr)
            failed.append(name)
        print(f"=== {name}: {time.perf_counter() - started:.1f} s ===", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
