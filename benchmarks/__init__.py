"""aiclass benchmarks: each ``bench_*.py`` module measures one issue's targets.

Every benchmark prints its figures and their ratio against a baseline run in the
same process (plain nbgrader, stock JupyterHub, ...), because machines are noisy.
Each module has ``main(argv)``, parsing its options with :func:`argument_parser`;
``python -m benchmarks NAME [OPTIONS]`` (:mod:`benchmarks.__main__`) is the one way to run them.
"""

from __future__ import annotations

import argparse


def argument_parser(module: str, doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's own parser, named as the runner calls it: ``python -m benchmarks NAME``.

    ``module`` is the benchmark's ``__name__``; the description is its docstring's first line.
    """
    name = module.rpartition(".")[2].removeprefix("bench_")
    return argparse.ArgumentParser(prog=f"python -m benchmarks {name}",
                                   description=(doc or "").strip().splitlines()[0])
