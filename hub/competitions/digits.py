"""The sample competition: handwritten digits (the data of scikit-learn's ``load_digits``).

Nothing downloads: the 1,797 8×8 images ship beside this module (``digits.csv.gz``, scikit-
learn's own copy of the UCI "Optical Recognition of Handwritten Digits" test set, CC BY 4.0),
read with the standard library: the hub's image has neither NumPy nor scikit-learn, and
creating a competition must not need them. Each competition draws
its own split from a fresh seed: a training set with labels, and a hidden test set whose
features are released and whose labels go into the answer key only; a third of the test
rows, also drawn, make the public part. Every test image gets a little seeded noise (±1
on a few pixels), so the released features do not match rows of the bundled dataset
byte for byte: a student cannot look their labels up in ``load_digits`` by equality.
(A nearest-neighbour search over the bundled set still comes close: with a public
dataset, that is a good model, not a leak of ours.)
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import secrets
from dataclasses import dataclass
from pathlib import Path

from grading.competition.scoring import AnswerKey

TRAIN_ROWS = 1000
PUBLIC_SHARE = 1 / 3
STARTER = "starter.ipynb"
FEATURES = [f"p{index}" for index in range(64)]
DIGITS = Path(__file__).with_name("digits.csv.gz")
"""One image per line: its 64 pixels (0–16), then its label."""
NOISY_PIXELS = 0.15
"""The share of a test image's pixels that may move by one."""


@dataclass(frozen=True)
class SampleTask:
    """What a new competition needs: the released files and the hidden answer key."""

    files: dict[str, bytes]
    key: AnswerKey


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def bundled_digits() -> tuple[list[list[int]], list[int]]:
    """The shipped images (64 pixels each) and their labels, in the file's order."""
    with gzip.open(DIGITS, "rt", encoding="ascii") as lines:
        rows = [[int(value) for value in line.split(",")] for line in lines if line.strip()]
    return [row[:64] for row in rows], [row[64] for row in rows]


def digits_task(seed: int | None = None) -> SampleTask:
    """A fresh split of the digits (``seed`` for a repeatable one, in tests)."""
    rng = random.Random(secrets.randbits(64) if seed is None else seed)
    images, labels = bundled_digits()
    order = list(range(len(labels)))
    rng.shuffle(order)
    train, test = order[:TRAIN_ROWS], order[TRAIN_ROWS:]
    test_images = [[min(16, max(0, pixel + (rng.choice((-1, 0, 1))
                                            if rng.random() < NOISY_PIXELS else 0)))
                    for pixel in images[i]] for i in test]
    ids = [f"t{index:04d}" for index in range(len(test))]
    public = [rng.random() < PUBLIC_SHARE for _ in test]
    files = {
        "train.csv": _csv(["label", *FEATURES], [[labels[i], *images[i]] for i in train]),
        "test.csv": _csv(["id", *FEATURES],
                         [[row_id, *row] for row_id, row in zip(ids, test_images, strict=True)]),
        STARTER: starter_notebook(),
    }
    key = AnswerKey(tuple(ids), tuple(str(labels[i]) for i in test), tuple(public))
    return SampleTask(files, key)


def starter_notebook() -> bytes:
    """The notebook a participant starts from, in Chinese: read, train, predict, write."""
    cells = [
        ("markdown", "# 手写数字识别挑战赛 / Handwritten digits\n\n"
                     "每张图片是 8×8 的灰度手写数字（0–9），每个像素是 0–16 的整数"
                     "（`p0` … `p63`）。\n\n"
                     "- `train.csv`：训练集，第一列 `label` 是正确答案；\n"
                     "- `test.csv`：测试集，只有 `id` 和像素，**没有答案**；\n"
                     "- 你要写出 `predictions.csv`：两列 `id,label`，每个测试样本一行。\n\n"
                     "提交这个笔记本后，它会在沙箱里重新运行；排行榜用隐藏的答案评分。"
                     "公开榜只用一部分测试样本，截止后公布的最终榜用另一部分。"),
        ("code", "import csv\n\n"
                 "def read(path):\n"
                 "    with open(path, encoding='utf-8') as f:\n"
                 "        rows = list(csv.reader(f))\n"
                 "    return rows[0], rows[1:]\n\n"
                 "_, train = read('train.csv')\n"
                 "_, test = read('test.csv')\n"
                 "X_train = [[int(v) for v in row[1:]] for row in train]\n"
                 "y_train = [row[0] for row in train]\n"
                 "test_ids = [row[0] for row in test]\n"
                 "X_test = [[int(v) for v in row[1:]] for row in test]\n"
                 "print('训练样本', len(X_train), '测试样本', len(X_test))"),
        ("markdown", "## 训练模型\n\n先试试最近邻分类器（k-NN）。你可以换成别的模型，"
                     "或者调整参数，看看公开榜上的分数能否提高。"),
        ("code", "from sklearn.neighbors import KNeighborsClassifier\n\n"
                 "model = KNeighborsClassifier(n_neighbors=3)\n"
                 "model.fit(X_train, y_train)\n"
                 "predicted = model.predict(X_test)"),
        ("markdown", "## 写出预测结果"),
        ("code", "with open('predictions.csv', 'w', encoding='utf-8', newline='') as f:\n"
                 "    writer = csv.writer(f)\n"
                 "    writer.writerow(['id', 'label'])\n"
                 "    for row_id, label in zip(test_ids, predicted):\n"
                 "        writer.writerow([row_id, label])\n"
                 "print('已写出 predictions.csv')"),
    ]
    notebook = {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"},
                     "language_info": {"name": "python"}},
        "cells": [
            {"cell_type": kind, "id": f"cell-{index}", "metadata": {}, "source": source,
             **({"outputs": [], "execution_count": None} if kind == "code" else {})}
            for index, (kind, source) in enumerate(cells)],
    }
    return json.dumps(notebook, ensure_ascii=False, indent=1).encode("utf-8")


SAMPLES = {"digits": digits_task}
"""The shipped tasks a competition can be made from, by name."""
