"""Gradient descent for a straight line: drag the points, pick a learning rate, watch the loss."""

import math

import ipywidgets as widgets
import numpy as np
import traitlets

from ..base import Animator, Explainer, play_button
from ..i18n import t
from ..traits import BoundedFloat, BoundedInt
from ..views import SceneView

#: Loss this many times the starting loss (or not finite) counts as diverged.
BLOW_UP = 1e6


class GradientDescent(Explainer):
    explainer_id = "gradient_descent"
    title_zh, title_en = "梯度下降：一步一步找到最好的直线", "Gradient descent for a line"
    grade_band = "senior"
    module_zh, module_en = "人工智能初步", "Introduction to AI"
    animated = True
    prompt_zh = "学习率越大，走得越快。学习率大到一定程度会发生什么？"
    prompt_en = "A bigger learning rate takes bigger steps. What happens when it gets too big?"
    task_zh = "找到让损失发散（越来越大）的最小学习率，把它记在下面的单元格里。"
    task_en = "Find the smallest learning rate that makes the loss blow up, and note it below."

    learning_rate = BoundedFloat(0.01, min=1e-4, max=1.0).tag(option=True)
    n_points = BoundedInt(8, min=2, max=40).tag(option=True)
    max_steps = BoundedInt(200, min=1, max=5000).tag(option=True)
    w = traitlets.Float(0.0)
    b = traitlets.Float(0.0)
    loss = traitlets.Float(0.0)
    steps = traitlets.Int(0)
    diverged = traitlets.Bool(False)
    points = traitlets.List()
    playing = traitlets.Bool(False)

    def build(self) -> None:
        self.control("learning_rate", widgets.FloatLogSlider(
            min=-4, max=0, step=0.05, base=10, readout_format=".4f",
            description=t("学习率", "Learning rate"), style={"description_width": "initial"}))
        step = widgets.Button(description=t("走一步", "One step"), icon="step-forward")
        reset = widgets.Button(description=t("从头再来", "Reset line"), icon="refresh")
        step.on_click(lambda _: self.run(1))
        reset.on_click(lambda _: self.reset())
        self.animator = Animator(self._tick, fps=15.0)
        self.control("step", step)
        self.control("play", play_button(self, self.animator))
        self.control("reset", reset)
        self.scene = SceneView(width=360, height=320, xlim=[0, 10], ylim=[-5, 25], mode="drag",
                               xlabel="x", ylabel="y",
                               title=t("拖动点，看直线怎么学",
                                       "Drag the points, watch the line learn"))
        self.scene.on_drag(self.move_point)
        self.curve = SceneView(width=300, height=240, xlabel=t("步数", "step"),
                               ylabel="log₁₀(loss)", title=t("损失曲线", "Loss curve"))
        self.views = [self.scene, self.curve]
        rng = np.random.default_rng(self.seed)
        xs = np.sort(rng.uniform(0.5, 9.5, self.n_points))
        ys = 2 * xs + 1 + rng.normal(0, 1.5, self.n_points)
        self.points = [[round(float(a), 2), round(float(b), 2)]
                       for a, b in zip(xs, ys, strict=True)]
        self.observe(lambda _: self.reset(), ["learning_rate", "points"])
        self.reset(refresh=False)

    def move_point(self, index: int, x: float, y: float) -> None:
        points = [list(p) for p in self.points]
        points[index] = [round(min(max(x, 0.0), 10.0), 2), round(min(max(y, -5.0), 25.0), 2)]
        self.points = points

    def reset(self, refresh: bool = True) -> None:
        """Put the line back at w = b = 0 and clear the loss history."""
        self.w, self.b, self.steps, self.diverged = 0.0, 0.0, 0, False
        self.loss = self._loss()
        self.history = [self.loss]
        if refresh:
            self.refresh()

    def _loss(self) -> float:
        data = np.asarray(self.points)
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.mean((self.w * data[:, 0] + self.b - data[:, 1]) ** 2))

    def run(self, steps: int) -> None:
        """Take ``steps`` gradient steps (stops early once the loss diverges)."""
        data = np.asarray(self.points)
        x, y = data[:, 0], data[:, 1]
        for _ in range(steps):
            if self.diverged:
                break
            with np.errstate(over="ignore", invalid="ignore"):
                error = self.w * x + self.b - y
                grad_w, grad_b = 2 * np.mean(error * x), 2 * np.mean(error)
                self.w, self.b = (float(self.w - self.learning_rate * grad_w),
                                  float(self.b - self.learning_rate * grad_b))
            self.steps += 1
            self.loss = self._loss()
            self.history.append(self.loss)
            if not math.isfinite(self.loss) or self.loss > BLOW_UP * max(self.history[0], 1e-9):
                self.diverged = True
        self.refresh()

    def _tick(self) -> bool:
        self.run(1)
        return not self.diverged and self.steps < self.max_steps

    def refresh(self) -> None:
        finite = [v for v in self.history if math.isfinite(v)]
        logs = [math.log10(max(v, 1e-6)) for v in finite]
        wline, bline = (self.w, self.b) if math.isfinite(self.w + self.b) else (0.0, 0.0)
        self.scene.update(
            points=[[x, y, 0, 0] for x, y in self.points],
            lines=[{"x": [0, 10], "y": [bline, wline * 10 + bline], "color": "#d62728"}],
        )
        self.curve.update(xlim=[0, max(len(logs) - 1, 1)],
                          ylim=[min(logs + [0.0]) - 0.5, max(logs + [1.0]) + 0.5],
                          lines=[{"x": list(range(len(logs))), "y": logs, "color": "#1f77b4"}])
        state = (t("<b style='color:#d62728'>发散了！</b>损失越来越大。",
                   "<b style='color:#d62728'>Diverged!</b> The loss keeps growing.")
                 if self.diverged else "")
        self.status.value = t(
            "第 {s} 步：y = {w:.3g}·x + {b:.3g}，损失 {loss:.4g}。{state}",
            "Step {s}: y = {w:.3g}·x + {b:.3g}, loss {loss:.4g}. {state}",
            s=self.steps, w=self.w, b=self.b, loss=self.loss, state=state)
