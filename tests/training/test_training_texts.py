"""Do the training pages' texts exist in both languages for every key the templates read?
(Jinja2 renders a missing key as an empty string, so a page would show a blank.)"""

from __future__ import annotations

import re

from hub.service.pages.base import TEMPLATES_DIR
from hub.service.pages.training_texts import TRAINING_TEXTS
from hub.training.models import Track


def test_every_key_the_templates_read_is_in_both_languages() -> None:
    assert set(TRAINING_TEXTS["zh_CN"]) == set(TRAINING_TEXTS["en"])
    assert all(v.strip() for texts in TRAINING_TEXTS.values() for v in texts.values())
    used = {key for path in TEMPLATES_DIR.glob("training_*.html")
            for key in re.findall(r"\btt\.([a-z_]+)", path.read_text(encoding="utf-8"))}
    assert len(used) > 20
    assert used | {str(track) for track in Track} <= set(TRAINING_TEXTS["zh_CN"])
