"""Subcommands of the ``aiclass`` command line, one module each.

Every module here exposes ``register(subparsers)``, which adds its parser and sets
``func`` on it; :mod:`hub.cli` lists them in :data:`hub.cli.COMMANDS`.
"""
