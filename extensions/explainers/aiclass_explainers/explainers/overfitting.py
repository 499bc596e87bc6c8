"""Overfitting: a wiggly polynomial hits every training point and misses the test points."""

import math

import ipywidgets as w
import numpy as np
import traitlets
from numpy.polynomial import Polynomial

from ..base import Explainer
from ..i18n import t
from ..traits import BoundedFloat, BoundedInt
from ..views import FILLED, HOLLOW, SceneView

MAX_DEGREE = 15


def truth(x: np.ndarray) -> np.ndarray:
    """The pattern hidden under the noise."""
    return np.sin(2 * np.pi * x)


class Overfitting(Explainer):
    explainer_id = "overfitting"
    title_zh, title_en = "过拟合：背下答案不等于学会", "Overfitting: memorising is not learning"
    grade_band = "senior"
    module_zh, module_en = "人工智能初步", "Introduction to AI"
    prompt_zh = "多项式的次数越高，曲线越能穿过每个训练点。它对新数据（测试点）的预测也会更准吗？"
    prompt_en = ("A higher-degree polynomial passes through more training points. Will it also "
                 "predict new (test) points better?")
    task_zh = "找出测试误差最小的次数；再把数据量调到 60，看看最好的次数有没有变化。"
    task_en = ("Find the degree with the lowest test error; then raise the data size to 60 and "
               "see whether the best degree changes.")

    degree = BoundedInt(3, min=1, max=MAX_DEGREE).tag(option=True)
    noise = BoundedFloat(0.25, min=0.0, max=1.0).tag(option=True)
    n_points = BoundedInt(15, min=5, max=100).tag(option=True)
    train_error = traitlets.Float(0.0)
    test_error = traitlets.Float(0.0)
    best_degree = traitlets.Int(1)

    def build(self) -> None:
        self.control("degree", w.IntSlider(min=1, max=MAX_DEGREE,
                                           description=t("次数", "Degree")))
        self.control("noise", w.FloatSlider(min=0, max=1, step=0.05,
                                            description=t("噪声", "Noise")))
        self.control("n_points", w.IntSlider(min=5, max=100, description=t("数据量", "Data size")))
        self.scene = SceneView(width=380, height=320, xlim=[0, 1], ylim=[-2.5, 2.5],
                               xlabel="x", ylabel="y")
        self.errors = SceneView(width=300, height=240, xlim=[1, MAX_DEGREE],
                                xlabel=t("次数", "degree"), ylabel="log₁₀(MSE)",
                                title=t("训练误差（蓝）/ 测试误差（橙）",
                                        "Training error (blue) / test error (orange)"))
        self.views = [self.scene, self.errors]
        self.observe(lambda _: self._new_data(), ["noise", "n_points", "seed"])
        self.observe(lambda _: self.refresh(), ["degree"])
        self._new_data(refresh=False)

    def _new_data(self, refresh: bool = True) -> None:
        rng = np.random.default_rng(self.seed)
        self.x_train = np.sort(rng.uniform(0, 1, self.n_points))
        self.y_train = truth(self.x_train) + rng.normal(0, self.noise, self.n_points)
        self.x_test = rng.uniform(0, 1, 200)
        self.y_test = truth(self.x_test) + rng.normal(0, self.noise, 200)
        self.curve = [self._errors(d) for d in range(1, MAX_DEGREE + 1)]
        if refresh:
            self.refresh()

    def _fit(self, degree: int) -> Polynomial:
        return Polynomial.fit(self.x_train, self.y_train, min(degree, self.n_points - 1))

    def _errors(self, degree: int) -> tuple[float, float]:
        model = self._fit(degree)
        return (float(np.mean((model(self.x_train) - self.y_train) ** 2)),
                float(np.mean((model(self.x_test) - self.y_test) ** 2)))

    def refresh(self) -> None:
        model = self._fit(self.degree)
        self.train_error, self.test_error = self.curve[self.degree - 1]
        self.best_degree = int(np.argmin([b for _, b in self.curve])) + 1
        xs = np.linspace(0, 1, 200)
        self.scene.update(
            points=[[float(a), float(b), 0, FILLED] for a, b in zip(self.x_train, self.y_train,
                                                                   strict=True)]
            + [[float(a), float(b), 1, HOLLOW] for a, b in zip(self.x_test[:60],
                                                               self.y_test[:60], strict=True)],
            lines=[{"x": xs.tolist(), "y": truth(xs).tolist(), "color": "#999", "dash": True},
                   {"x": xs.tolist(), "y": np.clip(model(xs), -3, 3).tolist(),
                    "color": "#d62728"}],
            title=t("{d} 次多项式", "Degree {d} polynomial", d=self.degree))
        logs = [[math.log10(max(v, 1e-6)) for v in pair] for pair in self.curve]
        degrees = list(range(1, MAX_DEGREE + 1))
        low = min(v for pair in logs for v in pair)
        high = max(v for pair in logs for v in pair)
        self.errors.update(
            ylim=[low - 0.2, high + 0.2],
            lines=[{"x": degrees, "y": [a for a, _ in logs], "color": "#1f77b4"},
                   {"x": degrees, "y": [b for _, b in logs], "color": "#ff7f0e"},
                   {"x": [self.degree] * 2, "y": [low - 0.2, high + 0.2], "color": "#000",
                    "dash": True}])
        self.status.value = t(
            "训练误差 <b>{a:.3f}</b>，测试误差 <b>{b:.3f}</b>",
            "Training error <b>{a:.3f}</b>, test error <b>{b:.3f}</b>",
            a=self.train_error, b=self.test_error)
