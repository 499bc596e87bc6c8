"""A perceptron learns AND and OR, and can never learn XOR; one hidden layer fixes that."""

import ipywidgets as w
import numpy as np
import traitlets

from ..base import Animator, Explainer, grid_coords, play_button
from ..i18n import t
from ..traits import BoundedFloat, BoundedInt, Choice
from ..views import FILLED, SceneView

TRUTH = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "xor": [0, 1, 1, 0]}
CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
LIMITS = [-0.5, 1.5]


class PerceptronXor(Explainer):
    explainer_id = "perceptron_xor"
    title_zh, title_en = "感知机为什么学不会异或", "Why a perceptron cannot learn XOR"
    grade_band = "senior"
    module_zh, module_en = "人工智能初步", "Introduction to AI"
    animated = True
    prompt_zh = "一条直线能把“异或”的两类点分开吗？感知机训练 100 轮以后会怎样？"
    prompt_en = ("Can one straight line separate the two classes of XOR? What happens after "
                 "100 epochs?")
    task_zh = "依次训练“与”“或”“异或”，记录每个需要几轮；然后打开“加一个隐藏层”再试异或。"
    task_en = ("Train AND, OR and XOR and note how many epochs each needs; then switch on the "
               "hidden layer and try XOR again.")

    dataset = Choice(list(TRUTH), default_value="xor").tag(option=True)
    learning_rate = BoundedFloat(0.1, min=0.001, max=1.0).tag(option=True)
    hidden_layer = traitlets.Bool(False).tag(option=True)
    max_epochs = BoundedInt(100, min=1, max=2000).tag(option=True)
    epoch = traitlets.Int(0)
    errors = traitlets.Int(0)
    converged = traitlets.Bool(False)
    playing = traitlets.Bool(False)

    def build(self) -> None:
        self.control("dataset", w.ToggleButtons(
            options=[(t("与", "AND"), "and"), (t("或", "OR"), "or"), (t("异或", "XOR"), "xor")],
            description=t("数据", "Data"), style={"button_width": "60px"}))
        self.control("learning_rate", w.FloatSlider(min=0.01, max=1, step=0.01,
                                                    description=t("学习率", "Learning rate")))
        self.control("hidden_layer", w.Checkbox(
            description=t("加一个隐藏层", "Add a hidden layer")))
        step = w.Button(description=t("训练一轮", "One epoch"), icon="step-forward")
        restart = w.Button(description=t("重新开始", "Restart"), icon="refresh")
        step.on_click(lambda _: self.train(1))
        restart.on_click(lambda _: self.restart())
        self.animator = Animator(self._tick, fps=8.0)
        self.control("step", step)
        self.control("play", play_button(self, self.animator))
        self.control("restart", restart)
        self.scene = SceneView(width=340, height=340, xlim=LIMITS, ylim=LIMITS,
                               xlabel="x₁", ylabel="x₂")
        self.views = [self.scene]
        self.observe(lambda _: self.restart(), ["dataset", "learning_rate", "hidden_layer", "seed"])
        self.restart(refresh=False)

    def restart(self, refresh: bool = True) -> None:
        rng = np.random.default_rng(self.seed)
        self.x = np.repeat(CORNERS, 10, axis=0) + rng.normal(0, 0.08, (40, 2))
        self.y = np.repeat(TRUTH[self.dataset], 10).astype(float)
        if self.hidden_layer:
            self.w1 = rng.normal(0, 1, (2, 4))
            self.b1 = np.zeros(4)
            self.w2 = rng.normal(0, 1, 4)
            self.b2 = 0.0
        else:
            self.weights = rng.normal(0, 0.1, 2)
            self.bias = 0.0
        self.epoch, self.converged = 0, False
        self.errors = int((self.predict(self.x) != self.y).sum())
        if refresh:
            self.refresh()

    def score(self, x: np.ndarray) -> np.ndarray:
        """Probability-like output in [0, 1] for each row of ``x``."""
        if self.hidden_layer:
            hidden = np.tanh(x @ self.w1 + self.b1)
            return 1 / (1 + np.exp(-(hidden @ self.w2 + self.b2)))
        return 1 / (1 + np.exp(-4 * (x @ self.weights + self.bias)))

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (self.score(x) > 0.5).astype(float)

    def train(self, epochs: int) -> None:
        """Run ``epochs`` passes: the perceptron rule, or gradient descent with a hidden layer."""
        for _ in range(epochs):
            if self.converged:
                break
            if self.hidden_layer:
                for _ in range(20):
                    hidden = np.tanh(self.x @ self.w1 + self.b1)
                    out = 1 / (1 + np.exp(-(hidden @ self.w2 + self.b2)))
                    delta = (out - self.y) / len(self.y)
                    back = np.outer(delta, self.w2) * (1 - hidden**2)
                    rate = self.learning_rate * 20
                    self.w2 -= rate * hidden.T @ delta
                    self.b2 -= rate * delta.sum()
                    self.w1 -= rate * self.x.T @ back
                    self.b1 -= rate * back.sum(axis=0)
            else:
                for xi, yi in zip(self.x, self.y, strict=True):
                    guess = float(xi @ self.weights + self.bias > 0)
                    self.weights += self.learning_rate * (yi - guess) * xi
                    self.bias += self.learning_rate * (yi - guess)
            self.epoch += 1
            self.errors = int((self.predict(self.x) != self.y).sum())
            self.converged = self.errors == 0
        self.refresh()

    def _tick(self) -> bool:
        self.train(1)
        return not self.converged and self.epoch < self.max_epochs

    def refresh(self) -> None:
        size = 80
        heat = self.score(grid_coords(LIMITS, LIMITS, size)).reshape(size, size)
        self.scene.update(
            heat=heat.astype(np.float32),
            points=[[float(a), float(b), int(c), FILLED]
                    for (a, b), c in zip(self.x, self.y, strict=True)],
            title=t("第 {e} 轮，分错 {n} 个点", "Epoch {e}, {n} points wrong",
                    e=self.epoch, n=self.errors))
        if self.converged:
            text = t("全部分对了！用了 {e} 轮。", "All correct after {e} epochs.", e=self.epoch)
        elif self.epoch >= self.max_epochs and not self.hidden_layer and self.dataset == "xor":
            text = t("{e} 轮了还没分对：一条直线分不开异或。",
                     "Still wrong after {e} epochs: no straight line separates XOR.", e=self.epoch)
        else:
            text = t("还有 {n} 个点分错。", "{n} points still wrong.", n=self.errors)
        self.status.value = text
