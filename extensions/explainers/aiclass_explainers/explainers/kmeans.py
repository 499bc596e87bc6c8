"""k-means one step at a time: assign points, move centres, repeat; bad starts included."""

import ipywidgets as w
import numpy as np
import traitlets

from ..base import Animator, Explainer, grid_coords, play_button
from ..datasets import DOMAIN, two_d
from ..i18n import t
from ..traits import BoundedInt, Choice
from ..views import CENTROID, FILLED, HOLLOW, SceneView


def nearest_centre(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the closest centre for every row of ``x``."""
    return ((x[:, None, :] - centres[None, :, :]) ** 2).sum(-1).argmin(axis=1)


class KMeans(Explainer):
    explainer_id = "kmeans"
    title_zh, title_en = "k 均值聚类：一步一步来", "k-means, step by step"
    grade_band = "senior"
    module_zh, module_en = "人工智能初步", "Introduction to AI"
    animated = True
    prompt_zh = "如果一开始把所有中心都放在同一个角落，k 均值最后还能找到三团点吗？"
    prompt_en = ("If all the centres start in the same corner, will k-means still find the "
                 "three clumps in the end?")
    task_zh = "分别用“随机”和“糟糕的起点”运行到收敛，比较两次的总距离（惯性），说说哪个更好。"
    task_en = ("Run to convergence from a random start and from a bad start; compare the two "
               "inertias and say which clustering is better.")

    k = BoundedInt(3, min=2, max=6).tag(option=True)
    init = Choice(["random", "kmeans++", "bad"], default_value="random").tag(option=True)
    n_points = BoundedInt(150, min=10, max=600).tag(option=True)
    iteration = traitlets.Int(0)
    phase = traitlets.Unicode("assign")
    inertia = traitlets.Float(0.0)
    converged = traitlets.Bool(False)
    centroids = traitlets.List()
    playing = traitlets.Bool(False)

    def build(self) -> None:
        self.control("k", w.IntSlider(min=2, max=6, description="k"))
        self.control("init", w.Dropdown(
            options=[(t("随机", "random"), "random"), ("k-means++", "kmeans++"),
                     (t("糟糕的起点", "bad start"), "bad")], description=t("起点", "Start")))
        step = w.Button(description=t("下一步", "Step"), icon="step-forward")
        restart = w.Button(description=t("重新开始", "Restart"), icon="refresh")
        step.on_click(lambda _: self.step())
        restart.on_click(lambda _: self.restart())
        self.animator = Animator(self._tick, fps=2.0)
        self.control("step", step)
        self.control("play", play_button(self, self.animator))
        self.control("restart", restart)
        self.scene = SceneView(width=380, height=380, xlim=list(DOMAIN), ylim=list(DOMAIN))
        self.curve = SceneView(width=260, height=200, title=t("总距离（惯性）", "Inertia"),
                               xlabel=t("步数", "step"))
        self.views = [self.scene, self.curve]
        self.observe(lambda _: self.restart(), ["k", "init", "seed", "n_points"])
        self.restart()

    def restart(self) -> None:
        """New data-independent start for the current ``k`` and ``init`` rule."""
        self.x, _ = two_d("blobs", self.n_points, 0.0, self.seed)
        rng = np.random.default_rng(self.seed + 1)
        if self.init == "bad":
            # Every centre starts in the same corner: the first one swallows all points and
            # the others may never win a point again.
            centres = np.array([[-5.5, -5.5 + 0.3 * i] for i in range(self.k)])
        elif self.init == "kmeans++":
            centres = [self.x[rng.integers(len(self.x))]]
            for _ in range(1, self.k):
                d = ((self.x[:, None] - np.array(centres)[None]) ** 2).sum(-1).min(1)
                centres.append(self.x[rng.choice(len(self.x), p=d / d.sum())])
            centres = np.array(centres)
        else:
            centres = rng.uniform(DOMAIN[0], DOMAIN[1], (self.k, 2))
        self.centres = centres.astype(np.float32)
        self.assignment = np.full(len(self.x), -1)
        self.history: list[float] = []
        self.iteration = 0
        self.phase = "assign"
        self.converged = False
        self.refresh()

    def step(self) -> None:
        """One half-step of Lloyd's algorithm: assign points, or move centres to their means."""
        if self.converged:
            return
        if self.phase == "assign":
            new = nearest_centre(self.x, self.centres)
            if (new == self.assignment).all():
                self.converged = True
            self.assignment = new
            self.phase = "update"
        else:
            for c in range(self.k):
                members = self.x[self.assignment == c]
                if len(members):
                    self.centres[c] = members.mean(axis=0)
            self.phase = "assign"
            self.iteration += 1
        self.refresh()

    def _tick(self) -> bool:
        self.step()
        return not self.converged

    def refresh(self) -> None:
        labels = nearest_centre(self.x, self.centres)
        self.inertia = float(((self.x - self.centres[labels]) ** 2).sum())
        if not self.history or self.phase == "assign":
            self.history.append(self.inertia)
        self.centroids = self.centres.round(3).tolist()
        size = 100
        regions = nearest_centre(grid_coords(DOMAIN, DOMAIN, size), self.centres)
        points = [[float(a), float(b), int(c) if c >= 0 else 5, FILLED if c >= 0 else HOLLOW]
                  for (a, b), c in zip(self.x, self.assignment, strict=True)]
        points += [[float(a), float(b), c, CENTROID] for c, (a, b) in enumerate(self.centres)]
        next_step = (t("下一步：把每个点分给最近的中心",
                       "Next: give each point to its nearest centre")
                     if self.phase == "assign" else
                     t("下一步：把每个中心移到它的点的平均位置",
                       "Next: move each centre to the mean of its points"))
        self.scene.update(heat=regions.reshape(size, size).astype(np.uint8), points=points,
                          title=next_step)
        top = max(self.history)
        self.curve.update(xlim=[0, max(len(self.history) - 1, 1)], ylim=[0, top * 1.05],
                          lines=[{"x": list(range(len(self.history))), "y": self.history,
                                  "color": "#444"}])
        done = t("　已收敛！", "  Converged!") if self.converged else ""
        self.status.value = t("第 {i} 轮，总距离 {v:.1f}{done}", "Round {i}, inertia {v:.1f}{done}",
                              i=self.iteration, v=self.inertia, done=done)
