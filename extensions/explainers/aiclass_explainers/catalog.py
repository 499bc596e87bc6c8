"""The list of explainers a notebook, a teacher page or a test can pick from."""

from dataclasses import dataclass
from typing import Any

from .base import Explainer
from .explainers import ALL
from .i18n import t


@dataclass(frozen=True)
class CatalogEntry:
    """One explainer as the catalogue shows it; :meth:`create` builds a fresh instance."""

    id: str
    title_zh: str
    title_en: str
    grade_band: str
    module_zh: str
    module_en: str
    animated: bool
    options: tuple[str, ...]
    factory: type[Explainer]

    @property
    def title(self) -> str:
        return t(self.title_zh, self.title_en)

    def create(self, **options: Any) -> Explainer:
        return self.factory(**options)


def catalog() -> list[CatalogEntry]:
    """Every explainer, in teaching order."""
    return [
        CatalogEntry(
            id=cls.explainer_id, title_zh=cls.title_zh, title_en=cls.title_en,
            grade_band=cls.grade_band, module_zh=cls.module_zh, module_en=cls.module_en,
            animated=cls.animated, options=tuple(cls.option_names()), factory=cls,
        )
        for cls in ALL
    ]


def create(explainer_id: str, **options: Any) -> Explainer:
    """Build explainer ``explainer_id`` with ``options`` without displaying it."""
    for entry in catalog():
        if entry.id == explainer_id:
            return entry.create(**options)
    raise KeyError(
        t("没有叫 {id!r} 的解释器；可选：{ids}。",
          "No explainer called {id!r}; choose one of: {ids}.",
          id=explainer_id, ids=", ".join(entry.id for entry in catalog()))
    )


def show(explainer_id: str, **options: Any) -> Explainer:
    """Build explainer ``explainer_id``, display it in the notebook and return it."""
    from IPython.display import display

    explainer = create(explainer_id, **options)
    display(explainer.widget)
    return explainer
