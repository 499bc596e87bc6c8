"""A notebook Teachable Machine: draw examples for each class, train, read the confusion matrix."""

import ipywidgets as w
import numpy as np
import traitlets
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from ..base import Explainer
from ..datasets import digits
from ..i18n import t
from ..traits import BoundedInt
from ..views import GridView
from .pixels import PAD, to_eight_by_eight

MAX_CLASSES = 4


def classifier() -> LogisticRegression:
    return LogisticRegression(max_iter=2000, C=0.5)


class TeachableMachine(Explainer):
    explainer_id = "teachable_machine"
    title_zh, title_en = "我的图像分类器", "My own image classifier"
    grade_band = "primary"
    module_zh, module_en = "身边的人工智能", "AI around us"
    prompt_zh = "每类只画 3 个样本，分类器能认对多少？画 10 个呢？"
    prompt_en = "With only 3 drawings per class, how many will the classifier get right? With 10?"
    task_zh = "为“圆”和“叉”各画至少 5 个样本并训练，看看混淆矩阵里哪些被认错了。"
    task_en = ("Draw at least 5 circles and 5 crosses, train, and find in the confusion matrix "
               "which ones were confused.")

    n_classes = BoundedInt(2, min=2, max=MAX_CLASSES).tag(option=True)
    class_names = traitlets.List().tag(option=True)
    sample_counts = traitlets.List()
    accuracy = traitlets.Float(0.0)
    confusion = traitlets.List()
    trained = traitlets.Bool(False)
    guess = traitlets.Unicode("")

    def build(self) -> None:
        defaults = [t("圆", "circle"), t("叉", "cross"), t("三角", "triangle"), t("线", "line")]
        names = list(self.class_names) + defaults[len(self.class_names):]
        self.class_names = names[:MAX_CLASSES]
        self.samples: list[list[np.ndarray]] = [[] for _ in range(MAX_CLASSES)]
        self.model: LogisticRegression | None = None
        self.control("n_classes", w.IntSlider(min=2, max=MAX_CLASSES,
                                              description=t("类别数", "Classes")))
        self.name_boxes = [w.Text(value=name, layout=w.Layout(width="100px"))
                           for name in self.class_names]
        for index, box in enumerate(self.name_boxes):
            box.observe(lambda c, i=index: self._rename(i, c["new"]), "value")
        self.add_buttons = [w.Button(layout=w.Layout(width="100px"), icon="plus")
                            for _ in range(MAX_CLASSES)]
        for index, button in enumerate(self.add_buttons):
            button.on_click(lambda _, i=index: self.add_sample(i))
        self.rows = [w.HBox([box, button]) for box, button in
                     zip(self.name_boxes, self.add_buttons, strict=True)]
        self.controls["classes"] = w.VBox(self.rows)
        train = w.Button(description=t("训练", "Train"), button_style="success", icon="play")
        examples = w.Button(description=t("用示例数字填充", "Fill with example digits"))
        clear = w.Button(description=t("清空画板", "Clear pad"), icon="eraser")
        train.on_click(lambda _: self._train_clicked())
        examples.on_click(lambda _: self.load_examples())
        clear.on_click(lambda _: self.pad.update(values=np.zeros((PAD, PAD), int)))
        self.control("train", train)
        self.control("examples", examples)
        self.control("clear", clear)
        self.pad = GridView(values=np.zeros((PAD, PAD), int).tolist(), vmax=1, cell_size=7,
                            show_numbers=False, editable=True, brush=2,
                            title=t("在这里画，再点类别旁的 +",
                                    "Draw here, then press + by a class"))
        self.matrix = GridView(colormap="blues", cell_size=40,
                               title=t("混淆矩阵（行：真实，列：预测）",
                                       "Confusion matrix (rows: true, columns: predicted)"))
        self.views = [self.pad, self.matrix]
        self.pad.observe(lambda _: self._predict_drawing(), "values")
        self.observe(lambda _: self.refresh(), ["n_classes"])

    def _rename(self, index: int, name: str) -> None:
        names = list(self.class_names)
        names[index] = name
        self.class_names = names
        self.refresh()

    def drawing(self) -> np.ndarray:
        """The pad as the 64 features the classifier sees (8x8, 0..16)."""
        return to_eight_by_eight((self.pad.array() > 0).astype(int)).ravel().astype(float)

    def add_sample(self, index: int, drawing: np.ndarray | None = None) -> None:
        """Store the pad (or an 8x8 ``drawing``) as one example of class ``index``."""
        if not 0 <= index < self.n_classes:
            raise ValueError(t("没有第 {i} 类；现在有 {n} 类。",
                               "There is no class {i}; there are {n}.",
                               i=index + 1, n=self.n_classes))
        features = self.drawing() if drawing is None else np.asarray(drawing, float).ravel()
        if features.sum() == 0:
            self.status.value = t("画板是空的，先画点什么。",
                                  "The pad is empty: draw something first.")
            return
        self.samples[index].append(features)
        self.trained = False
        self.pad.update(values=np.zeros((PAD, PAD), int))
        self.refresh()

    def load_examples(self, per_class: int = 20) -> None:
        """Fill each class with ``per_class`` bundled digits (class i gets digit i)."""
        images, labels = digits()
        for index in range(self.n_classes):
            chosen = images[labels == index][:per_class]
            self.samples[index] = [image.ravel().astype(float) for image in chosen]
            self.name_boxes[index].value = str(index)
        self.trained = False
        self.refresh()

    def train(self) -> None:
        """Fit the classifier and measure it with cross-validation (each sample held out once)."""
        counts = [len(self.samples[i]) for i in range(self.n_classes)]
        short = [self.class_names[i] for i, n in enumerate(counts) if n < 2]
        if short:
            raise ValueError(t("每一类至少要 2 个样本，这些类还不够：{c}。",
                               "Each class needs at least 2 samples; not enough yet: {c}.",
                               c="、".join(short)))
        x = np.array([s for i in range(self.n_classes) for s in self.samples[i]]) / 16.0
        y = np.array([i for i in range(self.n_classes) for _ in self.samples[i]])
        folds = StratifiedKFold(n_splits=min(5, min(counts)), shuffle=True,
                                random_state=self.seed)
        predicted = cross_val_predict(classifier(), x, y, cv=folds)
        matrix = np.zeros((self.n_classes, self.n_classes), dtype=int)
        np.add.at(matrix, (y, predicted), 1)
        self.confusion = matrix.tolist()
        self.accuracy = float((predicted == y).mean())
        self.model = classifier().fit(x, y)
        self.trained = True
        self.refresh()

    def _train_clicked(self) -> None:
        try:
            self.train()
        except ValueError as error:
            self.status.value = f"<b style='color:#d62728'>{error}</b>"

    def _predict_drawing(self) -> None:
        features = self.drawing()
        if self.model is None or not self.trained or features.sum() == 0:
            self.guess = ""
            return
        probs = self.model.predict_proba(features[None] / 16.0)[0]
        best = int(probs.argmax())
        self.guess = self.class_names[best]
        self.status.value = t("我猜这是：<b>{g}</b>（把握 {p:.0%}）",
                              "My guess: <b>{g}</b> ({p:.0%} sure)", g=self.guess, p=probs[best])

    def refresh(self) -> None:
        self.sample_counts = [len(self.samples[i]) for i in range(self.n_classes)]
        for index, row in enumerate(self.rows):
            row.layout.display = None if index < self.n_classes else "none"
            self.add_buttons[index].description = t("加样本 ({n})", "Add ({n})",
                                                     n=len(self.samples[index]))
        names = self.class_names[: self.n_classes]
        if self.trained and len(self.confusion) == self.n_classes:
            self.matrix.update(values=self.confusion, vmax=max(1, max(map(max, self.confusion))),
                               row_labels=names, col_labels=names)
            self.status.value = t("训练好了！交叉验证准确率 <b>{a:.0%}</b>。在画板上画一个试试。",
                                  "Trained! Cross-validated accuracy <b>{a:.0%}</b>. Draw one to "
                                  "test it.", a=self.accuracy)
        else:
            empty = np.zeros((self.n_classes, self.n_classes), int)
            self.matrix.update(values=empty, vmax=1, row_labels=names, col_labels=names)
            self.status.value = t("样本数：{c}。每类画够了就点“训练”。",
                                  "Samples: {c}. Press Train when each class has enough.",
                                  c="，".join(f"{n} {m}" for n, m in
                                             zip(names, self.sample_counts, strict=True)))
