"""Bias lab: shrink one group's share of the training data and watch the model fail that group."""

import ipywidgets as w
import numpy as np
import traitlets

from ..base import Explainer, grid_coords
from ..datasets import DOMAIN
from ..i18n import t
from ..traits import BoundedFloat, BoundedInt
from ..views import CROSS, FILLED, PALETTE, SceneView
from .knn import knn_predict

TRAIN_SIZE, TEST_SIZE = 200, 300


def true_label(x: np.ndarray) -> np.ndarray:
    """The rule behind the data, the same for both groups: above a bent line is class 1.

    The line is flat where group A lives and steep where group B lives, so a model that saw
    mostly group A guesses "flat" for group B too.
    """
    return (x[:, 1] > np.where(x[:, 0] < 0, 0.3 * x[:, 0], -1.6 * x[:, 0])).astype(int)


def sample_group(group: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """Group 0 (甲) lives on the left half of the plane, group 1 (乙) on the right half."""
    x1 = rng.uniform(-6, 0, n) if group == 0 else rng.uniform(0, 6, n)
    return np.column_stack([x1, rng.uniform(-6, 6, n)]).astype(np.float32)


class BiasLab(Explainer):
    explainer_id = "bias_lab"
    title_zh, title_en = "偏见实验室：谁的数据更少？", "Bias lab: whose data is missing?"
    grade_band = "junior"
    prompt_zh = "如果训练数据里乙组只占 5%，模型对乙组的准确率会比甲组低多少？"
    prompt_en = ("If group B is only 5% of the training data, how much less accurate will the "
                 "model be for group B than for group A?")
    task_zh = ("找到让两组准确率差距小于 5 个百分点的最小乙组比例，"
               "并说说这对真实的人工智能产品意味着什么。")
    task_en = ("Find the smallest share of group B that brings the accuracy gap under 5 points, "
               "and say what this means for real AI products.")

    group_b_share = BoundedFloat(0.05, min=0.0, max=0.5).tag(option=True)
    k = BoundedInt(5, min=1, max=15).tag(option=True)
    accuracy_a = traitlets.Float(0.0)
    accuracy_b = traitlets.Float(0.0)
    gap = traitlets.Float(0.0)
    tpr_gap = traitlets.Float(0.0)

    def build(self) -> None:
        self.control("group_b_share", w.FloatSlider(
            min=0, max=0.5, step=0.01, readout_format=".0%",
            description=t("乙组占比", "Group B share"), style={"description_width": "initial"}))
        self.control("k", w.IntSlider(min=1, max=15, description=t("模型的 k", "Model k")))
        self.scene = SceneView(width=360, height=360, xlim=list(DOMAIN), ylim=list(DOMAIN),
                               title=t("● 甲组　× 乙组（训练数据）",
                                       "● group A  × group B (training)"))
        self.bars = SceneView(width=260, height=240, xlim=[0, 3], ylim=[0, 1],
                              title=t("准确率：甲组 / 乙组 / 差距", "Accuracy: A / B / gap"))
        self.views = [self.scene, self.bars]
        rng = np.random.default_rng(self.seed + 100)
        self.tests = [sample_group(group, TEST_SIZE, rng) for group in (0, 1)]
        self.grid = grid_coords(DOMAIN, DOMAIN, 100)
        self.observe(lambda _: self.refresh(), ["group_b_share", "k", "seed"])

    def training_set(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Points, labels and group of the training data for the current share (seeded)."""
        rng = np.random.default_rng(self.seed)
        pools = [sample_group(group, TRAIN_SIZE, rng) for group in (0, 1)]
        n_b = int(round(TRAIN_SIZE * self.group_b_share))
        x = np.concatenate([pools[0][: TRAIN_SIZE - n_b], pools[1][:n_b]])
        group = np.concatenate([np.zeros(TRAIN_SIZE - n_b, int), np.ones(n_b, int)])
        return x, true_label(x), group

    def refresh(self) -> None:
        x, y, group = self.training_set()
        size = 100
        # One query for both test groups and the boundary grid: one k-d tree, one call.
        guesses = knn_predict(x, y, np.vstack([*self.tests, self.grid]), self.k, 2)
        scores, hits = [], []
        for index, test in enumerate(self.tests):
            truth = true_label(test)
            guess = guesses[index * TEST_SIZE:(index + 1) * TEST_SIZE]
            scores.append(float((guess == truth).mean()))
            hits.append(float((guess[truth == 1] == 1).mean()))
        self.accuracy_a, self.accuracy_b = scores
        self.gap = abs(scores[0] - scores[1])
        self.tpr_gap = abs(hits[0] - hits[1])
        regions = guesses[2 * TEST_SIZE:]
        self.scene.update(
            heat=regions.reshape(size, size).astype(np.uint8),
            points=[[float(a), float(b), int(c), CROSS if g else FILLED]
                    for (a, b), c, g in zip(x, y, group, strict=True)],
            lines=[{"x": [0, 0], "y": list(DOMAIN), "color": "#555", "dash": True}])
        self.bars.update(
            rects=[[0.15, 0, 0.85, self.accuracy_a, PALETTE[2], 0.9],
                   [1.15, 0, 1.85, self.accuracy_b, PALETTE[4], 0.9],
                   [2.15, 0, 2.85, self.gap, PALETTE[3], 0.9]],
            labels=[[0.3, min(self.accuracy_a, 0.93) + 0.04, f"{self.accuracy_a:.0%}", "#000"],
                    [1.3, min(self.accuracy_b, 0.93) + 0.04, f"{self.accuracy_b:.0%}", "#000"],
                    [2.3, min(self.gap, 0.93) + 0.04, f"{self.gap:.0%}", "#000"]])
        self.status.value = t(
            "乙组占训练数据的 {s:.0%}：甲组准确率 <b>{a:.0%}</b>，乙组 <b>{b:.0%}</b>，"
            "差距 <b>{g:.0%}</b>（真阳性率差距 {h:.0%}）",
            "Group B is {s:.0%} of the training data: accuracy A <b>{a:.0%}</b>, "
            "B <b>{b:.0%}</b>, gap <b>{g:.0%}</b> (true-positive-rate gap {h:.0%})",
            s=self.group_b_share, a=self.accuracy_a, b=self.accuracy_b, g=self.gap,
            h=self.tpr_gap)
