"""Interactive AI explainers for the aiclass classroom: play first, then code.

>>> import aiclass_explainers as ax
>>> knn = ax.show("knn", k=3)     # displays it; knn.k is what the student chose
"""

from .catalog import CatalogEntry, catalog, create, show
from .i18n import get_language, set_language

__all__ = ["CatalogEntry", "catalog", "create", "get_language", "set_language", "show"]
