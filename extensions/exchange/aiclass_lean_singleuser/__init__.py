"""A student's ``jupyterhub-singleuser`` without the hub's database code held in memory.

JupyterHub's single-user server imports ``jupyterhub.log`` (for ``log_request``) and
``jupyterhub.scopes`` (for ``_intersect_expanded_scopes``); both sit in the hub's own package
and import, at module level, the hub's request handlers, its ORM, SQLAlchemy's ORM and Alembic
with its Mako templates: about 30 MiB of an idle student's 90 MiB container, none of it used by
a server that never opens a database. :func:`install` changes only where those imports lead:

- ``jupyterhub.orm`` and ``jupyterhub.roles`` load lazily (:class:`importlib.util.LazyLoader`):
  ``scopes`` and ``metrics`` name them only inside functions the single-user server calls
  without a database (``_intersect_expanded_scopes(..., db=None)``), so they are never run;
  should anything use them, the first attribute read loads the real module.
- ``jupyterhub.handlers.pages`` is a stand-in holding ``HealthCheckHandler``, the one name
  ``jupyterhub.log`` takes from the hub's handlers, for an ``isinstance`` test that a
  single-user server's handlers never pass (the hub's health check is not among them). The
  stand-in package has no path: importing any other hub handler fails loudly.

Authentication (``jupyterhub.services.auth``), scopes and the server itself run unchanged.
Run as ``python -m aiclass_lean_singleuser [ARGS]``, the same arguments as
``jupyterhub-singleuser``; the hub's spawner does so for students (teachers' servers keep the
plain command). Importing this package changes nothing until :func:`install` is called.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

LAZY_MODULES = frozenset({"jupyterhub.orm", "jupyterhub.roles"})
"""Hub modules the single-user server imports but only calls with a database."""
STAND_IN_PACKAGE = "jupyterhub.handlers"
STAND_IN_PAGES = "jupyterhub.handlers.pages"


class LazyHubModules(importlib.abc.MetaPathFinder):
    """Finds :data:`LAZY_MODULES` where the path finder would, and loads them on first use."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in LAZY_MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def stand_in_handlers() -> tuple[ModuleType, ModuleType]:
    """The handlers package and its ``pages`` module, holding only ``HealthCheckHandler``."""
    from tornado.web import RequestHandler

    class HealthCheckHandler(RequestHandler):
        """Never routed in a single-user server: ``jupyterhub.log`` only tests for it."""

    package = ModuleType(STAND_IN_PACKAGE, "stand-in: the hub's handlers are not loaded")
    package.__path__ = []
    pages = ModuleType(STAND_IN_PAGES, "stand-in: HealthCheckHandler only")
    pages.HealthCheckHandler = HealthCheckHandler  # type: ignore[attr-defined]
    HealthCheckHandler.__module__ = STAND_IN_PAGES
    package.pages = pages  # type: ignore[attr-defined]
    return package, pages


def install() -> None:
    """Arrange the imports described above; before anything imports ``jupyterhub.log``."""
    if any(name in sys.modules for name in (*LAZY_MODULES, STAND_IN_PACKAGE)):
        raise RuntimeError("install() must run before the hub's modules are imported")
    sys.meta_path.insert(0, LazyHubModules())
    package, pages = stand_in_handlers()
    sys.modules[STAND_IN_PACKAGE] = package
    sys.modules[STAND_IN_PAGES] = pages


def main(argv: Sequence[str] | None = None) -> None:
    """``jupyterhub-singleuser`` with :func:`install` done first; exits with its status."""
    install()
    from jupyterhub.singleuser import main as singleuser_main

    sys.argv = ["jupyterhub-singleuser", *(sys.argv[1:] if argv is None else argv)]
    sys.exit(singleuser_main())
