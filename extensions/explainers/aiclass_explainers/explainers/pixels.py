"""Pixels are numbers: what the student draws becomes the 8x8 grid a computer sees."""

import ipywidgets as w
import numpy as np
import traitlets

from ..base import Explainer
from ..datasets import digits
from ..i18n import t
from ..traits import BoundedInt
from ..views import GridView

#: The drawing pad is 32x32; each 4x4 block of ink becomes one 0..16 value, exactly the
#: encoding of scikit-learn's digits, so drawings can be compared with real samples.
PAD, BLOCK = 32, 4


def to_eight_by_eight(ink: np.ndarray) -> np.ndarray:
    """Sum 4x4 blocks of a 32x32 0/1 drawing into the 8x8, 0..16 digits encoding."""
    return ink.reshape(8, BLOCK, 8, BLOCK).sum(axis=(1, 3)).astype(np.int64)


def from_eight_by_eight(values: np.ndarray) -> np.ndarray:
    """Spread an 8x8 0..16 image over the 32x32 pad (each block filled with that much ink)."""
    ink = np.zeros((PAD, PAD), dtype=np.int64)
    order = [(r, c) for r in range(BLOCK) for c in range(BLOCK)]
    for row in range(8):
        for col in range(8):
            for r, c in order[: int(round(values[row, col]))]:
                ink[row * BLOCK + r, col * BLOCK + c] = 1
    return ink


class Pixels(Explainer):
    explainer_id = "pixels"
    title_zh, title_en = "像素就是数字", "Pixels are numbers"
    grade_band = "primary"
    module_zh, module_en = "数据与编码", "Data and encoding"
    prompt_zh = "你画一个“1”，右边 8×8 表格里哪一列的数字会最大？"
    prompt_en = "If you draw a “1”, which column of the 8×8 table will hold the biggest numbers?"
    task_zh = "画出数字 7，然后找出数值最大的格子。再点“看一个真实样本”，和你的画比一比。"
    task_en = ("Draw the digit 7, then find the cell with the largest value. Then load a real "
               "sample and compare it with your drawing.")

    sample = BoundedInt(-1, min=-1, max=1796).tag(option=True)
    drawing = traitlets.List()
    values = traitlets.List()
    ink_total = traitlets.Int(0)

    def build(self) -> None:
        self.pad = GridView(values=np.zeros((PAD, PAD), int).tolist(), vmax=1, cell_size=9,
                            show_numbers=False, editable=True, brush=2,
                            title=t("在这里画（右键擦除）", "Draw here (right button erases)"))
        self.numbers = GridView(values=np.zeros((8, 8), int).tolist(), vmax=16, cell_size=34,
                                title=t("计算机看到的 8×8 数字", "The 8×8 numbers a computer sees"))
        self.views = [self.pad, self.numbers]
        clear = w.Button(description=t("清空", "Clear"), icon="eraser")
        load = w.Button(description=t("看一个真实样本", "Load a real sample"))
        clear.on_click(lambda _: self.clear())
        load.on_click(lambda _: self.load_sample((self.sample + 1) % len(digits()[1])))
        self.control("clear", clear)
        self.control("load", load)
        self.pad.observe(lambda _: self.refresh(), "values")
        if self.sample >= 0:
            self.load_sample(self.sample)

    def clear(self) -> None:
        self.sample = -1
        self.pad.update(values=np.zeros((PAD, PAD), int))

    def load_sample(self, index: int) -> None:
        """Show sample ``index`` of the bundled digits on the pad."""
        self.sample = index
        self.pad.update(values=from_eight_by_eight(digits()[0][index]))

    def refresh(self) -> None:
        ink = (self.pad.array() > 0).astype(np.int64)
        values = to_eight_by_eight(ink)
        self.drawing = ink.tolist()
        self.values = values.tolist()
        self.ink_total = int(values.sum())
        peak = np.unravel_index(values.argmax(), values.shape)
        self.numbers.update(values=values,
                            highlight=[[int(peak[0]), int(peak[1]), int(peak[0]), int(peak[1])]]
                            if values.max() > 0 else [])
        label = ""
        if self.sample >= 0:
            label = t("（真实样本 #{i}，标签是 {d}）", " (real sample #{i}, labelled {d})",
                      i=self.sample, d=int(digits()[1][self.sample]))
        self.status.value = t(
            "墨水总量 {ink}；最大值 {top} 在第 {r} 行第 {c} 列。{label}",
            "Total ink {ink}; largest value {top} at row {r}, column {c}.{label}",
            ink=self.ink_total, top=int(values.max()), r=int(peak[0]) + 1, c=int(peak[1]) + 1,
            label=label,
        )
