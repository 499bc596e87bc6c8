"""Decision tree: the depth slider grows the tree and carves the plane at the same time."""

import html

import ipywidgets as w
import numpy as np
import traitlets
from sklearn.tree import DecisionTreeClassifier

from ..base import Explainer, grid_coords
from ..datasets import DOMAIN, two_d
from ..i18n import t
from ..traits import BoundedFloat, BoundedInt, Choice
from ..views import CROSS, FILLED, PALETTE, SceneView

#: Deeper levels are summarised as "…" so the drawing stays readable.
DRAWN_DEPTH = 4


def tree_svg(model: DecisionTreeClassifier, names: tuple[str, str]) -> str:
    """Draw the top of a fitted tree as an SVG string: questions in boxes, leaves coloured."""
    tree = model.tree_
    slots: dict[int, float] = {}
    depths: dict[int, int] = {}
    leaves = 0

    def place(node: int, depth: int) -> float:
        nonlocal leaves
        depths[node] = depth
        left, right = tree.children_left[node], tree.children_right[node]
        if left == -1 or depth == DRAWN_DEPTH:
            slots[node] = leaves
            leaves += 1
        else:
            slots[node] = (place(left, depth + 1) + place(right, depth + 1)) / 2
        return slots[node]

    place(0, 0)
    width, level = max(leaves * 74, 200), 62
    height = (max(depths.values()) + 1) * level
    parts = []
    for node, slot in slots.items():
        x, y = 37 + slot * 74, 22 + depths[node] * level
        left = tree.children_left[node]
        if left != -1 and depths[node] < DRAWN_DEPTH:
            for child in (left, tree.children_right[node]):
                parts.append(f'<line x1="{x}" y1="{y}" x2="{37 + slots[child] * 74}" '
                             f'y2="{22 + depths[child] * level}" stroke="#999"/>')
    for node, slot in slots.items():
        x, y = 37 + slot * 74, 22 + depths[node] * level
        left = tree.children_left[node]
        if left != -1 and depths[node] < DRAWN_DEPTH:
            text = f"{names[tree.feature[node]]} ≤ {tree.threshold[node]:.1f}"
            parts.append(f'<rect x="{x - 35}" y="{y - 12}" width="70" height="24" rx="4" '
                         f'fill="#fff" stroke="#555"/><text x="{x}" y="{y + 4}" '
                         f'text-anchor="middle" font-size="11">{html.escape(text)}</text>')
        else:
            cls = int(np.argmax(tree.value[node][0]))
            label = "…" if left != -1 else str(int(tree.n_node_samples[node]))
            parts.append(f'<circle cx="{x}" cy="{y}" r="13" fill="{PALETTE[cls]}" '
                         f'opacity="0.8"/><text x="{x}" y="{y + 4}" text-anchor="middle" '
                         f'font-size="10" fill="#fff">{label}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
            + "".join(parts) + "</svg>")


class DecisionTree(Explainer):
    explainer_id = "decision_tree"
    title_zh, title_en = "决策树：一连串的问题", "Decision tree: a chain of questions"
    grade_band = "senior"
    module_zh, module_en = "人工智能初步", "Introduction to AI"
    prompt_zh = "树越深，训练准确率越高。测试准确率也会一直升高吗？"
    prompt_en = ("A deeper tree fits the training data better. Will the test accuracy keep "
                 "rising too?")
    task_zh = "在“月牙”数据上找到测试准确率最高的深度，写下它和对应的准确率。"
    task_en = "On the moons data, find the depth with the best test accuracy; note both numbers."

    max_depth = BoundedInt(2, min=1, max=10).tag(option=True)
    dataset = Choice(["moons", "circle", "xor", "blobs"], default_value="moons").tag(option=True)
    noise = BoundedFloat(0.3, min=0.0, max=1.0).tag(option=True)
    train_accuracy = traitlets.Float(0.0)
    test_accuracy = traitlets.Float(0.0)
    n_leaves = traitlets.Int(0)

    def build(self) -> None:
        self.control("max_depth", w.IntSlider(min=1, max=10, description=t("深度", "Depth")))
        self.control("dataset", w.Dropdown(
            options=[(t("月牙", "moons"), "moons"), (t("圆圈", "circle"), "circle"),
                     (t("异或", "XOR"), "xor"), (t("三团", "blobs"), "blobs")],
            description=t("数据", "Data")))
        self.control("noise", w.FloatSlider(min=0, max=1, step=0.05,
                                            description=t("噪声", "Noise")))
        self.scene = SceneView(width=360, height=360, xlim=list(DOMAIN), ylim=list(DOMAIN),
                               xlabel="x₁", ylabel="x₂")
        self.grid = grid_coords(DOMAIN, DOMAIN, 100)
        self.tree_view = w.HTML(layout=w.Layout(max_width="560px", overflow="auto"))
        self.views = [self.scene, self.tree_view]
        self.observe(lambda _: self._new_data(), ["dataset", "noise", "seed"])
        self.observe(lambda _: self.refresh(), ["max_depth"])
        self._new_data(refresh=False)

    def _new_data(self, refresh: bool = True) -> None:
        x, y = two_d(self.dataset, 300, self.noise, self.seed)
        self.x_train, self.y_train, self.x_test, self.y_test = x[:200], y[:200], x[200:], y[200:]
        if refresh:
            self.refresh()

    def refresh(self) -> None:
        model = DecisionTreeClassifier(max_depth=self.max_depth, random_state=self.seed)
        model.fit(self.x_train, self.y_train)
        # One predict call for training, test and boundary points: sklearn's input checks
        # cost more than the tree walk itself.
        size, n_train, n_test = 100, len(self.y_train), len(self.y_test)
        guesses = model.predict(np.vstack([self.x_train, self.x_test, self.grid]))
        self.train_accuracy = float((guesses[:n_train] == self.y_train).mean())
        wrong = guesses[n_train:n_train + n_test] != self.y_test
        self.test_accuracy = float(1 - wrong.mean())
        self.n_leaves = int(model.tree_.n_leaves)
        regions = guesses[n_train + n_test:].reshape(size, size)
        points = [[float(a), float(b), int(c), FILLED] for (a, b), c in
                  zip(self.x_train, self.y_train, strict=True)]
        points += [[float(a), float(b), int(c), CROSS] for (a, b), c, bad in
                   zip(self.x_test, self.y_test, wrong, strict=True) if bad]
        self.scene.update(heat=regions.astype(np.uint8), points=points,
                          title=t("× 表示测试时分错的点", "× marks test points it got wrong"))
        self.tree_view.value = tree_svg(model, ("x₁", "x₂"))
        self.status.value = t(
            "深度 {d}，{n} 片叶子；训练准确率 <b>{a:.0%}</b>，测试准确率 <b>{b:.0%}</b>",
            "Depth {d}, {n} leaves; training accuracy <b>{a:.0%}</b>, test accuracy <b>{b:.0%}</b>",
            d=self.max_depth, n=self.n_leaves, a=self.train_accuracy, b=self.test_accuracy)
