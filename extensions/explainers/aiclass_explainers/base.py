"""What every explainer shares: options as traits, the predict-then-play layout, animation.

An explainer is a :class:`traitlets.HasTraits` object.  Its state (the ``k`` a student chose,
whether their learning rate diverged) lives in traits so a graded cell can read it, and its
controls are linked to those traits so moving a slider and assigning in code are the same act.
"""

import asyncio
import time
from collections.abc import Callable
from typing import Any, ClassVar

import ipywidgets as w
import numpy as np
import traitlets

from .i18n import t
from .traits import BoundedInt


class Explainer(traitlets.HasTraits):
    """Base class: subclasses declare option traits and fill in ``build`` and ``refresh``."""

    explainer_id: ClassVar[str] = ""
    title_zh: ClassVar[str] = ""
    title_en: ClassVar[str] = ""
    grade_band: ClassVar[str] = "junior"
    module_zh: ClassVar[str] = "人工智能与智慧社会"
    module_en: ClassVar[str] = "AI and smart society"
    prompt_zh: ClassVar[str] = ""
    prompt_en: ClassVar[str] = ""
    task_zh: ClassVar[str] = ""
    task_en: ClassVar[str] = ""
    animated: ClassVar[bool] = False

    seed = BoundedInt(0, min=0, max=2**31 - 1).tag(option=True)
    prediction = traitlets.Unicode("")
    predicted = traitlets.Bool(False)

    def __init__(self, predict_first: bool = True, **options: Any) -> None:
        unknown = sorted(set(options) - set(self.option_names()))
        if unknown:
            raise ValueError(
                t("解释器 {id} 没有选项 {bad}；可用的选项有：{ok}。",
                  "Explainer {id} has no option {bad}; available options: {ok}.",
                  id=self.explainer_id, bad=", ".join(unknown), ok=", ".join(self.option_names()))
            )
        super().__init__(**options)
        self.controls: dict[str, w.Widget] = {}
        self.views: list[w.DOMWidget] = []
        self.status = w.HTML()
        self.build()
        self.widget = self._layout(predict_first)
        self.refresh()

    @classmethod
    def option_names(cls) -> list[str]:
        """Names accepted by ``create(id, **options)``: the traits tagged ``option=True``."""
        return sorted(cls.class_trait_names(option=True))

    @property
    def title(self) -> str:
        return t(self.title_zh, self.title_en)

    def build(self) -> None:
        """Create ``self.controls`` and ``self.views`` and wire observers (subclass hook)."""
        raise NotImplementedError

    def refresh(self) -> None:
        """Recompute the model from the traits and send new view data (subclass hook)."""
        raise NotImplementedError

    def control(self, name: str, widget: w.Widget, trait: str | None = None) -> w.Widget:
        """Register ``widget`` as a control, two-way linked to trait ``trait`` (or ``name``)."""
        self.controls[name] = widget
        if trait is not None or self.has_trait(name):
            traitlets.link((self, trait or name), (widget, "value"))
        return widget

    def views_box(self) -> w.Widget:
        """How the views are arranged; side by side unless a subclass says otherwise."""
        return w.HBox(self.views, layout=w.Layout(flex_flow="row wrap", align_items="flex-start"))

    def _layout(self, predict_first: bool) -> w.Widget:
        header = w.HTML(
            f"<h3 style='margin:4px 0'>{self.title}</h3>"
            f"<p><b>{t('先预测：', 'Predict first: ')}</b>{t(self.prompt_zh, self.prompt_en)}</p>"
        )
        guess = w.Textarea(placeholder=t("写下你的预测……", "Write your prediction..."),
                           layout=w.Layout(width="420px", height="48px"))
        traitlets.link((self, "prediction"), (guess, "value"))
        ready = w.Button(description=t("我预测好了，开始玩", "I've predicted, let's play"),
                         button_style="info", layout=w.Layout(width="auto"))
        task = w.HTML(f"<p><b>{t('任务：', 'Task: ')}</b>{t(self.task_zh, self.task_en)}</p>")
        controls = w.VBox(list(self.controls.values()), layout=w.Layout(min_width="300px"))
        play = w.VBox([w.HBox([controls, self.views_box()]), self.status, task])
        self.controls["ready"] = ready
        self.controls["prediction"] = guess

        def reveal(*_: Any) -> None:
            self.predicted = True
            play.layout.display = None
            ready.layout.display = "none"

        ready.on_click(reveal)
        if predict_first:
            play.layout.display = "none"
        else:
            reveal()
        box = w.VBox([header, w.HBox([guess, ready]), play])
        box.add_class("aiclass-explainer")
        box.add_class(f"aiclass-{self.explainer_id}")
        return box

    def __repr__(self) -> str:
        # Short on purpose: ``show(...)`` as a cell's last line already displayed the widget,
        # and the returned object should not draw it a second time.
        return f"<{self.explainer_id}: {self.title}>"


class Animator:
    """Calls ``tick`` on the kernel's event loop about ``fps`` times a second.

    It runs as an asyncio task between comm messages, so sliders stay responsive while a
    model trains; ``tick`` returns False to stop (converged, diverged, finished).
    """

    def __init__(self, tick: Callable[[], bool], fps: float = 30.0,
                 on_stop: Callable[[], None] | None = None) -> None:
        self.tick = tick
        self.fps = fps
        self.on_stop = on_stop
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                t("动画需要在 Jupyter 内核中运行；在脚本里请调用 step()。",
                  "Animation needs a running Jupyter kernel; in a script call step() instead.")
            ) from None
        self._task = loop.create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        period = 1.0 / self.fps
        try:
            while True:
                started = time.perf_counter()
                if not self.tick():
                    break
                await asyncio.sleep(max(0.0, period - (time.perf_counter() - started)))
        finally:
            self._task = None
            if self.on_stop is not None:
                self.on_stop()


def play_button(explainer: Explainer, animator: Animator) -> w.ToggleButton:
    """A play/pause toggle bound to ``explainer.playing`` that starts and stops ``animator``."""
    button = w.ToggleButton(description=t("▶ 播放", "▶ Play"), layout=w.Layout(width="110px"))
    traitlets.link((explainer, "playing"), (button, "value"))

    def toggle(change: dict) -> None:
        button.description = t("⏸ 暂停", "⏸ Pause") if change["new"] else t("▶ 播放", "▶ Play")
        if change["new"]:
            try:
                animator.start()
            except RuntimeError:
                explainer.playing = False
                raise
        else:
            animator.stop()

    explainer.observe(toggle, "playing")
    animator.on_stop = lambda: setattr(explainer, "playing", False)
    return button


def grid_coords(xlim: list[float], ylim: list[float], size: int) -> np.ndarray:
    """Cell centres of a ``size`` x ``size`` heatmap as ``(size*size, 2)``, row 0 at the top."""
    step_x = (xlim[1] - xlim[0]) / size
    step_y = (ylim[1] - ylim[0]) / size
    xs = xlim[0] + step_x * (np.arange(size, dtype=np.float32) + 0.5)
    ys = ylim[1] - step_y * (np.arange(size, dtype=np.float32) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])
