"""Trait types whose validation errors speak the student's language.

traitlets' own messages are English-only and name Python classes; a student who types
``knn.k = 0`` in a graded notebook should instead read which option was wrong and what it
accepts, in Chinese by default.
"""

from typing import Any

import traitlets
from traitlets import TraitError

from .i18n import t


class BoundedInt(traitlets.Int):
    """An ``Int`` that rejects out-of-range values with a translated message."""

    def validate(self, obj: Any, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TraitError(
                t("选项 {name} 需要一个整数，收到的是 {value!r}。",
                  "Option {name} needs a whole number; got {value!r}.",
                  name=self.name, value=value)
            )
        return _check_range(self, value)


class BoundedFloat(traitlets.Float):
    """A ``Float`` that rejects out-of-range values with a translated message."""

    def validate(self, obj: Any, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TraitError(
                t("选项 {name} 需要一个数，收到的是 {value!r}。",
                  "Option {name} needs a number; got {value!r}.",
                  name=self.name, value=value)
            )
        return _check_range(self, float(value))


class Choice(traitlets.Enum):
    """An ``Enum`` whose error lists the allowed choices in the student's language."""

    def validate(self, obj: Any, value: Any) -> Any:
        if value in self.values:
            return value
        raise TraitError(
            t("选项 {name} 只能是 {choices} 之一，收到的是 {value!r}。",
              "Option {name} must be one of {choices}; got {value!r}.",
              name=self.name, choices="、".join(map(str, self.values)), value=value)
        )


def _check_range(trait: traitlets.Int | traitlets.Float, value: Any) -> Any:
    low, high = trait.min, trait.max
    if (low is not None and value < low) or (high is not None and value > high):
        raise TraitError(
            t("选项 {name} 必须在 {low} 到 {high} 之间，收到的是 {value}。",
              "Option {name} must be between {low} and {high}; got {value}.",
              name=trait.name, low=low, high=high, value=value)
        )
    return value
