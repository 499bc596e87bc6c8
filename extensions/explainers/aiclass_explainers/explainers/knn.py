"""k-nearest neighbours: click to add points, move k, watch the boundary follow."""

import ipywidgets as w
import numpy as np
import traitlets
from scipy.spatial import cKDTree

from ..base import Explainer, grid_coords
from ..datasets import DOMAIN, two_d
from ..i18n import t
from ..traits import BoundedInt
from ..views import SceneView


def nearest_labels(train_x: np.ndarray, train_y: np.ndarray, query: np.ndarray,
                   k: int) -> np.ndarray:
    """Labels of the ``k`` nearest training points of every query row, closest first.

    A k-d tree answers the 10 000 queries of a 100x100 boundary in a few milliseconds on one
    thread.
    """
    k = min(k, len(train_x))
    _, nearest = cKDTree(train_x).query(query, k=k)
    return train_y[np.asarray(nearest).reshape(len(query), k)]


def vote(labels: np.ndarray, k: int, classes: int) -> np.ndarray:
    """Majority class among the first ``k`` columns; ties go to the lower class number."""
    first = labels[:, :k]
    votes = np.stack([(first == c).sum(axis=1) for c in range(classes)], axis=1)
    return votes.argmax(axis=1)


def knn_predict(train_x: np.ndarray, train_y: np.ndarray, query: np.ndarray, k: int,
                classes: int) -> np.ndarray:
    """Majority vote of the ``k`` nearest training points for every query row."""
    return vote(nearest_labels(train_x, train_y, query, k), k, classes)


class KNearestNeighbours(Explainer):
    explainer_id = "knn"
    title_zh, title_en = "k 近邻：看看你的邻居", "k-nearest neighbours"
    grade_band = "junior"
    prompt_zh = "把 k 从 1 调到 15，彩色区域的边界会变得更弯曲还是更平滑？"
    prompt_en = ("If you move k from 1 to 15, will the border between the coloured regions get "
                 "wigglier or smoother?")
    task_zh = "在蓝色区域里点一个橙色点（k=1），再把 k 调大，找出这个点的区域消失时的 k。"
    task_en = ("Add an orange point inside the blue region (k=1), then raise k and find the k at "
               "which its island disappears.")

    k = BoundedInt(1, min=1, max=15).tag(option=True)
    brush_class = BoundedInt(1, min=0, max=2).tag(option=True)
    n_points = BoundedInt(30, min=3, max=300).tag(option=True)
    resolution = BoundedInt(100, min=10, max=200).tag(option=True)
    points = traitlets.List()
    boundary_changes = traitlets.Int(0)

    def build(self) -> None:
        self.control("k", w.IntSlider(min=1, max=15, description="k"))
        self.control("brush_class", w.ToggleButtons(
            options=[(t("蓝", "blue"), 0), (t("橙", "orange"), 1), (t("绿", "green"), 2)],
            description=t("点击添加", "Click adds"), style={"button_width": "56px"}))
        undo = w.Button(description=t("撤销最后一个点", "Undo last point"))
        reset = w.Button(description=t("重新开始", "Start over"))
        undo.on_click(lambda _: self.undo())
        reset.on_click(lambda _: self.reset())
        self.control("undo", undo)
        self.control("reset", reset)
        self.scene = SceneView(width=380, height=380, xlim=list(DOMAIN), ylim=list(DOMAIN),
                               mode="add", title=t("点击画布添加点", "Click to add points"))
        self.scene.on_click(self.add_point)
        self.views = [self.scene]
        self._grid_labels: np.ndarray | None = None
        self.observe(lambda _: setattr(self, "_grid_labels", None), ["points", "resolution"])
        self.observe(lambda _: self.refresh(), ["k", "points", "resolution"])
        self.observe(lambda _: self.reset(), ["seed", "n_points"])
        self.reset()

    def reset(self) -> None:
        x, y = two_d("blobs", self.n_points, 0.0, self.seed)
        self.points = [[round(float(a), 3), round(float(b), 3), int(c)]
                       for (a, b), c in zip(x, y, strict=True)]

    def add_point(self, x: float, y: float) -> None:
        self.points = [*self.points, [round(x, 3), round(y, 3), int(self.brush_class)]]

    def undo(self) -> None:
        if self.points:
            self.points = self.points[:-1]

    def predict(self, query: np.ndarray) -> np.ndarray:
        """The class the current points and k give to each row of ``query``."""
        data = np.asarray(self.points, dtype=np.float32).reshape(-1, 3)
        return knn_predict(data[:, :2], data[:, 2].astype(int), query.astype(np.float32),
                           self.k, 3)

    def refresh(self) -> None:
        if not self.points:
            return
        # The neighbours of every grid cell, sorted once per set of points (for the largest
        # k); moving the k slider then only re-counts votes.
        if self._grid_labels is None:
            data = np.asarray(self.points, dtype=np.float32).reshape(-1, 3)
            grid = grid_coords(DOMAIN, DOMAIN, self.resolution)
            self._grid_labels = nearest_labels(data[:, :2], data[:, 2].astype(int), grid, 15)
        regions = vote(self._grid_labels, self.k, 3).reshape(self.resolution, self.resolution)
        if self.scene.heatmap_shape == list(regions.shape):
            changed = bool((self.scene.heat_array() != regions).any())
            self.boundary_changes += int(changed)
        self.scene.update(heat=regions.astype(np.uint8),
                          points=[[x, y, c, 0] for x, y, c in self.points])
        self.status.value = t("共有 {n} 个点，k = {k}", "{n} points, k = {k}",
                              n=len(self.points), k=self.k)
