"""aiclass benchmarks: each ``bench_*.py`` module measures one issue's targets.

Every benchmark prints its figures and their ratio against a baseline run in the
same process (plain nbgrader, stock JupyterHub, ...), because machines are noisy.
"""
