"""Hand-written rules versus a learned classifier on the same digits."""

from functools import cache

import ipywidgets as w
import numpy as np
import traitlets
from sklearn.linear_model import LogisticRegression

from ..base import Explainer
from ..datasets import digits
from ..i18n import t
from ..traits import BoundedFloat, Choice
from ..views import PALETTE, GridView, SceneView

PAIRS = {"0-1": (0, 1), "1-7": (1, 7), "3-8": (3, 8)}


def feature_values(images: np.ndarray, feature: str) -> np.ndarray:
    """The one number a hand-written rule looks at, for each 8x8 image."""
    if feature == "ink":
        return images.sum(axis=(1, 2))
    if feature == "centre":
        return images[:, :, 3:5].sum(axis=(1, 2))
    if feature == "width":
        return (images.sum(axis=1) > 4).sum(axis=1).astype(np.float32)
    return images[:, :4, :].sum(axis=(1, 2))


@cache
def split_pair(pair: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train/test split (fixed) of the two digits, labels 0 for the first and 1 for the second."""
    images, labels = digits()
    first, second = PAIRS[pair]
    keep = (labels == first) | (labels == second)
    x, y = images[keep], (labels[keep] == second).astype(int)
    order = np.random.default_rng(7).permutation(len(y))
    cut = len(y) * 2 // 3
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


@cache
def learned(pair: str) -> tuple[float, np.ndarray]:
    """Test accuracy and 8x8 weights of logistic regression trained on all 64 pixels."""
    x_train, y_train, x_test, y_test = split_pair(pair)
    model = LogisticRegression(max_iter=2000).fit(x_train.reshape(len(x_train), -1), y_train)
    accuracy = model.score(x_test.reshape(len(x_test), -1), y_test)
    return float(accuracy), model.coef_.reshape(8, 8)


class RulesVsLearning(Explainer):
    explainer_id = "rules_vs_learning"
    title_zh, title_en = "人写规则 vs 机器学习", "Hand-written rules vs learning"
    grade_band = "junior"
    prompt_zh = "你用一条“如果……就……”规则分辨两个数字，能比机器自己学到的分类器更准吗？"
    prompt_en = ("With one “if … then …” rule, can you tell two digits apart better than a "
                 "classifier that learned from examples?")
    task_zh = "为 3 和 8 找到最好的规则，记下它的准确率，并和机器学习的准确率比较。"
    task_en = ("Find the best rule for 3 vs 8, note its accuracy and compare it with the "
               "learned classifier.")

    pair = Choice(list(PAIRS), default_value="0-1").tag(option=True)
    feature = Choice(["ink", "centre", "width", "top"], default_value="centre").tag(option=True)
    threshold = BoundedFloat(20.0, min=0.0, max=1024.0).tag(option=True)
    flip = traitlets.Bool(False).tag(option=True)
    rule_accuracy = traitlets.Float(0.0)
    learned_accuracy = traitlets.Float(0.0)

    def build(self) -> None:
        names = {"ink": t("总墨水", "total ink"),
                 "centre": t("中间两列的墨水", "ink in the middle"),
                 "width": t("宽度（有墨水的列数）", "width (inked columns)"),
                 "top": t("上半部分的墨水", "ink in the top half")}
        self.feature_names = names
        self.control("pair", w.Dropdown(options=[(f"{a} / {b}", k) for k, (a, b) in PAIRS.items()],
                                        description=t("数字对", "Digits")))
        self.control("feature", w.Dropdown(options=[(v, k) for k, v in names.items()],
                                           description=t("看哪个特征", "Feature")))
        self.control("threshold", w.FloatSlider(min=0, max=1024, step=1,
                                                description=t("阈值", "Threshold")))
        self.control("flip", w.Checkbox(description=t("反过来（大于阈值算第一个数字）",
                                                      "Flip (above threshold = first digit)")))
        self.histogram = SceneView(width=380, height=300, ylabel=t("图片数", "images"))
        self.weights = GridView(colormap="diverging", cell_size=26, decimals=1, show_numbers=False,
                                title=t("机器学到的权重", "Weights the machine learned"))
        self.views = [self.histogram, self.weights]
        self.observe(lambda _: self._fit_slider(), ["pair", "feature"])
        self.observe(lambda _: self.refresh(), ["pair", "feature", "threshold", "flip"])
        self._fit_slider()

    def _fit_slider(self) -> None:
        x_train, *_ = split_pair(self.pair)
        top = float(feature_values(x_train, self.feature).max())
        self.controls["threshold"].max = top
        if self.threshold > top:
            self.threshold = round(top / 2)

    def refresh(self) -> None:
        x_train, y_train, x_test, y_test = split_pair(self.pair)
        first, second = PAIRS[self.pair]
        train_feature = feature_values(x_train, self.feature)
        test_feature = feature_values(x_test, self.feature)
        says_second = (test_feature > self.threshold) != self.flip
        self.rule_accuracy = float((says_second == (y_test == 1)).mean())
        self.learned_accuracy, weights = learned(self.pair)
        top = float(train_feature.max()) or 1.0
        edges = np.linspace(0, top, 21)
        rects, tallest = [], 1
        for label in (0, 1):
            counts, _ = np.histogram(train_feature[y_train == label], bins=edges)
            tallest = max(tallest, int(counts.max()))
            rects += [[float(a), 0.0, float(b), int(c), PALETTE[label], 0.55]
                      for a, b, c in zip(edges[:-1], edges[1:], counts, strict=True) if c]
        self.histogram.update(
            xlim=[0.0, top], ylim=[0.0, tallest * 1.1], rects=rects,
            lines=[{"x": [self.threshold] * 2, "y": [0, tallest * 1.1], "color": "#000"}],
            labels=[[top * 0.02, tallest * 1.02, f"■ {first}", PALETTE[0]],
                    [top * 0.2, tallest * 1.02, f"■ {second}", PALETTE[1]]],
            xlabel=self.feature_names[self.feature],
            title=t("规则：{f} > {v:.0f} 就是 {d}", "Rule: {f} > {v:.0f} means {d}",
                    f=self.feature_names[self.feature], v=self.threshold,
                    d=first if self.flip else second),
        )
        bound = float(np.abs(weights).max())
        self.weights.update(values=weights, vmin=-bound, vmax=bound)
        self.status.value = t(
            "你的规则准确率：<b>{r:.0%}</b>　机器学习的准确率：<b>{m:.0%}</b>"
            "（在没见过的测试图片上）",
            "Your rule: <b>{r:.0%}</b> accurate. Learned classifier: <b>{m:.0%}</b> "
            "(on unseen test images)", r=self.rule_accuracy, m=self.learned_accuracy,
        )
