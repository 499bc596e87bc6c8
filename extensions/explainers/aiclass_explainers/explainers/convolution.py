"""Convolution: slide an editable 3x3 kernel over a picture; hover to see the arithmetic."""

import ipywidgets as w
import numpy as np
import traitlets

from ..base import Explainer
from ..datasets import digits, photo
from ..i18n import t
from ..traits import BoundedInt, Choice
from ..views import GridView

PRESETS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "blur": [[1 / 9] * 3] * 3,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "edges": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
}


def convolve(image: np.ndarray, kernel: np.ndarray, stride: int, padding: int) -> np.ndarray:
    """Slide ``kernel`` over the zero-padded ``image`` (cross-correlation, as CNNs do)."""
    padded = np.pad(image.astype(np.float64), padding)
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel.shape)[::stride, ::stride]
    return np.einsum("ijkl,kl->ij", windows, kernel)


def format_number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"({text})" if value < 0 else text


class Convolution(Explainer):
    explainer_id = "convolution"
    title_zh, title_en = "卷积：一个 3×3 的小窗口", "Convolution: a 3×3 window"
    grade_band = "senior"
    module_zh, module_en = "人工智能初步", "Introduction to AI"
    prompt_zh = "卷积核中间是 8、周围全是 −1 时，图片里平坦的地方会变成什么数？"
    prompt_en = ("With 8 in the middle of the kernel and −1 all around, what number do flat "
                 "areas become?")
    task_zh = "把鼠标放在输出图的一个格子上，照着算式手算一遍；再找出步长 2 时输出有多大。"
    task_en = ("Hover over an output cell and redo its sum by hand; then find the output size "
               "with stride 2.")

    preset = Choice([*PRESETS, "custom"], default_value="edges").tag(option=True)
    kernel = traitlets.List([]).tag(option=True)
    image = Choice(["photo", "digit"], default_value="photo").tag(option=True)
    stride = BoundedInt(1, min=1, max=3).tag(option=True)
    padding = BoundedInt(0, min=0, max=2).tag(option=True)
    output_shape = traitlets.List([0, 0])
    hover_cell = traitlets.List([-1, -1])
    arithmetic = traitlets.Unicode("")

    @traitlets.validate("kernel")
    def _check_kernel(self, proposal: dict) -> list[list[float]]:
        value = proposal["value"]
        try:
            array = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            array = np.zeros(0)
        if array.shape != (3, 3) or not np.isfinite(array).all():
            raise traitlets.TraitError(
                t("卷积核必须是 3×3 的数字，收到 {v!r}。",
                  "The kernel must be 3×3 numbers; got {v!r}.", v=value))
        return array.tolist()

    def build(self) -> None:
        names = {"identity": t("原样", "identity"), "blur": t("模糊", "blur"),
                 "sharpen": t("锐化", "sharpen"), "edges": t("边缘", "edges"),
                 "sobel_x": t("竖直边缘", "vertical edges"),
                 "sobel_y": t("水平边缘", "horizontal edges"), "custom": t("自己填", "custom")}
        self.control("preset", w.Dropdown(options=[(v, k) for k, v in names.items()],
                                          description=t("卷积核", "Kernel")))
        self.cells = [[w.FloatText(layout=w.Layout(width="58px")) for _ in range(3)]
                      for _ in range(3)]
        for r, row in enumerate(self.cells):
            for c, cell in enumerate(row):
                cell.observe(lambda change, r=r, c=c: self._edit_cell(r, c, change["new"]), "value")
        self.controls["kernel"] = w.GridBox(
            [cell for row in self.cells for cell in row],
            layout=w.Layout(grid_template_columns="repeat(3, 62px)"))
        self.control("image", w.ToggleButtons(
            options=[(t("照片", "photo"), "photo"), (t("手写数字", "digit"), "digit")],
            description=t("图片", "Image"), style={"button_width": "70px"}))
        self.control("stride", w.IntSlider(min=1, max=3, description=t("步长", "Stride")))
        self.control("padding", w.IntSlider(min=0, max=2, description=t("填充", "Padding")))
        self.source = GridView(cell_size=8, show_numbers=False, vmax=255,
                               title=t("输入（含填充）", "Input (with padding)"))
        self.result = GridView(cell_size=8, show_numbers=False, colormap="gray",
                               title=t("输出：把鼠标放上来", "Output: hover over it"))
        self.explain = w.HTML(layout=w.Layout(width="100%"))
        self.views = [self.source, self.result]
        self.observe(lambda c: self._apply_preset(c["new"]), "preset")
        self.observe(lambda _: self.refresh(), ["kernel", "image", "stride", "padding"])
        self.result.observe(lambda c: setattr(self, "hover_cell", list(c["new"])), "hover")
        self.observe(lambda _: self._explain(), "hover_cell")
        if not self.kernel:
            self.kernel = PRESETS["identity" if self.preset == "custom" else self.preset]
        elif self.kernel != PRESETS.get(self.preset):
            self.preset = "custom"
        self._sync_cells()

    def views_box(self) -> w.Widget:
        return w.VBox([w.HBox(self.views), self.explain])

    def _apply_preset(self, name: str) -> None:
        if name != "custom":
            self.kernel = PRESETS[name]
            self._sync_cells()

    def _sync_cells(self) -> None:
        for r, row in enumerate(self.cells):
            for c, cell in enumerate(row):
                cell.value = round(self.kernel[r][c], 3)

    def _edit_cell(self, r: int, c: int, value: float) -> None:
        if abs(self.kernel[r][c] - value) < 5e-4:
            return
        kernel = [list(row) for row in self.kernel]
        kernel[r][c] = float(value)
        self.preset = "custom"
        self.kernel = kernel

    def picture(self) -> np.ndarray:
        if self.image == "digit":
            return np.kron(digits()[0][0], np.ones((3, 3))) * (255 / 16)
        return photo(40)

    def refresh(self) -> None:
        image = self.picture()
        out = convolve(image, np.asarray(self.kernel), self.stride, self.padding)
        self.output = out
        self.output_shape = list(out.shape)
        self.source.update(values=np.pad(image, self.padding).round(0))
        self.result.update(values=out.round(2), vmin=float(out.min()),
                           vmax=float(max(out.max(), out.min() + 1e-9)))
        self._explain()
        self.status.value = t(
            "输入 {h}×{w}，填充 {p}，步长 {s} → 输出 {oh}×{ow}",
            "Input {h}×{w}, padding {p}, stride {s} → output {oh}×{ow}",
            h=image.shape[0], w=image.shape[1], p=self.padding, s=self.stride,
            oh=out.shape[0], ow=out.shape[1])

    def _explain(self) -> None:
        """Spell out the sum behind the hovered output cell and outline its input window."""
        r, c = self.hover_cell
        if not (0 <= r < self.output.shape[0] and 0 <= c < self.output.shape[1]):
            self.arithmetic = ""
            self.source.update(highlight=[])
            self.result.update(highlight=[])
            self.explain.value = t("<i>把鼠标放在输出图上，看看每个数是怎么算出来的。</i>",
                                   "<i>Hover over the output to see how each number is made.</i>")
            return
        top, left = r * self.stride, c * self.stride
        window = np.pad(self.picture(), self.padding)[top:top + 3, left:left + 3]
        terms = [f"{format_number(p)}×{format_number(k)}"
                 for p, k in zip(window.ravel(), np.asarray(self.kernel).ravel(), strict=True)]
        self.arithmetic = " + ".join(terms) + f" = {format_number(float(self.output[r, c]))}"
        self.source.update(highlight=[[top, left, top + 2, left + 2, "#d62728"]])
        self.result.update(highlight=[[r, c, r, c, "#d62728"]])
        self.explain.value = t("第 {r} 行第 {c} 列：", "Row {r}, column {c}: ", r=r + 1,
                               c=c + 1) + f"<code>{self.arithmetic}</code>"
