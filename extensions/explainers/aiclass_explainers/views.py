"""The two anywidget views every explainer draws with.

Redrawing with matplotlib costs tens of milliseconds per frame; these views instead receive
compact data (a heatmap as raw bytes, points and lines as short lists) and paint it on an HTML
canvas in the browser, so a 100x100 decision boundary can refresh at 30 frames per second.
The JavaScript ships inside the package as plain ES modules: nothing is fetched at run time.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import traitlets

STATIC = Path(__file__).parent / "static"

#: Class colours, chosen to stay distinguishable for the common colour-vision deficiencies.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]

#: Point styles understood by the scene view.
FILLED, HOLLOW, CENTROID, CROSS = 0, 1, 2, 3


class SceneView(anywidget.AnyWidget):
    """A 2-D plot: optional heatmap background, rectangles, lines, points and labels.

    Every call to :meth:`update` sends one message and increments :attr:`frame`, which the
    browser shows as ``data-frame`` so a test can see that a new picture arrived.
    """

    _esm = STATIC / "scene.js"

    width = traitlets.Int(360).tag(sync=True)
    height = traitlets.Int(360).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    xlabel = traitlets.Unicode("").tag(sync=True)
    ylabel = traitlets.Unicode("").tag(sync=True)
    xlim = traitlets.List([0.0, 1.0]).tag(sync=True)
    ylim = traitlets.List([0.0, 1.0]).tag(sync=True)
    heatmap = traitlets.Bytes(b"").tag(sync=True)
    heatmap_shape = traitlets.List([0, 0]).tag(sync=True)
    heatmap_mode = traitlets.Unicode("diverging").tag(sync=True)
    points = traitlets.List([]).tag(sync=True)
    lines = traitlets.List([]).tag(sync=True)
    rects = traitlets.List([]).tag(sync=True)
    labels = traitlets.List([]).tag(sync=True)
    palette = traitlets.List(PALETTE).tag(sync=True)
    mode = traitlets.Unicode("none").tag(sync=True)
    frame = traitlets.Int(0).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._click_handlers: list[Callable[[float, float], None]] = []
        self._drag_handlers: list[Callable[[int, float, float], None]] = []
        self.on_msg(self._on_browser_message)

    def update(self, **state: Any) -> None:
        """Replace parts of the picture in one message."""
        heat = state.pop("heat", None)
        with self.hold_sync():
            if heat is not None:
                self._set_heat(heat)
            for name, value in state.items():
                setattr(self, name, value)
            self.frame += 1

    def _set_heat(self, heat: np.ndarray) -> None:
        """Store a 2-D array as bytes: floats in [0, 1] shade between two classes, ints pick one."""
        heat = np.asarray(heat)
        if heat.dtype.kind == "f":
            data = np.clip(np.nan_to_num(heat, nan=0.5) * 255.0 + 0.5, 0, 255).astype(np.uint8)
            self.heatmap_mode = "diverging"
        else:
            data = heat.astype(np.uint8)
            self.heatmap_mode = "classes"
        self.heatmap_shape = list(data.shape)
        self.heatmap = data.tobytes()

    def heat_array(self) -> np.ndarray:
        """The heatmap as a ``uint8`` array (what the browser paints), for tests and baselines."""
        rows, cols = self.heatmap_shape
        return np.frombuffer(self.heatmap, dtype=np.uint8).reshape(rows, cols)

    def on_click(self, handler: Callable[[float, float], None]) -> None:
        """Call ``handler(x, y)`` when the student clicks an empty spot (data coordinates)."""
        self._click_handlers.append(handler)

    def on_drag(self, handler: Callable[[int, float, float], None]) -> None:
        """Call ``handler(index, x, y)`` when the student drags point ``index``."""
        self._drag_handlers.append(handler)

    def click(self, x: float, y: float) -> None:
        """Act as if the student clicked at ``(x, y)``; the browser ends up here too."""
        for handler in self._click_handlers:
            handler(float(x), float(y))

    def drag(self, index: int, x: float, y: float) -> None:
        """Act as if the student dragged point ``index`` to ``(x, y)``."""
        for handler in self._drag_handlers:
            handler(int(index), float(x), float(y))

    def _on_browser_message(self, _widget: Any, content: dict, _buffers: list) -> None:
        event = content.get("event")
        if event == "click":
            self.click(content["x"], content["y"])
        elif event == "drag":
            self.drag(content["index"], content["x"], content["y"])


class GridView(anywidget.AnyWidget):
    """A grid of numbers drawn as shaded cells: pixels, kernels, confusion matrices.

    With ``editable`` the student paints on it with the mouse (right button erases); with
    hovering the browser reports the cell under the pointer in :attr:`hover`.
    """

    _esm = STATIC / "grid.js"

    values = traitlets.List([]).tag(sync=True)
    vmin = traitlets.Float(0.0).tag(sync=True)
    vmax = traitlets.Float(1.0).tag(sync=True)
    colormap = traitlets.Unicode("gray").tag(sync=True)
    cell_size = traitlets.Int(24).tag(sync=True)
    show_numbers = traitlets.Bool(True).tag(sync=True)
    decimals = traitlets.Int(0).tag(sync=True)
    editable = traitlets.Bool(False).tag(sync=True)
    brush = traitlets.Int(1).tag(sync=True)
    highlight = traitlets.List([]).tag(sync=True)
    hover = traitlets.List([-1, -1]).tag(sync=True)
    row_labels = traitlets.List([]).tag(sync=True)
    col_labels = traitlets.List([]).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    frame = traitlets.Int(0).tag(sync=True)

    def update(self, **state: Any) -> None:
        """Replace parts of the grid in one message; arrays become nested lists."""
        with self.hold_sync():
            for name, value in state.items():
                if isinstance(value, np.ndarray):
                    value = value.tolist()
                setattr(self, name, value)
            self.frame += 1

    def array(self) -> np.ndarray:
        """The current values as a float array."""
        return np.asarray(self.values, dtype=float)
