"""Scoring predictions against a hidden answer key, and the sample task's split.

No hub: :mod:`grading.competition.scoring` takes bytes and a key, and the sample's split
is a function of a seed, so these questions are answered directly.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from sklearn.datasets import load_digits

from grading.competition.scoring import AnswerKey, PredictionsRefused, score
from hub.competitions.digits import bundled_digits, digits_task
from hub.service.pages.base import TEMPLATES_DIR
from hub.service.pages.competition_texts import COMPETITION_TEXTS
from hub.service.pages.texts import LOCALES, TEXTS

KEY = AnswerKey(ids=("a", "b", "c", "d"), labels=("1", "2", "3", "4"),
                public=(True, True, False, False))


def predictions(rows: list[tuple[str, str]], header: str = "id,label") -> bytes:
    return (header + "\n" + "".join(f"{i},{label}\n" for i, label in rows)).encode()


def test_accuracy_is_counted_on_each_part_apart() -> None:
    """Do the public and private parts count only their own rows?"""
    result = score(predictions([("a", "1"), ("b", "9"), ("c", "3"), ("d", "4")]), KEY)
    assert (result.public, result.private) == (0.5, 1.0)
    shuffled = score(predictions([("d", "0"), ("c", "0"), ("b", "2"), ("a", "1")]), KEY)
    assert (shuffled.public, shuffled.private) == (1.0, 0.0)


@pytest.mark.parametrize(("data", "where"), [
    (predictions([("a", "1")], header="id,prediction"), "第 1 行"),
    (predictions([("a", "1"), ("zz", "2")]), "第 3 行"),
    (predictions([("a", "1"), ("a", "2")]), "第 3 行"),
    (b"id,label\na,1,extra\n", "第 2 行"),
    (predictions([("a", "1"), ("b", "2"), ("c", "3")]), "缺少 1 个"),
    ("id,label\na,1\n".encode("utf-16"), "UTF-8"),
])
def test_a_file_that_cannot_be_scored_says_where(data: bytes, where: str) -> None:
    """Is a bad file refused whole, naming the row, Chinese first then English?"""
    with pytest.raises(PredictionsRefused) as refused:
        score(data, KEY)
    assert where in refused.value.message
    assert refused.value.message_en.isascii() or "row" in refused.value.message_en


def test_the_released_files_hold_no_hidden_label() -> None:
    """Does the digits task keep its test labels out of every released file, and give each
    competition a split of its own?"""
    task = digits_task(seed=7)
    test_rows = list(csv.DictReader(io.StringIO(task.files["test.csv"].decode())))
    assert [row["id"] for row in test_rows] == list(task.key.ids)
    assert "label" not in test_rows[0]
    train_header = task.files["train.csv"].decode().splitlines()[0]
    assert train_header.startswith("label,")
    labels_text = ",".join(task.key.labels)
    for name, data in task.files.items():
        assert labels_text.encode() not in data, name
    assert 0.2 < sum(task.key.public) / len(task.key.public) < 0.45
    other = digits_task(seed=8)
    assert other.key.labels != task.key.labels
    assert "predictions.csv" in task.files["starter.ipynb"].decode()


def test_the_shipped_digits_are_scikit_learns() -> None:
    """Is the file beside the module the digits data scikit-learn bundles, image by image?"""
    images, labels = bundled_digits()
    reference = load_digits()
    assert images == reference.data.astype(int).tolist()
    assert labels == reference.target.astype(int).tolist()


def test_the_test_images_are_not_the_bundled_rows() -> None:
    """Can a test image be looked up in scikit-learn's own copy by equality? (It must not.)"""
    bundled = {tuple(int(v) for v in row) for row in load_digits().data}
    task = digits_task(seed=11)
    rows = list(csv.reader(io.StringIO(task.files["test.csv"].decode())))[1:]
    exact = sum(tuple(int(v) for v in row[1:]) in bundled for row in rows)
    assert exact < len(rows) * 0.2


def test_the_pages_have_every_text_in_both_languages() -> None:
    """Does each locale of the competition pages carry the same keys, none blank, and every
    key the templates read? (Jinja2 renders a missing key as a blank.)"""
    assert set(COMPETITION_TEXTS) == set(LOCALES)
    keys = [set(texts) for texts in COMPETITION_TEXTS.values()]
    assert all(k == keys[0] for k in keys)
    assert all(text.strip() for texts in COMPETITION_TEXTS.values() for text in texts.values())
    used, common = set(), set()
    for path in TEMPLATES_DIR.glob("competition*.html"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bct\.([a-z_]+)", text))
        common |= set(re.findall(r"(?<![a-z])t\.([a-z_]+)", text))
    assert len(used) > 20 and used <= keys[0]
    assert common <= set(TEXTS["zh_CN"]) and common <= set(TEXTS["en"])
