"""Run the benchmarks: ``python -m benchmarks [NAME [OPTIONS ...]]``.

With no arguments every benchmark runs with its default options, one after the
other; a benchmark that fails is reported and the others still run. With a NAME
(a module name without the ``bench_`` prefix, e.g. ``grading``) only that one
runs, and every argument after the name is its own: the runner hands them to the
benchmark's ``main(argv)`` and keeps none for itself. So
``python -m benchmarks grading --submissions 10`` grades ten submissions, and
``python -m benchmarks grading --help`` lists the grading benchmark's options
(``make bench BENCH="grading --submissions 10"`` does the same through make).
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

USAGE = ("用法 / usage: python -m benchmarks [NAME [OPTIONS ...]]\n"
         "  不带参数运行全部基准；NAME 之后的参数都交给该基准 / no arguments: run every "
         "benchmark; the arguments after NAME are that benchmark's own "
         "(python -m benchmarks NAME --help lists them)")


def available() -> list[str]:
    """The benchmark names, from the ``bench_*.py`` files beside this one."""
    return sorted(p.stem.removeprefix("bench_") for p in Path(__file__).parent.glob("bench_*.py"))


def run(name: str, options: Sequence[str]) -> bool:
    """Run one benchmark with its own options; answer whether it succeeded."""
    print(f"\n=== {name} ===", flush=True)
    started = time.perf_counter()
    module = importlib.import_module(f"benchmarks.bench_{name}")
    try:
        status = module.main(list(options))
    except Exception as exc:  # noqa: BLE001 - report and go on with the next benchmark
        print(f"{name} failed: {exc!r}", file=sys.stderr)
        status = 1
    print(f"=== {name}: {time.perf_counter() - started:.1f} s ===", flush=True)
    return not (isinstance(status, int) and status)


def main(argv: Sequence[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(f"{USAGE}\n可用 / available: {', '.join(available())}")
        return 0
    if argv and argv[0] not in available():
        print(f"未知的基准 / unknown benchmark: {argv[0]}; 可用 / available: "
              f"{', '.join(available())}\n{USAGE}", file=sys.stderr)
        return 2
    if argv:
        return 0 if run(argv[0], argv[1:]) else 1
    failed = [name for name in available() if not run(name, [])]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
