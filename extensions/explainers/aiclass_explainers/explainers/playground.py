"""A notebook TensorFlow Playground: a small neural network trained live with torch.

Training runs on the GPU when the server has one, otherwise on the CPU.  Each animation frame
trains one epoch and sends the 100x100 decision boundary as 10 000 bytes, so the picture keeps
up at 30 frames per second on two CPU cores.
"""

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import ipywidgets as w
import numpy as np
import torch
import traitlets

from ..base import Animator, Explainer, grid_coords, play_button
from ..datasets import DOMAIN, two_d
from ..i18n import t
from ..traits import BoundedFloat, BoundedInt, Choice
from ..views import FILLED, HOLLOW, SceneView

FEATURES = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1sq": lambda x1, x2: x1 * x1,
    "x2sq": lambda x1, x2: x2 * x2,
    "x1x2": lambda x1, x2: x1 * x2,
    "sinx1": lambda x1, x2: torch.sin(x1),
    "sinx2": lambda x1, x2: torch.sin(x2),
}
FEATURE_LABELS = {"x1": "x₁", "x2": "x₂", "x1sq": "x₁²", "x2sq": "x₂²", "x1x2": "x₁x₂",
                  "sinx1": "sin(x₁)", "sinx2": "sin(x₂)"}
ACTIVATIONS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
               "linear": torch.nn.Identity}
LEARNING_RATES = [0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
REGULARIZATION_RATES = [0.0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1]
#: How many loss-curve points are sent to the browser at most.
CURVE_POINTS = 200
#: Training time per animation frame, leaving the rest of 1/30 s for the redraw.
FRAME_TRAINING_S = 0.02


def device() -> torch.device:
    """cuda when this server has a GPU, otherwise the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextmanager
def few_threads(dev: torch.device) -> Iterator[None]:
    """Run tiny CPU tensors on one thread, then restore the kernel's setting.

    A network of a few dozen weights is dominated by thread start-up and hand-off; on a busy
    two-core server OpenMP workers make each step ten times slower than a single thread.
    """
    if dev.type != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def expand(points: torch.Tensor, features: list[str]) -> torch.Tensor:
    """Turn raw (x₁, x₂) rows into the chosen input features."""
    x1, x2 = points[:, 0], points[:, 1]
    return torch.stack([FEATURES[name](x1, x2) for name in features], dim=1)


class Playground(Explainer):
    explainer_id = "playground"
    title_zh, title_en = "神经网络游乐场", "Neural network playground"
    grade_band = "senior"
    module_zh, module_en = "人工智能初步", "Introduction to AI"
    animated = True
    prompt_zh = "只用 x₁、x₂ 两个输入、没有隐藏层，网络能分开“圆圈”数据吗？加上 x₁²、x₂² 呢？"
    prompt_en = ("With only x₁ and x₂ and no hidden layer, can the network separate the circle "
                 "data? What if you add x₁² and x₂²?")
    task_zh = "在“螺旋”数据上，设计一个网络让测试损失低于 0.1，记下你的层数、神经元和用时。"
    task_en = ("On the spiral, design a network whose test loss drops below 0.1; note its layers, "
               "neurons and the time it took.")

    dataset = Choice(["circle", "xor", "gauss", "spiral"], default_value="circle").tag(option=True)
    noise = BoundedFloat(0.0, min=0.0, max=0.5).tag(option=True)
    train_ratio = BoundedFloat(0.5, min=0.1, max=0.9).tag(option=True)
    n_points = BoundedInt(500, min=50, max=2000).tag(option=True)
    features = traitlets.List(["x1", "x2"]).tag(option=True)
    hidden_layers = BoundedInt(2, min=0, max=6).tag(option=True)
    neurons = BoundedInt(4, min=1, max=16).tag(option=True)
    activation = Choice(list(ACTIVATIONS), default_value="tanh").tag(option=True)
    learning_rate = BoundedFloat(0.03, min=1e-5, max=10.0).tag(option=True)
    regularization = Choice(["none", "l1", "l2"], default_value="none").tag(option=True)
    regularization_rate = BoundedFloat(0.0, min=0.0, max=1.0).tag(option=True)
    batch_size = BoundedInt(10, min=1, max=100).tag(option=True)
    optimizer = Choice(["adam", "sgd"], default_value="adam").tag(option=True)
    resolution = BoundedInt(100, min=10, max=200).tag(option=True)
    epoch = traitlets.Int(0)
    train_loss = traitlets.Float(math.nan)
    test_loss = traitlets.Float(math.nan)
    playing = traitlets.Bool(False)

    @traitlets.validate("features")
    def _check_features(self, proposal: dict) -> list[str]:
        chosen = list(proposal["value"])
        unknown = [name for name in chosen if name not in FEATURES]
        if unknown or not chosen:
            raise traitlets.TraitError(
                t("输入特征必须至少选一个，且只能从 {ok} 中选；收到 {bad}。",
                  "Pick at least one input feature, only from {ok}; got {bad}.",
                  ok=", ".join(FEATURES), bad=chosen))
        return [name for name in FEATURES if name in chosen]

    def build(self) -> None:
        self.device = device()
        self.control("dataset", w.Dropdown(
            options=[(t("圆圈", "circle"), "circle"), (t("异或", "XOR"), "xor"),
                     (t("两团高斯", "Gaussian"), "gauss"), (t("螺旋", "spiral"), "spiral")],
            description=t("数据", "Data")))
        self.control("noise", w.FloatSlider(min=0, max=0.5, step=0.05,
                                            description=t("噪声", "Noise")))
        self.control("train_ratio", w.FloatSlider(min=0.1, max=0.9, step=0.1,
                                                  description=t("训练比例", "Train ratio")))
        boxes = {name: w.Checkbox(value=name in self.features, description=label, indent=False,
                                  layout=w.Layout(width="70px"))
                 for name, label in FEATURE_LABELS.items()}
        for box in boxes.values():
            box.observe(lambda _: setattr(self, "features",
                                          [n for n, b in boxes.items() if b.value]) , "value")
        self.observe(lambda c: [setattr(b, "value", n in c["new"]) for n, b in boxes.items()],
                     "features")
        self.controls["features"] = w.VBox([w.Label(t("输入特征", "Input features")),
                                            w.HBox(list(boxes.values()),
                                                   layout=w.Layout(flex_flow="row wrap"))])
        self.feature_boxes = boxes
        self.control("hidden_layers", w.IntSlider(min=0, max=6, description=t("隐藏层", "Layers")))
        self.control("neurons", w.IntSlider(min=1, max=16, description=t("每层神经元", "Neurons")))
        self.control("activation", w.Dropdown(options=list(ACTIVATIONS),
                                              description=t("激活函数", "Activation")))
        self.control("learning_rate", w.SelectionSlider(
            options=sorted({*LEARNING_RATES, self.learning_rate}),
            description=t("学习率", "Learning rate")))
        self.control("regularization", w.Dropdown(
            options=[(t("无", "none"), "none"), ("L1", "l1"), ("L2", "l2")],
            description=t("正则化", "Regularise")))
        self.control("regularization_rate", w.SelectionSlider(
            options=sorted({*REGULARIZATION_RATES, self.regularization_rate}),
            description=t("正则化率", "Reg. rate")))
        self.control("batch_size", w.IntSlider(min=1, max=100, description=t("批大小", "Batch")))
        step = w.Button(description=t("训练一轮", "One epoch"), icon="step-forward")
        reset = w.Button(description=t("重置", "Reset"), icon="refresh")
        step.on_click(lambda _: self.step())
        reset.on_click(lambda _: self.reset())
        self.animator = Animator(self._tick, fps=30.0)
        self.controls["buttons"] = w.HBox([play_button(self, self.animator), step, reset])
        self.controls["play"] = self.controls["buttons"].children[0]
        self.controls["step"], self.controls["reset"] = step, reset
        self.scene = SceneView(width=380, height=380, xlim=list(DOMAIN), ylim=list(DOMAIN),
                               xlabel="x₁", ylabel="x₂")
        self.curve = SceneView(width=300, height=200, xlabel=t("轮数", "epoch"),
                               title=t("损失：训练（灰）/ 测试（黑）",
                                       "Loss: training (grey) / test (black)"))
        self.views = [self.scene, self.curve]
        self.observe(lambda _: self.new_data(),
                     ["dataset", "noise", "train_ratio", "n_points", "seed"])
        self.observe(lambda _: self.reset(),
                     ["features", "hidden_layers", "neurons", "activation", "optimizer"])
        self.observe(lambda _: self._tune_optimizer(), ["learning_rate"])
        self.new_data(refresh=False)

    def new_data(self, refresh: bool = True) -> None:
        """Draw a fresh data set and split it into training and test points."""
        x, y = two_d(self.dataset, self.n_points, self.noise, self.seed)
        cut = int(round(len(y) * self.train_ratio))
        self.raw_train, self.raw_test = x[:cut], x[cut:]
        self.label_train, self.label_test = y[:cut], y[cut:]
        tensor = lambda a: torch.as_tensor(a, dtype=torch.float32, device=self.device)  # noqa: E731
        self.y_train, self.y_test = tensor(y[:cut]), tensor(y[cut:])
        self.points_train, self.points_test = tensor(x[:cut]), tensor(x[cut:])
        self.grid = tensor(grid_coords(DOMAIN, DOMAIN, self.resolution))
        self._data_points = [
            [float(a), float(b), int(c), FILLED if i < cut else HOLLOW]
            for i, ((a, b), c) in enumerate(zip(x, y, strict=True))
        ]
        self.reset(refresh=False)
        self.scene.update(points=self._data_points)
        if refresh:
            self.refresh()

    def reset(self, refresh: bool = True) -> None:
        """A new network with fresh random weights (seeded), epoch 0."""
        self.x_train = expand(self.points_train, self.features)
        self.x_test = expand(self.points_test, self.features)
        self.x_grid = expand(self.grid, self.features)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            layers: list[torch.nn.Module] = []
            width = len(self.features)
            for _ in range(self.hidden_layers):
                layers += [torch.nn.Linear(width, self.neurons), ACTIVATIONS[self.activation]()]
                width = self.neurons
            layers.append(torch.nn.Linear(width, 1))
            self.network = torch.nn.Sequential(*layers).to(self.device)
            self.shuffle = torch.Generator().manual_seed(self.seed)
        self._tune_optimizer(new=True)
        self.epoch = 0
        self._position = len(self.y_train)
        self.history: list[tuple[float, float, float]] = []
        self._measure()
        if refresh:
            self.refresh()

    def _tune_optimizer(self, new: bool = False) -> None:
        if new or not hasattr(self, "optim"):
            kind = torch.optim.Adam if self.optimizer == "adam" else torch.optim.SGD
            self.optim = kind(self.network.parameters(), lr=self.learning_rate)
        for group in self.optim.param_groups:
            group["lr"] = self.learning_rate

    def _penalty(self) -> torch.Tensor | float:
        if self.regularization == "none" or self.regularization_rate == 0:
            return 0.0
        weights = [p for name, p in self.network.named_parameters() if name.endswith("weight")]
        if self.regularization == "l1":
            return self.regularization_rate * sum(p.abs().sum() for p in weights)
        return self.regularization_rate * sum((p * p).sum() for p in weights)

    def train(self, epochs: int = 1) -> None:
        """Train until ``epochs`` more passes over the training points have finished."""
        target = self.epoch + epochs
        self._run_batches(lambda: self.epoch >= target)

    def train_for(self, seconds: float) -> None:
        """Train mini-batches for about ``seconds`` (at least one): one animation frame."""
        deadline = time.perf_counter() + seconds
        self._run_batches(lambda: time.perf_counter() >= deadline)

    def _run_batches(self, done: Callable[[], bool]) -> None:
        loss_fn = torch.nn.functional.binary_cross_entropy_with_logits
        n = len(self.y_train)
        self.network.train()
        with few_threads(self.device):
            while True:
                if self._position >= n:
                    self._order = torch.randperm(n, generator=self.shuffle).to(self.device)
                    self._position = 0
                batch = self._order[self._position:self._position + self.batch_size]
                self._position += self.batch_size
                logits = self.network(self.x_train[batch]).squeeze(1)
                loss = loss_fn(logits, self.y_train[batch]) + self._penalty()
                self.optim.zero_grad(set_to_none=True)
                loss.backward()
                self.optim.step()
                if self._position >= n:
                    self.epoch += 1
                if done():
                    break
        self._measure()

    @torch.no_grad()
    def _measure(self) -> None:
        loss_fn = torch.nn.functional.binary_cross_entropy_with_logits
        self.network.eval()
        with few_threads(self.device):
            self._losses(loss_fn)
        progress = self.epoch + min(self._position / max(len(self.y_train), 1), 1.0) % 1.0
        self.history.append((progress, self.train_loss, self.test_loss))

    def _losses(self, loss_fn: Callable) -> None:
        self.train_loss = float(loss_fn(self.network(self.x_train).squeeze(1), self.y_train))
        self.test_loss = (float(loss_fn(self.network(self.x_test).squeeze(1), self.y_test))
                          if len(self.y_test) else math.nan)

    @torch.no_grad()
    def boundary(self) -> np.ndarray:
        """Probability of class 1 on the ``resolution`` x ``resolution`` grid (row 0 on top)."""
        with few_threads(self.device):
            probs = torch.sigmoid(self.network(self.x_grid))
        probs = probs.reshape(self.resolution, self.resolution)
        return probs.to(torch.float32).cpu().numpy()

    def step(self) -> None:
        """Train one epoch and redraw."""
        self.train(1)
        self.refresh()

    def _tick(self) -> bool:
        """One animation frame: train for most of a 30 fps frame, then redraw."""
        self.train_for(FRAME_TRAINING_S)
        self.refresh()
        return math.isfinite(self.train_loss)

    def refresh(self) -> None:
        history = self.history[:: max(1, math.ceil(len(self.history) / CURVE_POINTS))]
        xs = [round(x, 3) for x, _, _ in history]
        finite = [v for _, *pair in history for v in pair if math.isfinite(v)]
        top = max(finite, default=1.0)
        self.scene.update(heat=self.boundary(),
                          title=t("第 {e} 轮", "Epoch {e}", e=self.epoch))
        self.curve.update(
            xlim=[0, max(xs[-1], 1)], ylim=[0, max(top, 0.1) * 1.05],
            lines=[{"x": xs, "y": [a for _, a, _ in history], "color": "#999"},
                   {"x": xs, "y": [b for _, _, b in history], "color": "#000"}])
        shape = " → ".join([str(len(self.features))] + [str(self.neurons)] * self.hidden_layers
                           + ["1"])
        self.status.value = t(
            "网络 {shape}；第 {e} 轮；训练损失 <b>{a:.3f}</b>，测试损失 <b>{b:.3f}</b>（{d}）",
            "Network {shape}; epoch {e}; training loss <b>{a:.3f}</b>, test loss <b>{b:.3f}</b> "
            "({d})", shape=shape, e=self.epoch, a=self.train_loss, b=self.test_loss,
            d=self.device.type.upper())
