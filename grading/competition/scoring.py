"""Score one predictions file against a competition's hidden answer key.

The answer key splits the hidden rows into a public part (the live leaderboard) and a
private part (the final ranking, shown after the deadline), as on Kaggle: a participant
who tunes against the public board cannot see the rows that decide the result. Which row
is in which part is itself hidden. A file that does not answer every row exactly once is
refused with the row that is wrong, Chinese first, so nothing half-scored is ever recorded.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

MAX_PREDICTION_BYTES = 2 * 1024 * 1024
"""A predictions file is one short line per hidden row: a few kilobytes for thousands."""
HEADER = ("id", "label")


class PredictionsRefused(ValueError):
    """The predictions file cannot be scored; ``message`` and ``message_en`` say where."""

    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message = message
        self.message_en = message_en


@dataclass(frozen=True)
class AnswerKey:
    """The hidden rows: their ids, true labels and whether each is in the public part."""

    ids: tuple[str, ...]
    labels: tuple[str, ...]
    public: tuple[bool, ...]

    @classmethod
    def from_json(cls, data: dict) -> AnswerKey:
        return cls(tuple(data["ids"]), tuple(str(label) for label in data["labels"]),
                   tuple(bool(flag) for flag in data["public"]))

    def to_json(self) -> dict:
        return {"ids": list(self.ids), "labels": list(self.labels), "public": list(self.public)}


@dataclass(frozen=True)
class Score:
    """Accuracy on each part, in [0, 1]."""

    public: float
    private: float


def read_predictions(data: bytes, key: AnswerKey) -> dict[str, str]:
    """The predicted label of every hidden row, or :class:`PredictionsRefused`."""
    if len(data) > MAX_PREDICTION_BYTES:
        raise PredictionsRefused(
            f"预测文件超过 {MAX_PREDICTION_BYTES // 1024} KB",
            f"the predictions file is larger than {MAX_PREDICTION_BYTES // 1024} KB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PredictionsRefused("预测文件必须是 UTF-8 编码的 CSV",
                                 "the predictions file must be a UTF-8 CSV") from error
    rows = csv.reader(io.StringIO(text))
    header = tuple(cell.strip() for cell in next(rows, ()))
    if header != HEADER:
        raise PredictionsRefused("第 1 行：表头必须是 id,label",
                                 "row 1: the header must be id,label")
    known = set(key.ids)
    predicted: dict[str, str] = {}
    for number, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(row) != 2:
            raise PredictionsRefused(f"第 {number} 行：需要两列（id,label）",
                                     f"row {number}: two columns are needed (id,label)")
        row_id, label = row[0].strip(), row[1].strip()
        if row_id not in known:
            raise PredictionsRefused(f"第 {number} 行：没有编号为 {row_id[:20]!r} 的测试样本",
                                     f"row {number}: no test row has the id {row_id[:20]!r}")
        if row_id in predicted:
            raise PredictionsRefused(f"第 {number} 行：编号 {row_id!r} 重复",
                                     f"row {number}: the id {row_id!r} appears twice")
        predicted[row_id] = label
    missing = len(known) - len(predicted)
    if missing:
        first = next(row_id for row_id in key.ids if row_id not in predicted)
        raise PredictionsRefused(f"缺少 {missing} 个测试样本的预测（例如 {first}）",
                                 f"{missing} test rows have no prediction (e.g. {first})")
    return predicted


def score(data: bytes, key: AnswerKey) -> Score:
    """Accuracy of the predictions in ``data`` on the public and the private part."""
    predicted = read_predictions(data, key)
    right = {True: 0, False: 0}
    total = {True: 0, False: 0}
    for row_id, label, public in zip(key.ids, key.labels, key.public, strict=True):
        total[public] += 1
        right[public] += predicted[row_id] == label
    return Score(public=right[True] / max(total[True], 1),
                 private=right[False] / max(total[False], 1))
